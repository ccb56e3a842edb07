// bridge_settings.hpp — comparing bridge MDB entries and bridge multicast
// (snooping) settings, so the routing module changes only the fields it
// must and can put back what it found.
#pragma once

#include "netlink/link.hpp"
#include "netlink/mdb.hpp"

namespace joincast::daemon::routing::kernel {

bool same_mdb(const netlink::MdbEntry& a, const netlink::MdbEntry& b);
// The fields of `want` that differ from `have`.
netlink::BridgeMulticast bridge_delta(const netlink::BridgeMulticast& want, const netlink::BridgeMulticast& have);
// For each field set in `fields`, the value `from` has.
netlink::BridgeMulticast bridge_values_of(const netlink::BridgeMulticast& fields, const netlink::BridgeMulticast& from);
// Fills the fields `into` leaves unset from `more`.
void merge_bridge(netlink::BridgeMulticast& into, const netlink::BridgeMulticast& more);

}  // namespace joincast::daemon::routing::kernel
