#!/usr/bin/env python3
"""The ff00::/8 ambiguity. Every IPv6 interface puts `multicast ff00::/8 dev
X table local` in the local table; a program that sends to a group without
naming an interface (a plain `ping ff3e:…`) leaves by whichever came first,
and that order changes whenever an interface goes down and up. IPv4 has no
such route at all: `ping 239.255.255.250` fails with "Network is
unreachable".

First the problem is shown on the wire, then joincastd's group block routes
(more specific, in the local table, towards the configured interface) make
the same plain pings leave by the configured interface — and keep doing so
after the interfaces bounce and the daemon restarts."""

import json
import subprocess
import sys
import time

from lab import Lab, log, wait_until
from routing_lab import Counter, start_daemon

GROUP6 = "ff3e:40:2001:db8:b:0:8000:1"  # in the block derived from second's 2001:db8:b::/64
GROUP4 = "239.255.255.250"

CONFIG = """
[routing]
[[routing.group_block]]
name = "streams"
interface = "second"            # groups derived from second's global /64

[[routing.group_block]]
name = "ssdp"
interface = "second"
groups = ["239.255.255.250"]
"""


def local_ff00(router) -> list[str]:
    routes = json.loads(router.run("ip", "-j", "-6", "route", "show", "table", "local"))
    return [r["dev"] for r in routes if r["dst"] == "ff00::/8"]


def our_routes(router) -> list[str]:
    out = router.run("ip", "-6", "route", "show", "table", "local", "proto", "200")
    out += router.run("ip", "-4", "route", "show", "table", "local", "proto", "200")
    return [" ".join(l.split()) for l in out.splitlines() if l.strip()]


def ping(router, group) -> int:
    args = ["ip", "netns", "exec", router.name, "ping", "-6" if ":" in group else "-4", "-c", "3", "-i", "0.2", "-W",
            "1", group]
    return subprocess.run(args, capture_output=True, text=True).returncode


def echoes(c: Counter, group: str) -> int:
    return c.snapshot().get(group, {}).get("echo", 0)


def leaves_by(router, c1, c2, group) -> tuple[int, int]:
    b1, b2 = echoes(c1, group), echoes(c2, group)
    ping(router, group)
    time.sleep(0.2)
    return echoes(c1, group) - b1, echoes(c2, group) - b2


def main() -> int:
    with Lab("rt-amb") as lab:
        router = lab.netns("router")
        net1 = lab.netns("net1")
        net2 = lab.netns("net2")
        lab.veth(router, "first", net1, "n1")
        lab.veth(router, "second", net2, "n2")
        lab.addr(router, "first", "2001:db8:a::1/64")
        lab.addr(router, "second", "2001:db8:b::1/64")
        lab.addr(router, "first", "10.0.1.1/24")
        lab.addr(router, "second", "10.0.2.1/24")
        # Make sure `first` heads the list, as it would after a reboot that
        # brought it up first.
        if local_ff00(router)[:1] != ["first"]:
            router.run("ip", "link", "set", "second", "down")
            router.run("ip", "link", "set", "second", "up")
            wait_until(lambda: local_ff00(router) == ["first", "second"], 10, "ff00::/8 routes for both")
        log(f"local table ff00::/8 routes, in order: {local_ff00(router)}")
        c1, c2 = Counter(net1, "n1"), Counter(net2, "n2")

        # The problem.
        on1, on2 = leaves_by(router, c1, c2, GROUP6)
        log(f"without joincastd: ping {GROUP6} left by first {on1}x, by second {on2}x")
        assert on1 == 3 and on2 == 0, (on1, on2)
        rc = ping(router, GROUP4)
        log(f"without joincastd: ping {GROUP4} exits {rc} (no route)")
        assert rc == 2, rc
        assert echoes(c1, GROUP4) == 0 and echoes(c2, GROUP4) == 0

        # The fix.
        d = start_daemon(lab, router, CONFIG)
        try:
            check_fix(lab, router, d, c1, c2)
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
    return 0


def check_fix(lab, router, d, c1, c2) -> None:
    wait_until(lambda: len(our_routes(router)) == 2, 10, "joincastd's group block routes")
    log("joincastd installed:\n  " + "\n  ".join(our_routes(router)))
    assert "multicast ff3e:40:2001:db8:b:0:8000:0/97 dev second metric 256 pref medium" in our_routes(router), \
        our_routes(router)
    on1, on2 = leaves_by(router, c1, c2, GROUP6)
    log(f"with joincastd: ping {GROUP6} left by first {on1}x, by second {on2}x")
    assert (on1, on2) == (0, 3), (on1, on2)
    on1, on2 = leaves_by(router, c1, c2, GROUP4)
    log(f"with joincastd: ping {GROUP4} left by first {on1}x, by second {on2}x")
    assert (on1, on2) == (0, 3), (on1, on2)

    # Bounce both interfaces: the kernel drops routes through a device
    # that goes down (ours included) and reorders ff00::/8. IPv6
    # addresses go with the link (keep_addr_on_down=0); the network
    # manager adds them back, so does the test. The derived block waits
    # for its prefix meanwhile.
    for ifname, net in (("second", "b"), ("first", "a")):
        router.run("ip", "link", "set", ifname, "down")
        time.sleep(0.2)
        router.run("ip", "link", "set", ifname, "up")
        time.sleep(0.2)
        router.run("ip", "addr", "replace", f"2001:db8:{net}::1/64", "dev", ifname, "nodad")
    wait_until(lambda: len(our_routes(router)) == 2, 10, "the group block routes back after the bounce")
    log(f"after bouncing: ff00::/8 order {local_ff00(router)}")
    assert leaves_by(router, c1, c2, GROUP6) == (0, 3)
    assert leaves_by(router, c1, c2, GROUP4) == (0, 3)

    # A restart removes them and puts them back.
    d.stop()
    assert our_routes(router) == [], our_routes(router)
    d.start()
    wait_until(lambda: len(our_routes(router)) == 2, 10, "the group block routes after a restart")
    assert leaves_by(router, c1, c2, GROUP6) == (0, 3)
    routes = d.cli("routes")
    block = [b for b in routes["group_blocks"] if b["name"] == "streams"][0]
    assert block["prefix"] == "2001:db8:b::/64" and block["routed"], block
    log("plain pings leave by the configured interface, before and after bounces and restarts")


if __name__ == "__main__":
    sys.exit(main())
