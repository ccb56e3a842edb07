// ssdp_program.cpp — see ssdp_program.hpp.
#include "daemon/lan/ssdp/loader/ssdp_program.hpp"

#include "daemon/membership/loader/membership_program.hpp"  // ensure_bpffs, libbpf_error
#include "common/unique_fd.hpp"
#include "ssdp.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <utility>

namespace joincast::daemon::lan::ssdp {

namespace fs = std::filesystem;
using joincast::daemon::membership::loader::ensure_bpffs;
using joincast::daemon::membership::loader::libbpf_error;

const std::array<CounterField, 14> counter_fields = {{
    {"ssdp", &jc_ssdp_counters::ssdp},
    {"rewritten", &jc_ssdp_counters::rewritten},
    {"relayed", &jc_ssdp_counters::relayed},
    {"filtered", &jc_ssdp_counters::filtered},
    {"policy", &jc_ssdp_counters::policy},
    {"rate_limited", &jc_ssdp_counters::rate_limited},
    {"loop", &jc_ssdp_counters::loop},
    {"foreign_relay", &jc_ssdp_counters::foreign_relay},
    {"truncated", &jc_ssdp_counters::truncated},
    {"malformed", &jc_ssdp_counters::malformed},
    {"fragment", &jc_ssdp_counters::fragment},
    {"oversized", &jc_ssdp_counters::oversized},
    {"errors", &jc_ssdp_counters::errors},
    {"no_listeners", &jc_ssdp_counters::no_listeners},
}};
static_assert(sizeof(counter_fields) / sizeof(counter_fields[0]) * sizeof(__u64) == sizeof(jc_ssdp_counters),
              "a counter is missing from counter_fields");

Result<std::vector<CounterEntry>> read_counters(int fd) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return membership::loader::libbpf_error(cpus < 0 ? cpus : -EINVAL);
  std::vector<jc_ssdp_counters> per_cpu(static_cast<std::size_t>(cpus));
  std::vector<CounterEntry> out;
  jc_ssdp_counter_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    key = next;
    prev = &key;
    if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) < 0) {
      if (errno == ENOENT) continue;  // deleted meanwhile
      return last_error();
    }
    CounterEntry e{key, {}};
    for (const auto& c : per_cpu)
      for (const auto& f : counter_fields) e.value.*f.member += c.*f.member;
    out.push_back(e);
  }
  if (errno != ENOENT) return last_error();
  return out;
}

Result<std::vector<CounterEntry>> read_pinned_counters(const std::string& root) {
  std::string path = (fs::path(root) / pinned_counters).string();
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (fd.get() < 0) return Error(last_error(), path + ": " + std::strerror(errno));
  return read_counters(fd.get());
}

namespace {

// Why a pinned map cannot be reused for map, or "" if it can.
std::string incompatibility(const std::string& path, bpf_map* map) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return "";  // not pinned yet
  bpf_map_info info{};
  std::uint32_t len = sizeof(info);
  int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
  ::close(fd);
  if (rc < 0) return "unreadable";
  if (info.type != static_cast<std::uint32_t>(bpf_map__type(map))) return "another map type";
  if (info.key_size != bpf_map__key_size(map) || info.value_size != bpf_map__value_size(map))
    return "another key or value size (another joincast version)";
  if (info.max_entries != bpf_map__max_entries(map))
    return "max_entries " + std::to_string(info.max_entries) + " pinned, " +
           std::to_string(bpf_map__max_entries(map)) + " wanted";
  if (info.map_flags != bpf_map__map_flags(map)) return "other map flags";
  return "";
}

jc_ssdp_mac_key mac_key(const std::uint8_t* mac) {
  jc_ssdp_mac_key k{};
  std::memcpy(k.mac, mac, 6);
  return k;
}

// Bits of the filter key's data that precede addr: ifindex and is_mac.
constexpr unsigned filter_key_head_bits = 8 * (sizeof(__be32) + 1);

}  // namespace

Result<std::unique_ptr<SsdpProgram>> SsdpProgram::load(const Options& options) {
  if (auto r = membership::loader::ensure_bpffs(options.pin_root); !r) return std::move(r).error().context(options.pin_root);
  std::unique_ptr<SsdpProgram> self(new SsdpProgram());
  self->pin_root_ = options.pin_root;
  self->skel_.reset(ssdp_bpf__open());
  if (!self->skel_) return last_error();
  if (int err = bpf_map__set_max_entries(self->skel_->maps.jc_ssdp_buckets, options.max_sources); err < 0)
    return membership::loader::libbpf_error(err);

  const std::pair<bpf_map*, const char*> pins[] = {
      {self->skel_->maps.jc_ssdp_ifaces, pinned_ifaces},
      {self->skel_->maps.jc_ssdp_own_macs, pinned_own_macs},
      {self->skel_->maps.jc_ssdp_filters, pinned_filters},
      {self->skel_->maps.jc_ssdp_buckets, pinned_buckets},
      {self->skel_->maps.jc_ssdp_counters, pinned_counters},
  };
  for (const auto& [map, name] : pins) {
    std::string path = (fs::path(options.pin_root) / name).string();
    if (int err = bpf_map__set_pin_path(map, path.c_str()); err < 0) return membership::loader::libbpf_error(err);
    if (!options.replace_incompatible_pins) continue;
    std::string why = incompatibility(path, map);
    if (why.empty()) continue;
    if (::unlink(path.c_str()) < 0) return last_error();
    self->replaced_ += (self->replaced_.empty() ? "" : "; ") + std::string(name) + ": " + why;
  }
  if (int err = ssdp_bpf__load(self->skel_.get()); err < 0) return membership::loader::libbpf_error(err);
  // Reused pinned entries take their ports along.
  if (auto r = self->update_ports(); !r) return std::move(r).error();
  return self;
}

SsdpProgram::~SsdpProgram() {
  for (int ifindex : std::set<int>(attached_)) (void)detach(ifindex);
}

void SsdpProgram::SkeletonDeleter::operator()(ssdp_bpf* skel) const noexcept { ssdp_bpf__destroy(skel); }

Result<void> SsdpProgram::configure(std::uint32_t ifindex, const jc_ssdp_iface& iface) {
  if (iface.peer_count > JC_SSDP_MAX_PEERS)
    return invalid("interface " + std::to_string(ifindex) + ": " + std::to_string(iface.peer_count) +
                   " peers, at most " + std::to_string(JC_SSDP_MAX_PEERS));
  jc_ssdp_iface old{};
  if (bpf_map_lookup_elem(ifaces_fd(), &ifindex, &old) == 0 && std::memcmp(old.mac, iface.mac, 6) != 0) {
    auto k = mac_key(old.mac);
    (void)bpf_map_delete_elem(own_macs_fd(), &k);
  }
  if (bpf_map_update_elem(ifaces_fd(), &ifindex, &iface, BPF_ANY) < 0) return last_error();
  auto k = mac_key(iface.mac);
  if (bpf_map_update_elem(own_macs_fd(), &k, &ifindex, BPF_ANY) < 0) return last_error();
  return update_ports();
}

Result<void> SsdpProgram::update_ports() {
  jc_ssdp_port_bits bits{};
  auto set = [&](std::uint16_t port) { bits.bits[port >> 3] |= static_cast<std::uint8_t>(1u << (port & 7)); };
  set(JC_SSDP_PORT);
  std::uint32_t key = 0, next = 0;
  const void* prev = nullptr;
  while (bpf_map_get_next_key(ifaces_fd(), prev, &next) == 0) {
    key = next;
    prev = &key;
    jc_ssdp_iface e{};
    if (bpf_map_lookup_elem(ifaces_fd(), &key, &e) < 0) continue;  // deleted meanwhile
    for (auto port : e.ports)
      if (port) set(port);
  }
  std::uint32_t zero = 0;
  if (bpf_map_update_elem(ports_fd(), &zero, &bits, BPF_ANY) < 0) return last_error();
  return success();
}

Result<void> SsdpProgram::unconfigure(std::uint32_t ifindex) {
  jc_ssdp_iface old{};
  if (bpf_map_lookup_elem(ifaces_fd(), &ifindex, &old) < 0) return success();
  auto k = mac_key(old.mac);
  std::uint32_t owner = 0;
  if (bpf_map_lookup_elem(own_macs_fd(), &k, &owner) == 0 && owner == ifindex)
    (void)bpf_map_delete_elem(own_macs_fd(), &k);
  if (bpf_map_delete_elem(ifaces_fd(), &ifindex) < 0 && errno != ENOENT) return last_error();
  if (auto r = update_ports(); !r) return r;
  return clear_filters(ifindex);
}

Result<void> SsdpProgram::set_listening(std::uint32_t ifindex, std::uint8_t listening) {
  jc_ssdp_iface e{};
  if (bpf_map_lookup_elem(ifaces_fd(), &ifindex, &e) < 0) return success();
  if (e.listening == listening) return success();
  e.listening = listening;
  if (bpf_map_update_elem(ifaces_fd(), &ifindex, &e, BPF_EXIST) < 0 && errno != ENOENT) return last_error();
  return success();
}

Result<void> SsdpProgram::allow_source(std::uint32_t ifindex, const Address16& address, unsigned prefix_bits) {
  if (prefix_bits > 128) return invalid("source prefix /" + std::to_string(prefix_bits) + ": longer than 128 bits");
  jc_ssdp_filter_key k{};
  k.prefixlen = filter_key_head_bits + prefix_bits;
  k.ifindex = htonl(ifindex);
  k.is_mac = 0;
  std::memcpy(k.addr, address.data(), JC_SSDP_ADDR_LEN);
  std::uint32_t one = 1;
  if (bpf_map_update_elem(filters_fd(), &k, &one, BPF_ANY) < 0) return last_error();
  return success();
}

Result<void> SsdpProgram::allow_mac(std::uint32_t ifindex, const Mac& mac) {
  jc_ssdp_filter_key k{};
  k.prefixlen = filter_key_head_bits + 48;
  k.ifindex = htonl(ifindex);
  k.is_mac = 1;
  std::memcpy(k.addr, mac.data(), 6);
  std::uint32_t one = 1;
  if (bpf_map_update_elem(filters_fd(), &k, &one, BPF_ANY) < 0) return last_error();
  return success();
}

Result<void> SsdpProgram::clear_filters(std::uint32_t ifindex) {
  std::vector<jc_ssdp_filter_key> mine;
  jc_ssdp_filter_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(filters_fd(), prev, &next) == 0) {
    key = next;
    prev = &key;
    if (ntohl(key.ifindex) == ifindex) mine.push_back(key);
  }
  for (const auto& k : mine)
    if (bpf_map_delete_elem(filters_fd(), &k) < 0 && errno != ENOENT) return last_error();
  return success();
}

Result<std::size_t> SsdpProgram::collect_buckets(std::uint64_t idle_before_ns) {
  std::vector<jc_ssdp_source_key> idle;
  jc_ssdp_source_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(buckets_fd(), prev, &next) == 0) {
    key = next;
    prev = &key;
    jc_ssdp_bucket b{};
    if (bpf_map_lookup_elem_flags(buckets_fd(), &key, &b, BPF_F_LOCK) < 0) continue;  // deleted meanwhile
    if (b.tat_ns < idle_before_ns) idle.push_back(key);
  }
  std::size_t deleted = 0;
  for (const auto& k : idle) {
    if (bpf_map_delete_elem(buckets_fd(), &k) == 0) ++deleted;
    else if (errno != ENOENT) return last_error();
  }
  return deleted;
}

Result<std::size_t> SsdpProgram::bucket_count() const {
  std::size_t n = 0;
  jc_ssdp_source_key key{}, next{};
  const void* prev = nullptr;
  while (bpf_map_get_next_key(buckets_fd(), prev, &next) == 0) {
    key = next;
    prev = &key;
    ++n;
  }
  return n;
}

Result<void> SsdpProgram::attach(int ifindex) {
  if (auto r = joincast::daemon::membership::loader::tc_attach_ingress(ifindex, program_fd(), tc_slot); !r) return r;
  attached_.insert(ifindex);
  return success();
}

Result<void> SsdpProgram::detach(int ifindex) {
  attached_.erase(ifindex);
  return joincast::daemon::membership::loader::tc_detach_ingress(ifindex, tc_slot);
}

int SsdpProgram::program_fd() const { return bpf_program__fd(skel_->progs.jc_ssdp); }
int SsdpProgram::ifaces_fd() const { return bpf_map__fd(skel_->maps.jc_ssdp_ifaces); }
int SsdpProgram::own_macs_fd() const { return bpf_map__fd(skel_->maps.jc_ssdp_own_macs); }
int SsdpProgram::filters_fd() const { return bpf_map__fd(skel_->maps.jc_ssdp_filters); }
int SsdpProgram::buckets_fd() const { return bpf_map__fd(skel_->maps.jc_ssdp_buckets); }
int SsdpProgram::counters_fd() const { return bpf_map__fd(skel_->maps.jc_ssdp_counters); }
int SsdpProgram::ports_fd() const { return bpf_map__fd(skel_->maps.jc_ssdp_ports); }

Result<void> SsdpProgram::unpin(const std::string& root) {
  for (const char* name : {pinned_ifaces, pinned_own_macs, pinned_filters, pinned_buckets, pinned_counters}) {
    fs::path p = fs::path(root) / name;
    if (::unlink(p.c_str()) < 0 && errno != ENOENT) return last_error();
  }
  std::error_code ec;
  fs::remove(root, ec);  // only if empty
  return success();
}

}  // namespace joincast::daemon::lan::ssdp
