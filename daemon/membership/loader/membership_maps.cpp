// membership_maps.cpp — see membership_maps.hpp.
#include "daemon/membership/loader/membership_maps.hpp"

#include "daemon/membership/loader/membership_program.hpp"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

namespace joincast::daemon::membership::loader {

bool is_ipv4_mapped(const std::uint8_t* a) {
  static constexpr std::uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, prefix, sizeof prefix) == 0;
}

std::string format_address(const std::uint8_t* a) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (is_ipv4_mapped(a)) ::inet_ntop(AF_INET, a + 12, buf, sizeof buf);
  else ::inet_ntop(AF_INET6, a, buf, sizeof buf);
  return buf;
}

std::optional<Address16> parse_address(const std::string& text) {
  Address16 out{};
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
    out[10] = out[11] = 0xff;
    std::memcpy(out.data() + 12, &v4, 4);
    return out;
  }
  if (::inet_pton(AF_INET6, text.c_str(), out.data()) == 1) return out;
  return std::nullopt;
}

const char* version_name(std::uint8_t v) {
  switch (v) {
    case JC_IGMPV1: return "IGMPv1";
    case JC_IGMPV2: return "IGMPv2";
    case JC_IGMPV3: return "IGMPv3";
    case JC_MLDV1: return "MLDv1";
    case JC_MLDV2: return "MLDv2";
  }
  return "?";
}

const char* mode_name(std::uint8_t m) {
  switch (m) {
    case JC_MODE_INCLUDE: return "include";
    case JC_MODE_EXCLUDE: return "exclude";
  }
  return "-";
}

const char* record_name(std::uint8_t r) {
  switch (r) {
    case JC_REC_IS_IN: return "IS_IN";
    case JC_REC_IS_EX: return "IS_EX";
    case JC_REC_TO_IN: return "TO_IN";
    case JC_REC_TO_EX: return "TO_EX";
    case JC_REC_ALLOW: return "ALLOW";
    case JC_REC_BLOCK: return "BLOCK";
    case JC_REC_V1_REPORT: return "report";
    case JC_REC_V1_LEAVE: return "leave";
  }
  return "-";
}

const char* event_name(std::uint8_t t) {
  switch (t) {
    case JC_EV_LISTENER_JOIN: return "listener-join";
    case JC_EV_LISTENER_LEAVE: return "listener-leave";
    case JC_EV_GROUP_UP: return "group-up";
    case JC_EV_GROUP_DOWN: return "group-down";
    case JC_EV_LEAVE_PENDING: return "leave-pending";
    case JC_EV_QUERY_SEEN: return "query-seen";
  }
  return "?";
}

const char* reason_name(std::uint8_t r) {
  switch (r) {
    case JC_LEFT_REPORT: return "report";
    case JC_LEFT_TIMEOUT: return "timeout";
    case JC_LEFT_QUERY: return "no answer to query";
    case JC_LEFT_ADMIN: return "operator";
  }
  return "-";
}

Result<MembershipMaps> MembershipMaps::open_pinned(const std::string& root) {
  const char* names[4] = {pinned_listeners, pinned_groups, pinned_queriers, pinned_counters};
  std::array<UniqueFd, 4> fds;
  for (std::size_t i = 0; i < fds.size(); ++i) {
    std::string path = (std::filesystem::path(root) / names[i]).string();
    fds[i] = UniqueFd(bpf_obj_get(path.c_str()));
    if (!fds[i]) return Error(last_error(), path + ": " + std::strerror(errno));
  }
  MembershipMaps maps(fds[0].get(), fds[1].get(), fds[2].get(), fds[3].get());
  maps.owned_ = std::move(fds);
  return maps;
}

MembershipMaps MembershipMaps::borrow(int listeners, int groups, int queriers, int counters) {
  return MembershipMaps(listeners, groups, queriers, counters);
}

namespace {

template <class Entry>
Result<std::vector<Entry>> dump(int fd) {
  std::vector<Entry> out;
  decltype(Entry::key) key{}, next{};
  const void* prev = nullptr;
  // A map that changes during the walk may skip or repeat an entry; a
  // listener table is a snapshot either way.
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    Entry e{};
    e.key = next;
    if (bpf_map_lookup_elem(fd, &next, &e.value) == 0) out.push_back(e);
    else if (errno != ENOENT) return last_error();
    key = next;
    prev = &key;
  }
  if (errno != ENOENT) return last_error();
  return out;
}

}  // namespace

Result<std::vector<ListenerEntry>> MembershipMaps::listeners() const { return dump<ListenerEntry>(listeners_); }
Result<std::vector<GroupEntry>> MembershipMaps::groups() const { return dump<GroupEntry>(groups_); }
Result<std::vector<QuerierEntry>> MembershipMaps::queriers() const { return dump<QuerierEntry>(queriers_); }

Result<jc_counters> MembershipMaps::counters() const {
  int cpus = libbpf_num_possible_cpus();
  if (cpus < 0) return libbpf_error(cpus);
  std::vector<jc_counters> per_cpu(static_cast<std::size_t>(cpus));
  std::uint32_t zero = 0;
  if (bpf_map_lookup_elem(counters_, &zero, per_cpu.data()) < 0) return last_error();
  jc_counters total{};
  constexpr std::size_t fields = sizeof(jc_counters) / sizeof(std::uint64_t);
  for (const auto& c : per_cpu) {
    std::uint64_t in[fields], sum[fields];
    std::memcpy(in, &c, sizeof c);
    std::memcpy(sum, &total, sizeof total);
    for (std::size_t i = 0; i < fields; ++i) sum[i] += in[i];
    std::memcpy(&total, sum, sizeof total);
  }
  return total;
}

}  // namespace joincast::daemon::membership::loader
