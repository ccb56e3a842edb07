#!/usr/bin/env python3
"""Nothing half-applied. A configuration whose last step the kernel
refuses (an MDB entry on a bridge whose snooping is off: "multicast
processing is disabled") must leave the kernel as it was: at start
joincastd exits with the reason and nothing installed; at reload the new
routes, VIFs and group routes it had already put in are taken out again
and the old configuration keeps routing."""

import sys

from lab import Daemon, Lab, log, wait_until
from routing_lab import Topology, daemon_config, mroute_lines, reload, send, start_daemon

GOOD = """
[routing]
[[routing.route]]
from = "up0"
source = "10.1.0.2"
group = "239.1.1.1"
to = ["down1"]
"""

MORE = """
[[routing.route]]
from = "up0"
source = "10.1.0.2"
group = "239.2.2.2"
to = ["down2"]

[[routing.group_block]]
name = "ssdp"
interface = "down2"
groups = ["239.255.255.250"]
"""

REFUSED = """
[[routing.mdb]]
bridge = "br0"
port = "bp0"
group = "239.3.3.3"
"""


def state(t) -> tuple:
    return (mroute_lines(t.router, "-4"), t.router.run("cat", "/proc/net/ip_mr_vif"),
            t.router.run("ip", "route", "show", "table", "local", "proto", "200"))


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("rt-tx") as lab:
        t = Topology(lab)
        t.router.run("ip", "link", "add", "bp0", "type", "veth", "peer", "name", "bp1")
        lab.bridge(t.router, "br0", ["bp0"], mcast_snooping=0)
        empty = state(t)

        bad = Daemon(lab, t.router, daemon_config(GOOD + MORE + REFUSED), name="bad-start")
        bad.start(wait=False)
        rc = bad.proc.wait(timeout=20)
        log(f"start with a refused step: exit {rc}")
        assert rc == 1, rc
        assert "nothing was changed" in bad.log() and "cannot add the MDB entry 239.3.3.3" in bad.log(), bad.log()
        assert state(t) == empty, f"left behind: {state(t)}"

        d = start_daemon(lab, t.router, GOOD)
        try:
            good = state(t)
            assert good[0] == ["(10.1.0.2,239.1.1.1) Iif: up0 Oifs: down1 State: resolved"], good
            reload(d, GOOD + MORE + REFUSED, "reload refused")
            refused = [l for l in d.log().splitlines() if "reload refused" in l]
            assert refused and "cannot add the MDB entry 239.3.3.3" in refused[-1], refused
            assert state(t) == good, f"a refused reload left {state(t)} instead of {good}"
            c1 = t.counters()[0]
            send(t.src, "s0", "239.1.1.1", 5)
            wait_until(lambda: c1.packets("239.1.1.1") == 5, 5, "the old configuration still routing")
            c1.stop()
            reload(d, GOOD + MORE)
            after = state(t)
            assert "(10.1.0.2,239.2.2.2) Iif: up0 Oifs: down2 State: resolved" in after[0], after
            assert "239.255.255.250 dev down2" in after[2], after
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
        log("refused steps undo what came before them, at start and at reload")
    return 0


if __name__ == "__main__":
    sys.exit(main())
