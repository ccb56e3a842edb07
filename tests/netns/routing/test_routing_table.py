#!/usr/bin/env python3
"""joincastd beside another multicast routing daemon: smcrouted owns the
kernel's default tables, joincastd takes table 100 (MRT_TABLE/MRT6_TABLE)
and adds the `ip mrule`s that send its interfaces' traffic there. Traffic
is routed by joincastd's table while smcrouted's stays as it was; a
template's (S,G) entries expire when idle (and the watchers hear it); the
kernel's RTM_NEWCACHEREPORT notifications parse as the upcalls they are.
Stopping joincastd removes its rules and leaves smcrouted alone."""

import json
import os
import select
import shutil
import subprocess
import sys
import time

from lab import BUILD_DIR, Lab, log, stop_smcrouted, wait_until
from routing_lab import Topology, mroute_lines, reload, send, start_daemon

N = 10
CONFIG = """
[routing]
table = 100
dynamic_expiry = "1s"

[[routing.route]]
from = "up0"
source = "10.1.0.2"
group = "239.5.5.5"
to = ["down2"]

[[routing.route]]
from = "up0"
group = "ff3e::5:0/112"
to = ["down2"]
"""


def mrules(router, family="-4") -> list[str]:
    return [" ".join(l.split()) for l in router.run("ip", family, "mrule", "show").splitlines()]


class Reports:
    def __init__(self, ns):
        self.proc = ns.spawn(str(BUILD_DIR / "tests" / "mroute_probe"), "reports", stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.fd = self.proc.stdout.fileno()
        self.pending = b""
        self.seen = []
        assert self.read(10) == {"ready": True}

    def read(self, timeout):
        while b"\n" not in self.pending:
            r, _, _ = select.select([self.fd], [], [], timeout)
            if not r:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, self.pending = self.pending.split(b"\n", 1)
        return json.loads(line)

    def wait_for(self, pred, what):
        deadline = time.monotonic() + 10
        while not any(pred(x) for x in self.seen):
            if time.monotonic() > deadline:
                raise AssertionError(f"no cache report for {what}: {self.seen}")
            x = self.read(0.5)
            if x:
                self.seen.append(x)
        return next(x for x in self.seen if pred(x))


def main() -> int:
    Lab.require_multicast_routing()
    if not shutil.which("smcrouted"):
        print("smcrouted is not installed (Debian package smcroute)", file=sys.stderr)
        return 1
    with Lab("rt-table") as lab:
        t = Topology(lab)
        lab.veth(t.router, "side0", lab.netns("side"), "x0")
        conf = lab.tmp / "smcroute.conf"
        conf.write_text("phyint side0 enable\nphyint down1 enable\n"
                        "mroute from side0 source 10.9.0.2 group 239.9.9.9 to down1\n")
        smc = t.router.spawn("smcrouted", "-n", "-N", "-f", str(conf), "-u", str(lab.tmp / "smc.sock"), "-P",
                             str(lab.tmp / "smc.pid"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: mroute_lines(t.router), 10, "smcrouted's route")
        smc_routes = mroute_lines(t.router)
        log(f"smcrouted owns the default table: {smc_routes}")

        reports = Reports(t.router)
        d = start_daemon(lab, t.router, CONFIG)
        try:
            watch = d.watch(["routing"])
            assert "(10.1.0.2,239.5.5.5) Iif: up0 Oifs: down2 State: resolved" in mroute_lines(t.router, "-4", "100")
            rules = mrules(t.router)
            log("ip mrule show:\n  " + "\n  ".join(rules))
            for expect in ("iif up0 lookup 100", "oif up0 lookup 100", "iif down2 lookup 100"):
                assert any(expect in r and r.startswith("1000:") for r in rules), (expect, rules)
            assert any("iif up0 lookup 100" in r for r in mrules(t.router, "-6")), mrules(t.router, "-6")

            c1, c2 = t.counters()
            before_traffic = watch.mark()
            send(t.src, "s0", "239.5.5.5", N)
            send(t.src, "s0", "ff3e::5:5", N)
            send(t.src, "s0", "239.6.6.6", 2)  # no route: a stop filter, and a cache report
            wait_until(lambda: c2.packets("ff3e::5:5") == N, 5, "the IPv6 template's traffic through table 100")
            assert c2.packets("239.5.5.5") == N and c1.packets("239.5.5.5") == 0
            c1.stop(), c2.stop()
            assert mroute_lines(t.router) == smc_routes, "smcrouted's table changed"

            r = reports.wait_for(lambda x: x.get("group") == "ff3e::5:5", "ff3e::5:5")
            assert r["family"] == "ipv6" and r["kind"] == "nocache" and r["source"] == "2001:db8:1::2", r
            r = reports.wait_for(lambda x: x.get("group") == "239.6.6.6", "239.6.6.6")
            assert r["kind"] == "nocache" and r["table"] == 100 and r["source"] == "10.1.0.2", r
            vif = {v["interface"]: v["vif"] for f in d.cli("routes")["families"] if f["family"] == "ipv4"
                   for v in f["vifs"]}
            assert r["vif"] == vif["up0"], (r, vif)
            assert all("error" not in x for x in reports.seen), reports.seen

            e = watch.wait_for(lambda e: e.get("event") == "resolved" and e.get("group") == "ff3e::5:5", 5,
                               "the resolved event", since=before_traffic)
            assert e["iif"] == "up0" and e["oifs"] == ["down2"], e
            watch.wait_for(lambda e: e.get("event") == "expired" and e.get("group") == "ff3e::5:5", 5,
                           "the idle entry to expire", since=before_traffic)
            assert not any("ff3e::5:5" in l for l in mroute_lines(t.router, "-6", "100"))
            assert "(10.1.0.2,239.5.5.5) Iif: up0 Oifs: down2 State: resolved" in mroute_lines(t.router, "-4", "100")
            log("table 100: routed, reported, expired")

            # Another table and another protocol at reload: everything moves,
            # nothing is left under the old ones.
            moved = CONFIG.replace("table = 100", "table = 101\nroute_protocol = 201") + """
[[routing.group_block]]
name = "ssdp"
interface = "down2"
groups = ["239.255.255.250"]
"""
            reload(d, CONFIG + """
[[routing.group_block]]
name = "ssdp"
interface = "down2"
groups = ["239.255.255.250"]
""")
            assert "proto 200" in t.router.run("ip", "route", "show", "table", "local", "239.255.255.250")
            reload(d, moved)
            assert "(10.1.0.2,239.5.5.5) Iif: up0 Oifs: down2 State: resolved" in mroute_lines(t.router, "-4", "101")
            rules = mrules(t.router) + mrules(t.router, "-6")
            assert any("lookup 101" in r for r in rules) and not any("lookup 100" in r for r in rules), rules
            local = t.router.run("ip", "route", "show", "table", "local", "239.255.255.250")
            assert "proto 201" in local and "proto 200" not in local, local
            assert mroute_lines(t.router) == smc_routes

            d.stop()
            assert not any("lookup 10" in r for r in mrules(t.router) + mrules(t.router, "-6")), mrules(t.router)
            assert "239.255.255.250" not in t.router.run("ip", "route", "show", "table", "local")
            assert mroute_lines(t.router) == smc_routes
            stop_smcrouted(smc)
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
        log("beside smcrouted: own table and rules, nothing of smcrouted's touched")
    return 0


if __name__ == "__main__":
    sys.exit(main())
