// harness.cpp — see harness.hpp.
#include "tests/bpf/harness.hpp"

#include "tests/bpf/private_bpffs.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <doctest/doctest.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace joincast::tests {

namespace fs = std::filesystem;
using joincast::daemon::membership::loader::MembershipMaps;
using joincast::daemon::membership::loader::MembershipProgram;
using joincast::daemon::membership::loader::event_name;
using joincast::daemon::membership::loader::format_address;

namespace {

[[noreturn]] void fail(const std::string& what, int err) {
  throw std::system_error(err, std::generic_category(), what);
}

int collect_event(void* ctx, void* data, std::size_t size) {
  auto* out = static_cast<std::vector<jc_event>*>(ctx);
  jc_event e{};
  std::memcpy(&e, data, std::min(size, sizeof e));
  out->push_back(e);
  return 0;
}

template <class Entry>
std::vector<Entry> must(joincast::Result<std::vector<Entry>> r, const char* what) {
  if (!r) fail(what, r.error().value());
  return std::move(r).value();
}

}  // namespace

const std::string& private_bpffs() {
  static PrivateBpffs fs("joincast-bpf-test");
  return fs.dir();
}

LoadedMembership::LoadedMembership(MembershipProgram::Options options) {
  static std::atomic<int> serial{0};
  pin_root_ = (fs::path(private_bpffs()) / ("membership-" + std::to_string(++serial))).string();
  options.pin_root = pin_root_;
  auto loaded = MembershipProgram::load(options);
  if (!loaded) fail("loading the membership program at " + pin_root_, loaded.error().value());
  program_ = std::move(loaded).value();
  if (program_->maps_origin() != MembershipProgram::MapsOrigin::created)
    throw std::runtime_error("fresh pin root " + pin_root_ + " already had maps");
  events_ = ring_buffer__new(program_->events_fd(), collect_event, &pending_, nullptr);
  if (!events_) fail("ring_buffer__new", errno);
}

LoadedMembership::~LoadedMembership() {
  if (events_) ring_buffer__free(events_);
  program_.reset();
  (void)MembershipProgram::unpin(pin_root_);
}

int test_run(int program_fd, const Bytes& frame, std::uint32_t ifindex, std::uint32_t* retval, Bytes* out,
             std::uint32_t mark) {
  Bytes buffer(frame.size() + 256);
  // test_run builds the skb from this: ingress_ifindex becomes skb_iif,
  // which the programs prefer over the device (loopback here).
  __sk_buff ctx{};
  ctx.ingress_ifindex = ifindex;
  ctx.mark = mark;
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<std::uint32_t>(frame.size());
  opts.data_out = buffer.data();
  opts.data_size_out = static_cast<std::uint32_t>(buffer.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof(ctx);
  opts.repeat = 1;
  int err = bpf_prog_test_run_opts(program_fd, &opts);
  if (err < 0) return err;
  if (retval) *retval = opts.retval;
  if (out) {
    buffer.resize(opts.data_size_out);
    *out = std::move(buffer);
  }
  return 0;
}

int LoadedMembership::try_run(const Bytes& frame, std::uint32_t ifindex, std::uint32_t* retval, Bytes* out) {
  return test_run(program_->program_fd(), frame, ifindex, retval, out);
}

void LoadedMembership::run(const Bytes& frame, std::uint32_t ifindex) {
  std::uint32_t retval = 0;
  Bytes out;
  int err = try_run(frame, ifindex, &retval, &out);
  REQUIRE_MESSAGE(err == 0, "bpf_prog_test_run_opts: ", std::string(std::strerror(-err)));
  CHECK_MESSAGE(static_cast<int>(retval) == TC_ACT_UNSPEC, "verdict ", static_cast<int>(retval));
  CHECK_MESSAGE(out == frame, "the program changed the packet");
}

jc_counters LoadedMembership::counters() const {
  auto maps = MembershipMaps::borrow(program_->listeners_fd(), program_->groups_fd(), program_->queriers_fd(),
                                     program_->counters_fd());
  auto c = maps.counters();
  if (!c) fail("reading counters", c.error().value());
  return c.value();
}

std::vector<joincast::daemon::membership::loader::ListenerEntry> LoadedMembership::listeners() const {
  auto maps = MembershipMaps::borrow(program_->listeners_fd(), program_->groups_fd(), program_->queriers_fd(),
                                     program_->counters_fd());
  return must(maps.listeners(), "reading listeners");
}

std::vector<joincast::daemon::membership::loader::GroupEntry> LoadedMembership::groups() const {
  auto maps = MembershipMaps::borrow(program_->listeners_fd(), program_->groups_fd(), program_->queriers_fd(),
                                     program_->counters_fd());
  return must(maps.groups(), "reading groups");
}

std::vector<joincast::daemon::membership::loader::QuerierEntry> LoadedMembership::queriers() const {
  auto maps = MembershipMaps::borrow(program_->listeners_fd(), program_->groups_fd(), program_->queriers_fd(),
                                     program_->counters_fd());
  return must(maps.queriers(), "reading queriers");
}

std::optional<jc_listener> LoadedMembership::listener(std::string_view group, std::string_view host,
                                                      std::uint32_t ifindex) const {
  jc_listener_key key{};
  key.ifindex = ifindex;
  auto g = addr(group), h = addr(host);
  std::memcpy(key.group, g.data(), JC_ADDR_LEN);
  std::memcpy(key.host, h.data(), JC_ADDR_LEN);
  jc_listener value{};
  if (bpf_map_lookup_elem(program_->listeners_fd(), &key, &value) < 0) return std::nullopt;
  return value;
}

std::optional<jc_group> LoadedMembership::group(std::string_view group) const {
  jc_group_key key{};
  auto g = addr(group);
  std::memcpy(key.group, g.data(), JC_ADDR_LEN);
  jc_group value{};
  // Maps with a spin lock are read with BPF_F_LOCK for a consistent copy.
  if (bpf_map_lookup_elem_flags(program_->groups_fd(), &key, &value, BPF_F_LOCK) < 0) return std::nullopt;
  return value;
}

std::optional<jc_querier> LoadedMembership::querier(std::uint32_t family, std::uint32_t ifindex) const {
  jc_querier_key key{ifindex, family};
  jc_querier value{};
  if (bpf_map_lookup_elem(program_->queriers_fd(), &key, &value) < 0) return std::nullopt;
  return value;
}

std::vector<jc_event> LoadedMembership::events() {
  int n = ring_buffer__consume(events_);
  if (n < 0) fail("ring_buffer__consume", -n);
  std::vector<jc_event> out;
  out.swap(pending_);
  return out;
}

std::uint32_t LoadedMembership::listener_count() const { return static_cast<std::uint32_t>(listeners().size()); }
std::uint32_t LoadedMembership::group_count() const { return static_cast<std::uint32_t>(groups().size()); }

namespace {

struct CounterField {
  const char* name;
  __u64 jc_counters::*member;
};

constexpr CounterField counter_fields[] = {
    {"packets", &jc_counters::packets},
    {"messages", &jc_counters::messages},
    {"reports", &jc_counters::reports},
    {"queries", &jc_counters::queries},
    {"records", &jc_counters::records},
    {"records_skipped", &jc_counters::records_skipped},
    {"malformed", &jc_counters::malformed},
    {"truncated", &jc_counters::truncated},
    {"bad_checksum", &jc_counters::bad_checksum},
    {"bad_source", &jc_counters::bad_source},
    {"listeners_full", &jc_counters::listeners_full},
    {"groups_full", &jc_counters::groups_full},
    {"events_lost", &jc_counters::events_lost},
    {"host_quota", &jc_counters::host_quota},
    {"interface_quota", &jc_counters::interface_quota},
};
static_assert(sizeof(counter_fields) / sizeof(counter_fields[0]) * sizeof(__u64) == sizeof(jc_counters),
              "a counter is missing from counter_fields");

}  // namespace

jc_counters counters_delta(const jc_counters& after, const jc_counters& before) {
  jc_counters d{};
  for (const auto& f : counter_fields) d.*f.member = after.*f.member - before.*f.member;
  return d;
}

void check_counters(const jc_counters& actual, const jc_counters& expected) {
  for (const auto& f : counter_fields) {
    INFO("counter ", std::string(f.name));
    CHECK(actual.*f.member == expected.*f.member);
  }
}

std::string describe(const jc_event& e) {
  using namespace joincast::daemon;
  return std::string(event_name(e.type)) + " " + format_address(e.group) + " " + format_address(e.host) +
         " listeners=" + std::to_string(e.listeners);
}

void check_events(const std::vector<jc_event>& actual, const std::vector<ExpectedEvent>& expected) {
  std::string got;
  for (const auto& e : actual) got += "\n  " + describe(e);
  INFO("events:", got);
  REQUIRE(actual.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& a = actual[i];
    const auto& x = expected[i];
    INFO("event ", i);
    CHECK(static_cast<int>(a.type) == static_cast<int>(x.type));
    CHECK(joincast::daemon::membership::loader::format_address(a.group) == joincast::daemon::membership::loader::format_address(addr(x.group).data()));
    CHECK(joincast::daemon::membership::loader::format_address(a.host) == joincast::daemon::membership::loader::format_address(addr(x.host).data()));
    CHECK(a.listeners == x.listeners);
  }
}

}  // namespace joincast::tests
