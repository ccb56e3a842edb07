// bridge_settings.cpp — see bridge_settings.hpp.
#include "daemon/routing/kernel/bridge_settings.hpp"

namespace joincast::daemon::routing::kernel {

bool same_mdb(const netlink::MdbEntry& a, const netlink::MdbEntry& b) {
  return a.bridge == b.bridge && a.port == b.port && a.group == b.group && a.source == b.source && a.vid == b.vid &&
         a.permanent == b.permanent;
}

netlink::BridgeMulticast bridge_delta(const netlink::BridgeMulticast& want, const netlink::BridgeMulticast& have) {
  netlink::BridgeMulticast d;
  netlink::BridgeMulticast::zip_fields(
      [](const auto& w, const auto& h, auto& out) {
        if (w && w != h) out = w;
      },
      want, have, d);
  return d;
}

netlink::BridgeMulticast bridge_values_of(const netlink::BridgeMulticast& fields, const netlink::BridgeMulticast& from) {
  netlink::BridgeMulticast d;
  netlink::BridgeMulticast::zip_fields(
      [](const auto& f, const auto& v, auto& out) {
        if (f) out = v;
      },
      fields, from, d);
  return d;
}

void merge_bridge(netlink::BridgeMulticast& into, const netlink::BridgeMulticast& more) {
  netlink::BridgeMulticast::zip_fields(
      [](auto& i, const auto& m) {
        if (!i && m) i = m;
      },
      into, more);
}

}  // namespace joincast::daemon::routing::kernel
