// listener_table.hpp — membership state kept in userspace, for the
// fallback backend that reads reports from the multicast routing socket
// where the BPF program cannot load.
//
// The same rules as bpf/membership.bpf.c (docs/membership.md, "What each
// record means"), the same ABI structs and the same events, so the rest of
// the daemon cannot tell the backends apart. Single-threaded: the daemon's
// io_context thread owns it.
#pragma once

#include "daemon/membership/membership_backend.hpp"
#include "daemon/membership/membership_wire.hpp"

#include <map>
#include <tuple>

namespace joincast::daemon::membership {

class ListenerTable {
 public:
  using Emit = std::function<void(const jc_event&)>;

  // Group quotas as the BPF program's (0: none).
  struct Quotas {
    std::uint32_t per_host = 0;
    std::uint32_t per_interface = 0;
  };

  ListenerTable(Emit emit, bool track_link_local, Quotas quotas)
      : emit_(std::move(emit)), track_link_local_(track_link_local), quotas_(quotas) {}

  // Who sent a report, where, when.
  struct Origin {
    std::uint64_t now_ns = 0;
    std::uint32_t ifindex = 0;
    Address16 host{};
    std::uint8_t version = 0;  // jc_version
    std::uint16_t vlan = 0;
  };

  // Applies one record; false if it was skipped (counted as such).
  bool apply(const Origin& origin, const wire::Record& record);
  // Remembers another router's query.
  void note_query(const Origin& origin, int family, std::uint32_t max_resp_ms, std::uint8_t qrv, std::uint32_t qqi_s);

  MembershipBackend::ForgetOutcome forget(const jc_listener_key& key, std::uint64_t unless_reported_after_ns,
                                          jc_leave_reason reason, std::uint64_t now_ns);
  bool collect_group(const jc_group_key& key, std::uint64_t idle_since_ns);

  std::vector<loader::ListenerEntry> listeners() const;
  std::vector<loader::GroupEntry> groups() const;
  std::vector<loader::QuerierEntry> queriers() const;
  jc_counters& counters() { return counters_; }
  const jc_counters& counters() const { return counters_; }

 private:
  using ListenerId = std::tuple<std::uint32_t, Address16, Address16>;  // ifindex, group, host
  static jc_listener_key key_of(const ListenerId& id);
  void event(const Origin& o, std::uint8_t type, const Address16& group, const Address16& host,
             std::uint8_t record, std::uint8_t mode, std::uint8_t reason, std::uint32_t listeners);
  std::uint32_t add(const Address16& group, int delta, std::uint64_t now);
  bool quotas_take(std::uint32_t ifindex, const Address16& host);
  void quotas_give(std::uint32_t ifindex, const Address16& host);

  Emit emit_;
  bool track_link_local_;
  Quotas quotas_;
  std::map<std::pair<std::uint32_t, Address16>, std::uint32_t> host_groups_;  // entries only above 0
  std::map<std::uint32_t, std::uint32_t> interface_groups_;
  std::map<ListenerId, jc_listener> listeners_;
  std::map<Address16, jc_group> groups_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, jc_querier> queriers_;
  jc_counters counters_{};
};

// The BPF program's jc_group_trackable(): multicast, and beyond link scope
// unless link_local_too.
bool group_trackable(const Address16& group, bool link_local_too);

}  // namespace joincast::daemon::membership
