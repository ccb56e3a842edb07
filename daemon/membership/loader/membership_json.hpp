// membership_json.hpp — membership state as the JSON the control protocol
// and `joincast groups --json` share (docs/control-protocol.md). Built from
// map entries, so the daemon and the CLI reading pinned maps print the same.
#pragma once

#include "daemon/membership/loader/membership_maps.hpp"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace joincast::daemon::membership::loader {

// {"groups": [{"group", "listeners", "first_join", "last_change",
//   "members": [{"interface", "ifindex", "host", "version", "mode", ...}]}]}
// Times are ISO 8601 UTC plus "…_ago_s". now_ns is CLOCK_MONOTONIC.
nlohmann::json groups_json(const std::vector<GroupEntry>& groups, const std::vector<ListenerEntry>& listeners,
                           std::uint64_t now_ns, bool include_empty = false);

nlohmann::json counters_json(const jc_counters& c);

// One ring-buffer event as JSON: {"event": "listener-join", "group", ...}.
nlohmann::json event_json(const jc_event& e, std::uint64_t now_ns);

// "eth0", or "if7" when the index has no name (any more).
std::string interface_name(std::uint32_t ifindex);

// CLOCK_MONOTONIC ns to an ISO 8601 UTC string.
std::string monotonic_to_iso(std::uint64_t t_ns, std::uint64_t now_ns);

}  // namespace joincast::daemon::membership::loader
