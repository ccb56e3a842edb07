#!/usr/bin/env python3
"""The kernel has 32 VIFs per multicast routing table. joincastd gives
VIFs only to interfaces its routes use; a route that would need a 33rd is
refused with a message that says so, and nothing else changes: at runtime
(`joincast route add` fails, the kernel tables are as before), at start
(joincastd refuses to start half-routed, and `joincastd --check` says so
too) and when an interface appears later (the route stays pending, with
that reason)."""

import sys

from lab import Daemon, Lab, log, wait_until
from routing_lab import check_config, daemon_config, mroute_lines, start_daemon


def routes_toml(inputs: range, late: str | None = None) -> str:
    body = "[routing]\n"
    for i in inputs:
        body += f'[[routing.route]]\nfrom = "v{i}"\nsource = "10.0.{i}.2"\ngroup = "239.1.1.1"\nto = ["out"]\n'
    if late:
        body += f'[[routing.route]]\nfrom = "{late}"\nsource = "10.0.99.2"\ngroup = "239.1.1.1"\nto = ["out"]\n'
    return body


def vif_count(router) -> int:
    return len(router.run("cat", "/proc/net/ip_mr_vif").splitlines()) - 1


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("rt-vif") as lab:
        router = lab.netns("router")
        for i in range(33):
            router.run("ip", "link", "add", f"v{i}", "type", "veth", "peer", "name", f"v{i}p")
            router.run("ip", "link", "set", f"v{i}", "up")
        router.run("ip", "link", "add", "out", "type", "veth", "peer", "name", "outp")
        router.run("ip", "link", "set", "out", "up")

        # 31 inputs and one output: 32 VIFs, all of them.
        d = start_daemon(lab, router, routes_toml(range(31)))
        assert vif_count(router) == 32, vif_count(router)
        before = mroute_lines(router)
        assert len(before) == 31, before
        r = d.cli("route", "add", "v31", "10.0.31.2", "239.1.1.1", "out", check=False, json_out=False)
        log(f"joincast route add v31 ...: exit {r.returncode}: {r.stderr.strip()}")
        assert r.returncode == 1, r
        assert "needs a VIF for v31, but all 32 VIFs of multicast routing table 253 are in use" in r.stderr, r.stderr
        assert "the kernel has no 33rd" in r.stderr, r.stderr
        assert mroute_lines(router) == before and vif_count(router) == 32, "a refused route changed the kernel"
        assert d.cli("routes")["runtime_routes"] == []
        # IPv6 has 32 MIFs of its own: the same interface is fine there.
        ok = d.cli("route", "add", "v31", "2001:db8:31::2", "ff3e::1", "out")
        assert ok["state"] == "installed", ok
        d.stop()

        # joincastd --check makes the same refusal, not "ok".
        p = check_config(lab, router, routes_toml(range(32)))
        log(f"joincastd --check with 33 VIFs' worth of routes exits {p.returncode}")
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        assert "needs a VIF for v31, but all 32 VIFs" in p.stderr, p.stderr
        assert "ok" not in p.stdout, p.stdout
        ok = check_config(lab, router, routes_toml(range(31)), name="check-ok")
        assert ok.returncode == 0 and "ok" in ok.stdout, (ok.returncode, ok.stdout, ok.stderr)

        # At start: refused whole.
        bad = Daemon(lab, router, daemon_config(routes_toml(range(32))), name="too-many")
        bad.start(wait=False)
        rc = bad.proc.wait(timeout=20)
        log(f"joincastd with 33 VIFs' worth of routes exits {rc}")
        assert rc == 1, rc
        assert "needs a VIF for v31, but all 32 VIFs" in bad.log(), bad.log()
        assert "nothing was changed" in bad.log(), bad.log()
        assert mroute_lines(router) == [] and vif_count(router) == 0

        # An interface that appears when all VIFs are taken: pending, with
        # the reason, and the others untouched.
        d2 = start_daemon(lab, router, routes_toml(range(31), late="late0"), name="late")
        before = mroute_lines(router)
        router.run("ip", "link", "add", "late0", "type", "veth", "peer", "name", "late0p")
        router.run("ip", "link", "set", "late0", "up")
        wait_until(lambda: "needs a VIF for late0" in d2.log(), 10, "the late interface's VIF refusal")
        pending = d2.cli("routes")["pending"]
        assert any("needs a VIF for late0" in p["reason"] for p in pending), pending
        assert mroute_lines(router) == before and vif_count(router) == 32
        log("33rd VIF refused at runtime, at start and for a late interface, with the reason")
    return 0


if __name__ == "__main__":
    sys.exit(main())
