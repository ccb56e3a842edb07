#!/usr/bin/env python3
"""test_e2e_sap_join.py — discovery of running streams through the
well-known SAP group (issue 14): a host joining ff0e::2:7ffe (the SAP group
of the streams' global scope) gets every running stream announced there at
once.

The MP3 tone runs (l1 joined it) with `sap_well_known` on and its floor at
1 h, so no periodic announcement can reach the well-known group during the
test: what arrives there is the join's doing.

  * the SAP group starts no session (`joincast sessions` lists only the
    tone);
  * VLC (`cvlc --services-discovery sap`, as nobody), started on l2 while
    the stream runs, lists the stream within 2 s (measured from VLC's start
    to its log line naming the station);
  * l2 joining and leaving the group 20 times a second for 10 s makes
    joincast send no more than 4000 bit/s there (SAP bytes counted on the
    wire in every 5 s window, one packet of slack), and it keeps announcing.
"""

import subprocess
import sys
import threading
import time

from e2e_lab import TONE_MP3, Headend, Lab, WireCounter, config, log, sessions, wait_state, wait_until
from lab import record

SAP6 = "ff0e::2:7ffe"
SESSIONS = """
[sessions]
interface = "br0"
grace = "2s"
sap_interval = "1s"
sap_well_known = true
sap_well_known_floor = "1h"
"""


# Joins and leaves a group on one socket, every 25 ms, for argv[3] seconds.
TOGGLE = r"""
import socket, struct, sys, time
group, ifname, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(ifname))
end = time.monotonic() + seconds
while time.monotonic() < end:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    time.sleep(0.025)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_LEAVE_GROUP, mreq)
    time.sleep(0.025)
"""


def well_known(counter: WireCounter) -> list[dict]:
    return [m for m in counter.group(SAP6)["sap"] if not m["delete"]]


def main() -> int:
    with Lab("e2e-sap-join") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        wire = WireCounter(l2)
        d = h.daemon(config(h.pins, ["br0"], sessions=SESSIONS)).start()
        m1 = lab.join(l1, TONE_MP3, "eth0")
        wait_state(d, TONE_MP3, "running")
        time.sleep(2)  # the stream's first announcements (own group, well-known) are over
        sent = len(well_known(wire))

        log("VLC starts on l2 and joins the SAP groups")
        t0 = time.monotonic()
        vlc = l2.spawn("env", "HOME=/tmp", "runuser", "-u", "nobody", "--", "timeout", "-s", "KILL", "6", "cvlc", "-I", "dummy", "--no-audio",
                       "--services-discovery", "sap", "-vv", stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        found = {}
        lines: list[str] = []

        def read():
            for raw in vlc.stdout:
                line = raw.rstrip()
                lines.append(line)
                if "Test tone" in line and "t" not in found:
                    found["t"] = time.monotonic()
                    found["line"] = line
        threading.Thread(target=read, daemon=True).start()
        try:
            wait_until(lambda: "t" in found, 10, "VLC to list the stream", interval=0.05)
        except AssertionError:
            raise AssertionError("VLC did not list the stream:\n" + "\n".join(lines[-40:]))
        finally:
            vlc.wait(timeout=15)  # runuser's child outlives a kill of runuser: timeout ends VLC
        took = found["t"] - t0
        log(f"VLC lists the stream {took * 1000:.0f} ms after its start: {found['line'][:160]}")
        first = well_known(wire)[sent:]
        assert first, "no announcement on the well-known group"
        record("vlc_start_to_well_known_sap_ms", (first[0]["t"] - t0) * 1000)
        record("vlc_start_to_listed_ms", took * 1000)
        assert took < 2.0, f"VLC took {took:.2f}s"
        assert set(sessions(d)) == {TONE_MP3}, ("the SAP group started a session", list(sessions(d)))

        log("l2 joins and leaves the SAP group 20 times a second for 10 s")
        before = len(wire.group(SAP6)["sap"])
        t_start = time.monotonic()
        l2.run(sys.executable, "-c", TOGGLE, SAP6, "eth0", "10")
        time.sleep(1)
        msgs = [m for m in wire.group(SAP6)["sap"][before:] if m["t"] >= t_start]
        assert len(msgs) >= 3, ("joins announced nothing", len(msgs),
                                [x for x in d.log().splitlines() if "7ffe" in x][-30:])
        size = max(len(m["sdp"].encode()) + 36 for m in msgs)  # header 4, IPv6 origin 16, type 16
        worst = 0
        for i, m in enumerate(msgs):
            window = sum(len(x["sdp"].encode()) + 36 for x in msgs[i:] if x["t"] < m["t"] + 5)
            worst = max(worst, window)
        bits = worst * 8
        log(f"{len(msgs)} announcements on {SAP6} in 10 s; worst 5 s window {bits} bit = {bits / 5:.0f} bit/s")
        assert bits <= 4000 * 5 + size * 8, (bits, size)
        assert set(sessions(d)) == {TONE_MP3}, list(sessions(d))
        m1.leave()
        assert d.stop() == 0, d.log()
    log("SAP join test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
