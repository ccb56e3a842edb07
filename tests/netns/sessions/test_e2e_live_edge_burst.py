#!/usr/bin/env python3
"""test_e2e_live_edge_burst.py — a station's connect burst is a fast
start, not a permanent delay.

A local HTTP/ICY station server (live_edge_lab.py) on the router's
loopback sends 64 kB at once when joincastd connects (Icecast's default
burst-size: 4.1 s of 128 kb/s MP3) and then paces the stream in real
time. A listener host joins the station's group; a receiver there
records every RTP packet with the source frames it carries. From 3 s on,
every packet must arrive at most lead + 500 ms after the server produced
its first frame (before the live edge of issue 14: some 4 s, the whole
burst), the first packet within a second of the join, the frames missing
on the wire (all in the first second) must be those `joincast sessions`
counts as dropped (and the Prometheus metric, with the live lag), and
sequence numbers and timestamps run on without a break.

    l1 ──eth0──p1── br0 (router: joincastd; station server on lo)
"""

import sys
import time

from e2e_lab import (Headend, Lab, config, group6, log, metric, metrics_text, sessions, start, wait_state,
                     with_static_directory)
from live_edge_lab import FRAME, FRAME_S, LEAD_S, SLACK_S, Receiver, Station, analyse, max_lag_after

BURST = 64 * 1024
RUN_S = 12


def main() -> int:
    with Lab("lv-burst") as lab:
        h = Headend(lab, listeners=("l1",))
        station = Station(h.router, BURST, 1.0)
        try:
            directories = with_static_directory({"burst": station.url}, name="lab")
            d = start(h.daemon(config(h.pins, ["br0"], grace="1s", directories=directories,
                                      extra='[metrics]\nlisten = "127.0.0.1:9185"\n')))
            number = next(s["number"] for x in d.cli("directories")["directories"] if x["name"] == "lab"
                          for s in x["stations"])
            group = group6(1, number)
            t_join = time.monotonic()
            rx = Receiver(h.listeners["l1"], group)
            wait_state(d, group, "running", timeout=10)
            time.sleep(RUN_S)
            packets = rx.packets()
            stats = sessions(d)[group]["media"]
            text = metrics_text(d, "127.0.0.1:9185")
            conns = station.connections()
            assert len(conns) == 1, f"joincastd connected {len(conns)} times: {conns}"
            a = analyse(packets, conns[0]["t0"], conns[0]["burst_frames"], 1.0)
            worst, when = max_lag_after(a["lags"], 3.0)
            first = packets[0][0] - t_join
            log(f"first RTP {first * 1000:.0f} ms after the join; lag of the first packet {a['lags'][0][1]:.3f} s, "
                f"worst after 3 s {worst:.3f} s (at {when:.1f} s); skipped at the start {a['skipped_at_start']} "
                f"frames, missing later {a['missing']}; stats: frames_dropped {stats.get('frames_dropped')}, "
                f"live_lag_ms {stats.get('live_lag_ms')}")
            assert first < 1.0, f"the first packet came {first:.2f} s after the join: the burst is a fast start"
            assert worst <= LEAD_S + SLACK_S, \
                f"{worst:.3f} s behind the live edge {when:.1f} s into the stream (bound {LEAD_S + SLACK_S} s)"
            assert not a["breaks"], a["breaks"]
            # The burst's excess, in whole frames, all of it counted: before
            # the first packet and, as the rest of the burst arrives, in its
            # first second; none later from a source at our rate.
            late = a["missing_after"](2.0)
            assert late == 0, f"{late} frames missing after the start of a source at our rate"
            dropped = a["skipped_at_start"] + a["missing"]
            assert dropped >= (BURST - LEAD_S / FRAME_S * FRAME) // FRAME - 20, dropped
            assert stats["frames_dropped"] == dropped, (stats["frames_dropped"], dropped)
            # The same count, and the lag, for Prometheus (read just after the stats).
            assert metric(text, "joincast_live_edge_frames_dropped") == dropped, text
            assert 0 < metric(text, "joincast_live_lag_seconds") <= LEAD_S + SLACK_S, text
            rx.stop()
        finally:
            station.stop()
    log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
