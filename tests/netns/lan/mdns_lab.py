"""The mDNS zone lab the lan tests and bench/mdns share.

The zones are the three of tests/unit/lan/mdns_zones.hpp (trusted on lan0
with trust 2, iot on iot0 and guest on guest0 with trust 1), read out of
that header so the unit tests, the fuzz targets, the netns tests and the
benchmark all use one copy. `config()` makes a joincastd config of some of
them (interfaces may be renamed, e.g. to bridges), more zones, rules and
[mdns] keys; `two_zones()` wires the usual router with a trusted host on
lan0 (10.10.0.0/24, fd00:10::/64) and an iot host on iot0 (10.20.0.0/24,
fd00:20::/64); avahi_fixture.Avahi starts the real responders in them."""

import re
import tomllib
from pathlib import Path

from lab import Lab, Netns, wait_until

_HEADER = Path(__file__).resolve().parents[2] / "unit" / "lan" / "mdns_zones.hpp"

# {name: {"name", "interfaces", "trust"}} in the header's order.
ZONES: dict[str, dict] = {z["name"]: z for z in tomllib.loads(
    re.search(r'R"toml\((.*?)\)toml"', _HEADER.read_text(), re.S).group(1))["mdns"]["zone"]}

DAEMON = """
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
bpf_pin_root = "{pins}"
"""


def _strings(values) -> str:
    return "[" + ", ".join(f'"{v}"' for v in values) + "]"


def zone_block(name: str, interfaces: list[str], trust: int | None = None) -> str:
    out = f'[[mdns.zone]]\nname = "{name}"\ninterfaces = {_strings(interfaces)}\n'
    return out + (f"trust = {trust}\n" if trust is not None else "")


def rule_block(src: str, dst: str, services: list[str]) -> str:
    return f'[[mdns.rule]]\nfrom = "{src}"\nto = "{dst}"\nservices = {_strings(services)}\n'


def config(pins, zones=("trusted", "iot", "guest"), interfaces: dict[str, list[str]] | None = None,
           extra_zones: tuple[tuple[str, list[str], int], ...] = (),
           rules: tuple[tuple[str, str, list[str]], ...] = (), mdns: dict | None = None) -> str:
    """A joincastd config: the daemon's sockets and pins, [mdns] `mdns`
    keys, the named ZONES (with `interfaces` in place of theirs), then
    `extra_zones` (name, interfaces, trust) and `rules` (from, to, services)."""
    out = DAEMON.replace("{pins}", str(pins))
    if mdns:
        out += "[mdns]\n" + "".join(f"{k} = {v}\n" for k, v in mdns.items())
    for name in zones:
        z = ZONES[name]
        out += zone_block(name, (interfaces or {}).get(name, z["interfaces"]), z.get("trust"))
    for name, ifaces, trust in extra_zones:
        out += zone_block(name, ifaces, trust)
    for src, dst, services in rules:
        out += rule_block(src, dst, services)
    return out


def two_zones(lab: Lab, trusted: str = "phone", iot: str = "printer",
              ipv6: tuple[str, ...] = ("trusted", "iot")) -> tuple[Netns, Netns, Netns]:
    """A router with lan0 (trusted, 10.10.0.1) to `trusted`'s eth0
    (10.10.0.2) and iot0 (iot, 10.20.0.1) to `iot`'s eth0 (10.20.0.5);
    the sides named in `ipv6` have fd00:10::/64 and fd00:20::/64 too."""
    router, t, i = lab.netns("router"), lab.netns(trusted), lab.netns(iot)
    lab.veth(router, "lan0", t, "eth0")
    lab.veth(router, "iot0", i, "eth0")
    for side, host, ifname, net in (("trusted", t, "lan0", "10"), ("iot", i, "iot0", "20")):
        last = "2" if side == "trusted" else "5"
        lab.addr(router, ifname, f"10.{net}.0.1/24")
        lab.addr(host, "eth0", f"10.{net}.0.{last}/24")
        if side in ipv6:
            lab.addr(router, ifname, f"fd00:{net}::1/64")
            lab.addr(host, "eth0", f"fd00:{net}::{last}/64")
    return router, t, i


def link_local(ns: Netns, ifname: str) -> None:
    """Waits for `ifname` in `ns` to have its fe80:: address."""
    wait_until(lambda: "fe80" in ns.run("ip", "-6", "addr", "show", "dev", ifname), 10, "link-local addresses")
