#!/usr/bin/env python3
"""test_fault_kill_reload.py — `kill -9` of joincastd in the middle of a
SIGHUP reload, at several moments, and a clean restart each time.

The two configurations differ in their routes (239.1.1.1 to out0, or
239.1.1.2 to out0 and out1) and in a static directory's stations (A, B or
A, B, C). Each round writes the other file, sends SIGHUP and SIGKILLs
joincastd 0 to 100 ms later; then starts it again with that file
in force. After each restart:

  * it starts (no error from stale kernel state), reuses the pinned BPF
    maps, and the TC ingress filter on br0 is there exactly once;
  * the kernel's (S,G) entries and VIFs are exactly the file's routes;
  * the station numbers file parses, A and B keep 0 and 1 and C, once
    seen, keeps 2; `joincast directories` lists the file's stations;
  * l1's MP3 tone (it never leaves) plays again at once, and between two
    kills its stream had no sequence gap.
"""

import json
import signal
import sys
import time

from e2e_lab import (TONE_MP3, Headend, Lab, WireCounter, config, log, restart_jumps_only, rtp_growing, wait_state,
                     wait_until, with_static_directory)

ROUTES = {
    "a": '[routing]\n[[routing.route]]\nfrom = "br0"\nsource = "10.0.0.1"\ngroup = "239.1.1.1"\nto = ["out0"]\n',
    "b": '[routing]\n[[routing.route]]\nfrom = "br0"\nsource = "10.0.0.1"\ngroup = "239.1.1.2"\nto = ["out0", "out1"]\n',
}
EXPECTED = {"a": ["(10.0.0.1,239.1.1.1) Iif: br0 Oifs: out0"], "b": ["(10.0.0.1,239.1.1.2) Iif: br0 Oifs: out0 out1"]}
STATIONS = {"a": "AB", "b": "ABC"}


def directories(names):
    return with_static_directory({n: f"http://127.0.0.1:9/{n}" for n in names})


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("fault-kill") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        r.sysctl("net.ipv4.conf.all.rp_filter", 0)
        r.sysctl("net.ipv4.conf.default.rp_filter", 0)
        for name in ("out0", "out1"):
            r.run("ip", "link", "add", name, "type", "bridge")
            r.run("ip", "link", "set", name, "up")

        def cfg(which):
            return config(h.pins, ["br0"], directories=directories(STATIONS[which]), extra=ROUTES[which])

        d = h.daemon(cfg("a"))
        numbers = d.dir / "state" / "directories" / "local.numbers.json"

        def write(which):
            d.config_path.write_text(cfg(which).replace("@SOCKET@", str(d.socket))
                                     .replace("@STATE@", str(d.dir / "state")))

        def mroutes():
            return sorted(" ".join(x.split()).split(" State")[0] for x in r.run("ip", "-4", "mroute", "show").splitlines())

        def vifs():
            return sorted(x.split()[1] for x in r.run("cat", "/proc/net/ip_mr_vif").splitlines()[1:])

        def check(which, seen_c):
            wait_until(lambda: mroutes() == EXPECTED[which], 10, f"the kernel entries of config {which}")
            want_vifs = ["br0", "out0"] + (["out1"] if which == "b" else [])
            wait_until(lambda: vifs() == sorted(want_vifs), 10, f"the VIFs of config {which}")
            filters = [x for x in r.run("tc", "filter", "show", "dev", "br0", "ingress").splitlines() if " handle " in x]
            assert len(filters) == 1, filters
            j = json.loads(numbers.read_text())
            got = {s["name"]: s["number"] for s in j["stations"]}
            want = {"A": 0, "B": 1, **({"C": 2} if seen_c else {})}
            assert got == want and j["next"] == len(want), (got, j)
            listed = {x["name"]: x for x in d.cli("directories")["directories"]}["local"]
            names = {s["name"]: s["number"] for s in listed["stations"] if s["listed"]}
            assert names == {n: want[n] for n in STATIONS[which]}, names

        d.start()
        c2 = WireCounter(l2)
        good = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c2, TONE_MP3)
        check("a", False)
        ssrcs = [ssrc]
        current, seen_c, restarts, reloads, outcomes = "a", False, 0, 0, []
        for delay in (0.0, 0.0002, 0.0005, 0.001, 0.005, 0.1, 0.0):
            nxt = "b" if current == "a" else "a"
            write(nxt)
            d.proc.send_signal(signal.SIGHUP)
            if delay:
                time.sleep(delay)
            d.proc.send_signal(signal.SIGKILL)
            d.stop()
            finished = d.log().count(" reloaded") > reloads
            reloads = d.log().count(" reloaded")
            outcomes.append(finished)
            seen_c = seen_c or nxt == "b"
            log(f"killed {delay * 1000:.1f} ms after SIGHUP (to config {nxt}), "
                f"{'after' if finished else 'before'} it said reloaded; restarting")
            d.start()
            restarts += 1
            assert d.log().count("eBPF TC program loaded, maps reused from") == restarts, d.log()[-3000:]
            check(nxt, seen_c)
            s = wait_state(d, TONE_MP3, "running")
            rtp_growing(c2, TONE_MP3)
            ssrcs.append(s["media"]["ssrc"])
            current = nxt

        # Some kills must land before the reload finished (the point of the
        # test); later ones after it.
        assert not all(outcomes), outcomes
        g = c2.group(TONE_MP3)
        # The stream keeps its SSRC across the restarts (restart continuity):
        # its only sequence gaps are the restarts' jumps.
        for s in set(ssrcs):
            x = g["ssrcs"][s]
            assert restart_jumps_only(x, len(ssrcs)), (s, x)
        log(f"{len(ssrcs)} runs of the tone, each without a sequence gap")
        good.leave()
        assert d.stop() == 0, d.log()
    log("kill during reload test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
