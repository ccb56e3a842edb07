#!/usr/bin/env python3
"""demo.py — joincast's demo, narrated, offline, in a namespace lab that is
removed again at the end (or on Ctrl-C).

    listener c1 ──┐
                  br0 ── router (joincastd) ── up0 ── uplink host
    listener c2 ──┘

It shows live membership: listeners joining and leaving groups with
ordinary sockets (the kernel sends real MLDv2/IGMPv3 reports), the eBPF
program counting them, and joincastd's view of it through the `joincast`
CLI.
"""

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "netns"))
from lab import JOINCAST, Daemon, Lab, wait_until  # noqa: E402

G6 = "ff3e:40:2001:db8:d0be:f00d:8000:0"
G4 = "239.255.0.1"

BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def say(text: str) -> None:
    print(f"\n{BOLD}▶ {text}{RESET}", flush=True)


def show(daemon: Daemon, *args: str) -> None:
    print(f"{DIM}$ joincast {' '.join(args)}{RESET}", flush=True)
    r = daemon.cli(*args, json_out=False)
    print(r.stdout.rstrip(), flush=True)


def count(daemon: Daemon, group: str) -> int:
    for g in daemon.cli("groups")["groups"]:
        if g["group"] == group:
            return g["listeners"]
    return 0


def main() -> int:
    with Lab("demo") as lab:
        say("Building a lab: a router with a bridge (two listener ports) and an uplink")
        router, c1, c2, up = (lab.netns(n) for n in ("router", "c1", "c2", "uplink"))
        lab.veth(router, "p1", c1, "eth0")
        lab.veth(router, "p2", c2, "eth0")
        lab.veth(router, "up0", up, "eth0")
        lab.bridge(router, "br0", ["p1", "p2"])
        lab.addr(router, "br0", "10.0.0.1/24")
        lab.addr(router, "up0", "10.0.1.1/24")
        lab.addr(c1, "eth0", "10.0.0.11/24")
        lab.addr(c2, "eth0", "10.0.0.12/24")
        lab.addr(up, "eth0", "10.0.1.2/24")
        pins = lab.bpffs() / "joincast"

        say("Starting joincastd on the router: eBPF TC program on br0 and up0, querier on")
        d = Daemon(lab, router, f"""
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = ["br0", "up0"]
bpf_pin_root = "{pins}"
[membership.timers]
query_interval = "5s"
query_response_interval = "2s"
last_listener_query_interval = "500ms"
""").start()
        show(d, "status")

        say("Following events live (joincast watch) while listeners come and go")
        watch = lab.spawn(["ip", "netns", "exec", router.name, str(JOINCAST), "--socket", str(d.socket),
                           "watch", "membership"])
        time.sleep(0.5)

        say(f"c1 joins the IPv6 group {G6} (MLDv2)")
        m1 = lab.join(c1, G6, "eth0")
        wait_until(lambda: count(d, G6) == 1, 10, "c1 to be counted")
        say(f"c2 joins the same group, and the IPv4 group {G4} (IGMPv3)")
        m2 = lab.join(c2, G6, "eth0")
        m3 = lab.join(c2, G4, "eth0")
        wait_until(lambda: count(d, G6) == 2 and count(d, G4) == 1, 10, "c2 to be counted")
        time.sleep(0.3)
        show(d, "groups")

        say("The uplink host joins too: listeners are counted per interface and in total")
        m4 = lab.join(up, G6, "eth0")
        wait_until(lambda: count(d, G6) == 3, 10, "the uplink listener")
        time.sleep(0.3)
        show(d, "groups", G6)

        say("The same table straight from the pinned BPF map, with bpftool")
        print(f"{DIM}$ bpftool map dump pinned {pins}/groups{RESET}")
        out = subprocess.run(["bpftool", "map", "dump", "pinned", str(pins / "groups")], capture_output=True,
                             text=True).stdout
        print("\n".join(out.splitlines()[:24]))

        say("Everyone leaves; the groups go down")
        for m in (m1, m2, m3, m4):
            m.leave()
        wait_until(lambda: count(d, G6) == 0 and count(d, G4) == 0, 10, "everyone to leave")
        time.sleep(0.5)
        show(d, "groups")
        watch.terminate()
        d.stop()
        say("Done: the lab is removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
