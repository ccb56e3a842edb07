"""The monitor module follows interfaces and addresses live, and reloads:
a [[monitor]] entry for an interface that does not exist yet is pending,
and joined when the interface appears; its RFC 6034 group moves when the
interface is renumbered into another /24 (the old group is left); a SIGHUP
with another entry takes the new one and leaves the old; stopping leaves
everything and detaches the TC program. Checked in the kernel's own state:
`ip maddr` (the memberships) and `tc filter` (the program)."""

import re
import signal
import sys

from lab import Lab, log, wait_until
from monitor_lab import JOINCAST

SYSLOG = """
[[monitor]]
service = "syslog"
interfaces = ["mgmt0"]
"""

TRAPS = """
[[monitor]]
service = "snmp-trap"
interfaces = ["mgmt0"]
groups = ["239.255.1.62"]
"""


def groups(ns, ifname: str) -> set[str]:
    out = ns.run("ip", "maddr", "show", "dev", ifname, check=False)
    return {line.split()[1] for line in out.splitlines() if line.strip().startswith("inet ")}


def has_program(ns, ifname: str) -> bool:
    return "jc_monitor" in ns.run("tc", "filter", "show", "dev", ifname, "ingress", check=False)


def main() -> int:
    with Lab("monitor-live") as lab:
        r, sw = lab.netns("r"), lab.netns("sw")
        pins = lab.bpffs()
        from lab import Daemon
        d = Daemon(lab, r, JOINCAST.format(pins=pins / "r", entries=SYSLOG), "joincastd")
        d.start()

        log("the interface is not there: pending")
        pending = d.cli("monitor")["pending"]
        assert pending and "does not exist" in pending[0]["reason"], pending

        log("it appears without an address: still pending (no subnet to derive from)")
        lab.veth(r, "mgmt0", sw, "eth0")
        wait_until(lambda: any("no IPv4 address" in p["reason"] for p in d.cli("monitor")["pending"]), 10,
                   "the entry to wait for an address")

        log("it gets 192.168.0.1/24: 234.192.168.0 joined on mgmt0, the program attached")
        lab.addr(r, "mgmt0", "192.168.0.1/24")
        wait_until(lambda: "234.192.168.0" in groups(r, "mgmt0"), 10, "the join of 234.192.168.0")
        assert has_program(r, "mgmt0")
        assert d.cli("monitor")["pending"] == []

        log("renumbered to 192.168.7.1/24: the group moves to 234.192.168.7")
        r.run("ip", "addr", "del", "192.168.0.1/24", "dev", "mgmt0")
        lab.addr(r, "mgmt0", "192.168.7.1/24")
        wait_until(lambda: "234.192.168.7" in groups(r, "mgmt0") and "234.192.168.0" not in groups(r, "mgmt0"), 10,
                   "the join to move to 234.192.168.7")
        assert [e["group"] for e in d.cli("monitor")["entries"]] == ["234.192.168.7"]

        log("SIGHUP with another entry: the new group joined, the old one left")
        before = d.log().count("reloaded")
        d.config_path.write_text(JOINCAST.format(pins=pins / "r", entries=TRAPS)
                                 .replace("@SOCKET@", str(d.socket)).replace("@STATE@", str(d.dir / "state")))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log().count("reloaded") > before, 10, "the reload")
        wait_until(lambda: "239.255.1.62" in groups(r, "mgmt0") and "234.192.168.7" not in groups(r, "mgmt0"), 10,
                   "the reload's joins")
        assert [(e["service"], e["port"]) for e in d.cli("monitor")["entries"]] == [("snmp-trap", 162)]

        log("stop: every membership left, the program detached")
        assert d.stop() == 0
        assert "239.255.1.62" not in groups(r, "mgmt0")
        assert not has_program(r, "mgmt0")
        assert not re.search(r"^\S+ error ", d.log(), re.M), d.log()
        assert "nothing listens on udp port 514 (syslog, 234.192.168.0 on mgmt0)" in d.log(), d.log()
    return 0


if __name__ == "__main__":
    sys.exit(main())
