#!/usr/bin/env python3
"""test_e2e_join_leave.py — a join starts a stream, the last leave stops it.

Two listener hosts on two ports of the router's bridge (which floods, so
each wire shows everything the router sends) join and leave the test
directory's MP3 tone with real sockets (the kernel sends the MLDv2
reports). A decoder on each listener's wire asserts:

  * no RTP at all before the first join;
  * RTP from one SSRC while anyone listens, through joins and leaves of the
    other listener; a second listener's join brings a SAP announcement at
    once (the periodic interval here is 30 s);
  * after the last leave the stream goes on for the grace period; a
    listener back within it finds the same stream (same SSRC, no SAP
    deletion);
  * after the grace period: a SAP deletion carrying the announcement's
    message id hash and origin, then no RTP;
  * a later join starts the stream again: a new session, the same SSRC
    (derived from the stream, docs/sessions.md "Restart continuity") and
    sequence numbers that go on from where it stopped.

`joincast sessions --json` is checked at each step (running, grace, gone).
"""

import datetime
import sys
import time

from e2e_lab import (TONE_MP3, Headend, Lab, WireCounter, config, listeners, log, rtp_growing, rtp_silent,
                     sessions, wait_state, wait_until)

GRACE = 2.5


def monotonic_of(event: dict) -> float:
    """The event's own time (UTC, ms) on this process's monotonic clock, so
    that how late the test reads the event does not count."""
    wall = datetime.datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return wall - (time.time() - time.monotonic())


def main() -> int:
    with Lab("e2e-joinleave") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        c1, c2 = WireCounter(l1), WireCounter(l2)
        cfg = config(h.pins, ["br0"], grace=f"{int(GRACE * 1000)}ms").replace('sap_interval = "1s"',
                                                                               'sap_interval = "30s"')
        d = h.daemon(cfg).start()
        watch = d.watch(["membership"])

        log("before any join: no session, no RTP on either wire")
        time.sleep(2)
        assert sessions(d) == {}, sessions(d)
        assert c1.total_rtp() == 0 and c2.total_rtp() == 0, (c1.snapshot(), c2.snapshot())

        log("l1 joins: the stream starts")
        t_join = time.monotonic()
        m1 = lab.join(l1, TONE_MP3, "eth0")
        s = wait_state(d, TONE_MP3, "running")
        rtp_growing(c1, TONE_MP3)
        rtp_growing(c2, TONE_MP3)
        log(f"first RTP at l1 {c1.group(TONE_MP3)['rtp_first'] - t_join:.3f}s after starting the joining process")
        assert s["service"] == "Test tone 440 Hz (MP3)" and s["directory"] == "test" and s["number"] == 0, s
        assert s["listener_interfaces"] == ["br0"], s
        assert s["media"]["payload_type"] == 14 and s["media"]["interface"] == "br0", s["media"]
        ssrc = s["media"]["ssrc"]
        g1 = c1.group(TONE_MP3)
        assert list(g1["ssrcs"]) == [ssrc], (g1["ssrcs"], ssrc)
        announcements = [m for m in g1["sap"] if not m["delete"]]
        assert announcements, "no SAP announcement at l1"
        first = announcements[0]
        assert first["origin"] == "2001:db8:1::1" and f"c=IN IP6 {TONE_MP3}" in first["sdp"], first
        assert "s=Test tone 440 Hz (MP3)" in first["sdp"], first["sdp"]

        log("l2 joins: same stream, a SAP announcement at once")
        sap_before = len(c2.group(TONE_MP3)["sap"])
        m2 = lab.join(l2, TONE_MP3, "eth0")
        wait_until(lambda: listeners(d, TONE_MP3) == 2, 5, "two listeners")
        wait_until(lambda: len(c2.group(TONE_MP3)["sap"]) > sap_before, 3,
                   "a SAP announcement for the new listener (the periodic one is 20-40 s away)")
        s = sessions(d)[TONE_MP3]
        assert s["state"] == "running" and s["media"]["ssrc"] == ssrc, s

        log("l1 leaves: the stream goes on for l2")
        m1.leave()
        wait_until(lambda: listeners(d, TONE_MP3) == 1, 5, "one listener")
        rtp_growing(c2, TONE_MP3)
        assert sessions(d)[TONE_MP3]["state"] == "running"

        log("l2 leaves: grace period; l1 comes back within it")
        m2.leave()
        down = watch.wait_for(lambda e: e.get("event") == "group-down" and e["group"] == TONE_MP3, 5, "group-down")
        t_down = time.monotonic()
        s = wait_state(d, TONE_MP3, "grace", timeout=GRACE)
        m1 = lab.join(l1, TONE_MP3, "eth0")
        s = wait_state(d, TONE_MP3, "running", timeout=3)
        assert time.monotonic() - t_down < GRACE + 0.5, "came back too late to test the grace period"
        assert s["media"]["ssrc"] == ssrc, (s["media"]["ssrc"], ssrc)
        time.sleep(max(0.0, t_down + GRACE + 0.5 - time.monotonic()))  # past the cancelled grace period
        s = sessions(d)[TONE_MP3]
        assert s["state"] == "running" and s["media"]["ssrc"] == ssrc, s
        for c in (c1, c2):
            g = c.group(TONE_MP3)
            assert not [m for m in g["sap"] if m["delete"]], f"SAP deletion at {c.ns.short} during grace"
            # One SSRC, no lost sequence number, no silence: it streamed
            # through the grace period.
            assert list(g["ssrcs"]) == [ssrc] and g["ssrcs"][ssrc]["gaps"] == 0, g["ssrcs"]
            assert g["ssrcs"][ssrc]["max_silence"] < 1.0 and g["ssrcs"][ssrc]["last"] > t_down + GRACE, g["ssrcs"]
        log(f"same stream (SSRC {ssrc}, no gap, no deletion) after {down['event']} and a listener back")

        log("the last leave: grace, then a SAP deletion and silence")
        m1.leave()
        down = watch.wait_for(lambda e: e.get("event") == "group-down" and e["group"] == TONE_MP3, 5, "group-down")
        t_down = monotonic_of(down)
        wait_state(d, TONE_MP3, "grace", timeout=GRACE)
        wait_state(d, TONE_MP3, None, timeout=GRACE + 5)
        for c in (c1, c2):
            wait_until(lambda: any(m["delete"] for m in c.group(TONE_MP3)["sap"]), 3,
                       f"the SAP deletion at {c.ns.short}")
        g = c1.group(TONE_MP3)
        deletion = next(m for m in g["sap"] if m["delete"])
        announced = [m for m in g["sap"] if not m["delete"]]
        assert deletion["hash"] == announced[-1]["hash"] and deletion["origin"] == "2001:db8:1::1", (deletion,
                                                                                                  announced[-1])
        assert "o=" in deletion["sdp"], deletion
        took = deletion["t"] - t_down
        log(f"SAP deletion {took:.2f}s after the group went (grace {GRACE}s)")
        assert took >= GRACE - 0.2, f"stopped {took:.2f}s after the last leave, before the {GRACE}s grace period"
        assert g["rtp_last"] <= deletion["t"] + 0.05, "RTP after the SAP deletion"
        rtp_silent(c1)
        rtp_silent(c2, seconds=0.2)
        assert TONE_MP3 not in sessions(d)
        summary = d.cli("status")["sessions"]
        assert summary["started_total"] == 1 and summary["sessions"] == 0, summary

        log("a new join starts the stream again, under the same SSRC")
        gaps = c1.group(TONE_MP3)["ssrcs"][ssrc]["gaps"]
        m2 = lab.join(l2, TONE_MP3, "eth0")
        s = wait_state(d, TONE_MP3, "running")
        rtp_growing(c1, TONE_MP3)
        assert s["media"]["ssrc"] == ssrc and list(c1.group(TONE_MP3)["ssrcs"]) == [ssrc], s
        assert c1.group(TONE_MP3)["ssrcs"][ssrc]["gaps"] == gaps, c1.group(TONE_MP3)["ssrcs"][ssrc]
        m2.leave()
        wait_state(d, TONE_MP3, None, timeout=GRACE + 5)
        assert d.proc.poll() is None
        assert d.stop() == 0, d.log()
    log("join/leave test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
