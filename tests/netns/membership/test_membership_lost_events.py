"""Membership events lost to a full ring buffer do not lose a stream: one
MLDv2 report whose 60 records do not fit a 4 KiB event buffer (64 events)
ends with the test station's group; its group-up never reaches the daemon
as an event, is recovered from the groups map at the next check, and the
station's stream starts."""

import socket
import struct
import sys

from lab import Daemon, Lab, log, wait_until

PREFIX = "2001:db8:d0be:f00d"

SENDER = r"""
import socket, struct, sys
ifname, groups = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifname))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0, 0, 5, 2, 0, 0, 1, 0]))
# One MLDv2 report (RFC 3810 §5.2), a CHANGE_TO_EXCLUDE({}) record per group.
body = b"".join(struct.pack("!BBH", 4, 0, 0) + socket.inet_pton(socket.AF_INET6, g) for g in groups)
s.sendto(struct.pack("!BBHHH", 143, 0, 0, 0, len(groups)) + body, ("ff02::16", 0, 0, socket.if_nametoindex(ifname)))
"""


def main() -> int:
    with Lab("mlost") as lab:
        router, c1 = lab.netns("router"), lab.netns("c1")
        lab.veth(router, "p1", c1, "eth0")
        lab.bridge(router, "br0", ["p1"])
        lab.addr(router, "br0", f"{PREFIX}::1/64")
        lab.addr(c1, "eth0", f"{PREFIX}::11/64")
        d = Daemon(lab, router, f"""
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = ["br0"]
bpf_pin_root = "{lab.bpffs() / 'joincast'}"
event_buffer = 4096
[address_plan]
ipv6_prefix = "{PREFIX}::/64"
[[directory]]
name = "test"
type = "test"
slot = 0
[sessions]
interface = "br0"
""").start()
        station = d.cli("map", "0")["group"]
        # 59 groups of an empty directory slot first, the station last: two
        # events per new group (join, group-up) overflow 64 event slots long
        # before the last record. 60 records keep the report in one frame
        # (a fragmented report is not MLD to anyone).
        others = [f"ff3e:40:{PREFIX}:9000:{i:x}" for i in range(59)]
        log(f"one report: 59 other groups, then {station}")
        c1.run(sys.executable, "-c", SENDER, "eth0", *others, station)

        wait_until(lambda: d.cli("status")["membership"]["counters"]["events_lost"] > 0, 5, "events to be lost")
        wait_until(lambda: "recovered from the groups map" in d.log(), 10, "the recovery")
        wait_until(lambda: any(s["group"] == station and s["state"] == "running"
                               for s in d.cli("sessions")["sessions"]), 10, "the station's stream")
        log("the station plays although its group-up event was lost")
        groups = {g["group"]: g["listeners"] for g in d.cli("groups")["groups"]}
        assert groups.get(station) == 1 and len(groups) == 60, len(groups)
    return 0


if __name__ == "__main__":
    sys.exit(main())
