#!/usr/bin/env python3
"""test_e2e_dvb.py — DVB services started by joins, through dvblast.

No tuner: ffmpeg sends a two-service MPEG-TS (service ids 4097, 4098) over
UDP to the [dvb] udp_input that stands in for an adapter. joincastd's
channel table has the carrier; `joincast map` gives each service's group.

  * l1 joins service 4097's group: dvblast is started, the session runs
    (directory dvb), l2's wire sees RTP with payload type 33 from dvblast
    and joincast's SAP describing it (MP2T); ffprobe plays it.
  * l2 joins 4098: the same dvblast (one carrier, two outputs).
  * 4097's listener leaves: after the grace period its SAP deletion goes
    out and its RTP stops, 4098 plays on; the last leave stops dvblast.
  * A join that leaves at once, before dvblast has even started: the
    session stops at the end of the grace period and the service is
    removed when dvblast is ready — no dvblast, no RTP left behind.
"""

import subprocess
import sys
import time
from pathlib import Path

from e2e_lab import (Headend, Lab, WireCounter, config, ffprobe, log, rtp_growing, rtp_silent, sessions,
                     wait_state, wait_until)
from lab import require_tools

TUNING = "dvblast -f 11426500 -v 18 -5 DVBS -s 27500000 -F 23"


def dvblast_pids(runtime: Path) -> set[int]:
    """dvblast processes started for this lab (their files are in runtime)."""
    pids = set()
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if (p / "comm").read_text().strip() == "dvblast" and \
                        str(runtime).encode() in (p / "cmdline").read_bytes():
                    pids.add(int(p.name))
            except OSError:
                pass
    return pids


def main() -> int:
    if not require_tools("dvblast", "dvblastctl", "ffmpeg"):
        return 1
    with Lab("e2e-dvb") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        r.spawn("ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
                "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
                "-map", "0:a", "-map", "1:a", "-c:a", "mp2", "-b:a", "192k",
                "-program", "program_num=4097:title=One:st=0",
                "-program", "program_num=4098:title=Two:st=1",
                "-f", "mpegts", "udp://127.0.0.1:1234?pkt_size=1316",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        runtime = lab.tmp / "dvb"
        # dvblast, slow to start once the marker exists (a tuner taking its
        # time to lock).
        slow = lab.tmp / "slow-tuner"
        wrapper = lab.tmp / "dvblast-wrapper"
        wrapper.write_text(f'#!/bin/sh\n[ -e "{slow}" ] && sleep 2\nexec dvblast "$@"\n')
        wrapper.chmod(0o755)
        extra = f"""
[dvb]
udp_inputs = ["127.0.0.1:1234/udp"]
runtime_dir = "{runtime}"
dvblast = "{wrapper}"

[[dvb.carrier]]
name = "Test carrier"
dvblast = "{TUNING}"
services = [ {{ id = 4097, name = "One" }}, {{ id = 4098, name = "Two" }} ]
"""
        d = h.daemon(config(h.pins, ["br0"], grace="1s", extra=extra)).start()
        c2 = WireCounter(l2)
        one = d.cli("map", "dvb:11426500:h:4097")["group"]
        two = d.cli("map", "dvb:11426500:h:4098")["group"]
        log(f"service 4097 is {one}, 4098 is {two}")

        def tuned():
            return d.cli("directories", "--summary")["dvb"]["tuned"]

        log("l1 joins 4097: dvblast starts")
        m1 = lab.join(l1, one, "eth0")
        s = wait_state(d, one, "running", timeout=15)
        assert s["directory"] == "dvb" and s["service"] == "One", s
        rtp_growing(c2, one, what="dvblast's RTP for 4097")
        g = c2.group(one)
        assert {x["pt"] for x in g["ssrcs"].values()} == {33}, g["ssrcs"]
        sap = [x for x in g["sap"] if not x["delete"]]
        assert sap and "a=rtpmap:33 MP2T/90000" in sap[-1]["sdp"] and "s=One" in sap[-1]["sdp"], sap[-1:]
        t = tuned()
        assert len(t) == 1 and len(t[0]["outputs"]) == 1, t
        pid = t[0]["pid"]
        found, took, _ = ffprobe(l2, one)
        log(f"ffprobe sap://[{one}]: {sorted(found)} in {took:.2f}s")
        assert "mp2" in found, found

        log("l2 joins 4098: the same dvblast")
        m2 = lab.join(l2, two, "eth0")
        wait_state(d, two, "running", timeout=15)
        rtp_growing(c2, two)
        t = tuned()
        assert len(t) == 1 and t[0]["pid"] == pid and len(t[0]["outputs"]) == 2, t

        log("4097's listener leaves: it stops, 4098 plays on")
        m1.leave()
        wait_state(d, one, None, timeout=6)
        wait_until(lambda: any(x["delete"] for x in c2.group(one)["sap"]), 3, "4097's SAP deletion")
        time.sleep(0.5)
        rtp_silent(c2, one)
        rtp_growing(c2, two)
        assert len(tuned()[0]["outputs"]) == 1

        log("the last leave stops dvblast")
        m2.leave()
        wait_state(d, two, None, timeout=6)
        wait_until(lambda: tuned() == [], 5, "dvblast to be gone from joincast's view")
        wait_until(lambda: not dvblast_pids(runtime), 5, "dvblast to exit")
        rtp_silent(c2)

        log("a join that leaves before dvblast has started (it takes 2 s now)")
        slow.touch()
        m1 = lab.join(l1, one, "eth0")
        wait_state(d, one, "starting", timeout=5)
        m1.leave()
        wait_state(d, one, None, timeout=6)
        time.sleep(3)  # dvblast is ready by now
        assert tuned() == [], f"dvblast left running a service nobody listens to: {tuned()}"
        assert not dvblast_pids(runtime), "a dvblast process was left behind"
        rtp_silent(c2)
        assert sessions(d) == {} and d.stop() == 0, d.log()
    log("DVB test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
