#!/usr/bin/env python3
"""Multicast forwarding through joincastd's routes, IPv4 and IPv6, (S,G)
and (*,G): src → router → rcv1, rcv2. Packets are counted on the wire at
each receiver; they must arrive exactly where the routes say and nowhere
else, and `joincast routes` must report the entries with their counters.
Stopping the daemon must leave no route behind."""

import sys
import time

from lab import Lab, log, wait_until
from routing_lab import Topology, mfc, mroute_lines, send, start_daemon

N = 20

CONFIG = """
[routing]
dynamic_expiry = "60s"

[[routing.route]]              # (S,G), IPv4, to rcv1 only
from = "up0"
source = "10.1.0.2"
group = "239.1.1.1"
to = ["down1"]

[[routing.route]]              # (*,G) range, IPv4, to rcv2 only
from = "up0"
group = "239.2.0.0/16"
to = ["down2"]

[[routing.route]]              # (S,G), IPv6, to both
from = "up0"
source = "2001:db8:1::2"
group = "ff3e::1:1"
to = ["down1", "down2"]

[[routing.route]]              # (*,G), IPv6, to rcv2 only
from = "up0"
group = "ff3e::2:0/112"
to = ["down2"]
"""

# group -> packets expected at (rcv1, rcv2)
EXPECT = {
    "239.1.1.1": (N, 0),
    "239.2.3.4": (0, N),
    "239.9.9.9": (0, 0),        # no route: a stop filter, nothing leaves
    "ff3e::1:1": (N, N),
    "ff3e::2:5": (0, N),
    "ff3e::9:9": (0, 0),
}


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("rt-fwd") as lab:
        t = Topology(lab)
        d = start_daemon(lab, t.router, CONFIG)
        c1, c2 = t.counters()
        for group in EXPECT:
            send(t.src, "s0", group, N)
        # The last packets may still be in flight.
        wait_until(lambda: c2.packets("ff3e::2:5") >= N, 5, "the last IPv6 (*,G) packets at rcv2")
        got1, got2 = c1.stop(), c2.stop()
        failures = []
        for group, (e1, e2) in EXPECT.items():
            n1 = got1.get(group, {}).get("udp", 0)
            n2 = got2.get(group, {}).get("udp", 0)
            log(f"{group:12} rcv1 {n1:3} (want {e1})  rcv2 {n2:3} (want {e2})")
            if (n1, n2) != (e1, e2):
                failures.append(f"{group}: rcv1 got {n1}, rcv2 got {n2}; routes say {e1}, {e2}")
        # Nothing else (no other multicast destination) reached either side,
        # MLD/IGMP aside.
        for name, got in (("rcv1", got1), ("rcv2", got2)):
            extra = [g for g, e in got.items() if e["udp"] and g not in EXPECT]
            if extra:
                failures.append(f"{name} got UDP for unrouted groups {extra}")
        if failures:
            print("\n".join(failures), file=sys.stderr)
            print(d.log(), file=sys.stderr)
            return 1

        # The kernel's view, and joincast's.
        v4 = mroute_lines(t.router, "-4")
        v6 = mroute_lines(t.router, "-6")
        log("ip mroute show:\n  " + "\n  ".join(v4 + v6))
        assert "(10.1.0.2,239.1.1.1) Iif: up0 Oifs: down1 State: resolved" in v4, v4
        assert "(10.1.0.2,239.2.3.4) Iif: up0 Oifs: down2 State: resolved" in v4, v4
        assert "(10.1.0.2,239.9.9.9) Iif: up0 State: resolved" in v4, v4
        assert "(2001:db8:1::2,ff3e::1:1) Iif: up0 Oifs: down1 down2 State: resolved" in v6, v6
        assert "(2001:db8:1::2,ff3e::2:5) Iif: up0 Oifs: down2 State: resolved" in v6, v6
        entries = {(e["source"], e["group"]): e for e in mfc(d, "ipv4") + mfc(d, "ipv6")}
        e = entries[("10.1.0.2", "239.1.1.1")]
        assert e["kind"] == "route" and e["packets"] == N and e["oifs"] == [{"interface": "down1", "ttl": 1}], e
        e = entries[("10.1.0.2", "239.2.3.4")]
        assert e["kind"] == "dynamic" and e["packets"] == N and e["iif"] == "up0", e
        e = entries[("10.1.0.2", "239.9.9.9")]
        assert e["kind"] == "stop" and e["oifs"] == [], e
        e = entries[("2001:db8:1::2", "ff3e::2:5")]
        assert e["kind"] == "dynamic" and e["packets"] == N, e
        routes = d.cli("routes")
        vifs = {v["interface"]: v for f in routes["families"] if f["family"] == "ipv4" for v in f["vifs"]}
        assert set(vifs) == {"up0", "down1", "down2"}, vifs
        assert vifs["up0"]["packets_in"] >= 3 * N, vifs
        text = d.cli("routes", json_out=False).stdout
        assert "239.2.3.4" in text and "dynamic" in text, text

        # The headend's own streams: sent by the router itself out of up0
        # (its multicast loopback copy enters the routing as if received on
        # up0), they follow the same templates.
        c1, c2 = t.counters()
        send(t.router, "up0", "239.2.9.9", N)
        send(t.router, "up0", "ff3e::2:9", N)
        wait_until(lambda: c2.packets("ff3e::2:9") >= N, 5, "the router's own IPv6 stream at rcv2")
        got1, got2 = c1.stop(), c2.stop()
        assert got2["239.2.9.9"]["udp"] == N and "239.2.9.9" not in got1, (got1, got2)
        assert got2["ff3e::2:9"]["udp"] == N and "ff3e::2:9" not in got1, (got1, got2)
        log("locally originated streams routed like received ones")

        # Routes added and removed at runtime, through the CLI.
        out = d.cli("route", "add", "up0", "10.1.0.2", "239.4.4.4", "down2", "down1")
        assert out["state"] == "installed", out
        out = d.cli("route", "add", "up0", "ff3e::4:0/112", "down1")
        assert out["state"] == "template", out
        c1, c2 = t.counters()
        send(t.src, "s0", "239.4.4.4", N)
        send(t.src, "s0", "ff3e::4:4", N)
        wait_until(lambda: c1.packets("ff3e::4:4") >= N, 5, "the runtime IPv6 template's traffic")
        got1, got2 = c1.snapshot(), c2.snapshot()
        assert got1["239.4.4.4"]["udp"] == N and got2["239.4.4.4"]["udp"] == N, (got1, got2)
        assert got1["ff3e::4:4"]["udp"] == N and "ff3e::4:4" not in got2, (got1, got2)
        d.cli("route", "del", "up0", "10.1.0.2", "239.4.4.4", "down2")   # one output only
        assert "(10.1.0.2,239.4.4.4) Iif: up0 Oifs: down1 State: resolved" in mroute_lines(t.router, "-4")
        d.cli("route", "del", "up0", "10.1.0.2", "239.4.4.4")
        send(t.src, "s0", "239.4.4.4", N)
        time.sleep(0.2)
        got1, got2 = c1.stop(), c2.stop()
        assert got1["239.4.4.4"]["udp"] == N and got2["239.4.4.4"]["udp"] == N, "forwarded after route del"
        r = d.cli("route", "del", "up0", "10.1.0.2", "239.1.1.1", check=False, json_out=False)
        assert r.returncode == 1 and "is configured" in r.stderr, r.stderr
        log("runtime route add/del: forwarded as added, stopped when removed")

        d.stop()
        assert mroute_lines(t.router, "-4") == [] and mroute_lines(t.router, "-6") == [], "routes left behind"
        vif_table = t.router.run("cat", "/proc/net/ip_mr_vif").splitlines()
        assert len(vif_table) == 1, vif_table  # the header only
        log("forwarding as routed, nothing elsewhere; clean after stop")
    return 0


if __name__ == "__main__":
    sys.exit(main())
