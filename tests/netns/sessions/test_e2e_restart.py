#!/usr/bin/env python3
"""test_e2e_restart.py — restarting joincastd while it streams.

l1 listens to the MP3 tone, l2 to the AAC tone. joincastd is stopped
(SIGTERM: no SAP deletion and no BYE — the streams are expected back,
docs/sessions.md "Restart continuity" — then silence on the wire) and
started again: the pinned maps still count both listeners, so the session
manager starts both streams at once, without anyone joining again; the
listeners' wires see RTP again under the same SSRCs (the players' view
across restarts is test_e2e_restart_players). Then it is killed (SIGKILL: nothing is said, the TC
program stays attached) and started again: the same. After both
restarts no listener was forgotten (same hosts in `joincast groups`, even
after the startup queries are answered), and leaving still stops the
streams.
"""

import signal
import sys
import time

from e2e_lab import (TONE_AAC, TONE_MP3, Headend, Lab, WireCounter, config, listeners, log, rtp_growing,
                     rtp_silent, sessions, start, wait_state, wait_until)

GROUPS = (TONE_MP3, TONE_AAC)


def members(d) -> dict[str, set[str]]:
    return {g["group"]: {m["host"] for m in g["members"]} for g in d.cli("groups")["groups"]}


def main() -> int:
    with Lab("e2e-restart") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        c1, c2 = WireCounter(l1), WireCounter(l2)
        d = h.daemon(config(h.pins, ["br0"], grace="1s")).start()
        m1 = lab.join(l1, TONE_MP3, "eth0")
        m2 = lab.join(l2, TONE_AAC, "eth0")
        ssrcs = {}
        for g in GROUPS:
            ssrcs[g] = wait_state(d, g, "running")["media"]["ssrc"]
            rtp_growing(c1, g)
        before = members(d)
        assert {g: len(v) for g, v in before.items()} == {TONE_MP3: 1, TONE_AAC: 1}, before
        log(f"streaming {len(GROUPS)} sessions to {before}")

        for how in (signal.SIGTERM, signal.SIGKILL):
            name = signal.Signals(how).name
            log(f"{name} joincastd")
            deletions = {g: sum(m["delete"] for m in c1.group(g)["sap"]) for g in GROUPS}
            rc = d.stop(sig=how)
            if how == signal.SIGTERM:
                assert rc == 0, d.log()
            rtp_silent(c1, seconds=1.0)
            for g in GROUPS:
                assert sum(m["delete"] for m in c1.group(g)["sap"]) == deletions[g], (g, "SAP deletion on " + name)
            rtp_silent(c2, seconds=0.1)

            log("start it again: the pinned maps still count both listeners")
            t0 = time.monotonic()
            start(d)
            for g in GROUPS:
                s = wait_state(d, g, "running")
                assert s["listener_interfaces"] == ["br0"], s
                assert s["media"]["ssrc"] == ssrcs[g], (g, "a new SSRC after a restart", s["media"]["ssrc"])
                ssrcs[g] = s["media"]["ssrc"]
                rtp_growing(c2, g, what=f"{g} at l2 after the restart")
                assert ssrcs[g] in c2.group(g)["ssrcs"], (ssrcs[g], c2.group(g)["ssrcs"])
            log(f"both streams back {time.monotonic() - t0:.2f}s after the start, nobody joined again")
            assert "2 listeners in 2 groups kept" in d.log(), d.log()
            assert members(d) == before, (members(d), before)

        log("nothing forgotten while the hosts answer the startup queries")
        time.sleep(3)
        assert members(d) == before, (members(d), before)
        for g in GROUPS:
            s = sessions(d)[g]
            assert s["state"] == "running" and s["media"]["ssrc"] == ssrcs[g], s
            x = c1.group(g)["ssrcs"][ssrcs[g]]
            # One jump forward after the kill (the sequence reservation);
            # none after the orderly stop.
            assert x["gaps"] <= 1, (g, x)

        log("leaving still stops the streams")
        m1.leave()
        m2.leave()
        for g in GROUPS:
            wait_until(lambda: listeners(d, g) == 0, 5, f"{g} to have no listener")
            wait_state(d, g, None, timeout=6)
        rtp_silent(c1)
        assert d.stop() == 0, d.log()
    log("restart test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
