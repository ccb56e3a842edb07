// mdns_zones.hpp — the three mDNS zones of the lab every mDNS test uses:
// trusted (lan0, trust 2), iot (iot0, trust 1), guest (guest0, trust 1).
// The one copy: the unit tests and fuzz targets compile it in, and
// tests/netns/lan/mdns_lab.py (the netns tests and bench/mdns) reads the
// raw string out of this file, so a change here is a change for all.
#pragma once

namespace joincast::test {

inline constexpr const char* mdns_zones = R"toml(
[[mdns.zone]]
name = "trusted"
interfaces = ["lan0"]
trust = 2
[[mdns.zone]]
name = "iot"
interfaces = ["iot0"]
trust = 1
[[mdns.zone]]
name = "guest"
interfaces = ["guest0"]
trust = 1
)toml";

}  // namespace joincast::test
