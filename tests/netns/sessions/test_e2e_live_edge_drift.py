#!/usr/bin/env python3
"""test_e2e_live_edge_drift.py — a station whose clock runs 1 % fast or
1 % slow against ours stays within lead + 500 ms of its live edge.

Two local HTTP/ICY station servers (live_edge_lab.py) on the router's
loopback, each with Icecast's default 64 kB burst at connect, pace the
same synthetic MP3 stream: one 1 % fast, one 1 % slow. A listener host
joins both stations' groups; a receiver per group records every RTP
packet with the source frames it carries. Both run at once for RUN_S
(2 minutes, for CI time; the 10-minute figure of issue 14 is for the
bench: run with LIVE_EDGE_RUN_S=600). Asserted from what the receivers
saw:
  - after the first 5 s, every packet arrives at most lead + 500 ms after
    the server produced its first frame;
  - the fast station lost frames after the start (about 1 % of them),
    the slow one none: the pacing waits for it instead;
  - sequence numbers run on without a gap and RTP timestamps step by
    exactly the frames the previous packet carried: the only breaks are
    frames that were never sent, and `joincast sessions` counts each of
    them in frames_dropped;
  - joincastd never reconnected (the servers saw one connection each)
    and the servers' writes never ran late: never a slow client.

    l1 ──eth0──p1── br0 (router: joincastd; station servers on lo)
"""

import os
import sys
import time

from e2e_lab import Headend, Lab, config, group6, log, sessions, start, wait_state, with_static_directory
from live_edge_lab import FRAME_S, LEAD_S, SLACK_S, Receiver, Station, analyse, max_lag_after

BURST = 64 * 1024
RUN_S = float(os.environ.get("LIVE_EDGE_RUN_S", "120"))
SETTLE_S = 5.0


def main() -> int:
    with Lab("lv-drift") as lab:
        h = Headend(lab, listeners=("l1",))
        stations = {"fast": Station(h.router, BURST, 1.01), "slow": Station(h.router, BURST, 0.99)}
        receivers = {}
        try:
            directories = with_static_directory({n: s.url for n, s in stations.items()}, name="lab")
            d = start(h.daemon(config(h.pins, ["br0"], grace="1s", directories=directories)))
            numbers = {s["name"]: s["number"] for x in d.cli("directories")["directories"] if x["name"] == "lab"
                       for s in x["stations"]}
            groups = {n: group6(1, numbers[n]) for n in stations}
            for n, g in groups.items():
                receivers[n] = Receiver(h.listeners["l1"], g)
            for g in groups.values():
                wait_state(d, g, "running", timeout=10)
            log(f"both stations on air; running {RUN_S:.0f} s")
            t_end = time.monotonic() + RUN_S
            while time.monotonic() < t_end:
                time.sleep(min(10.0, max(0.0, t_end - time.monotonic())))
                s = sessions(d)
                log("  " + ", ".join(f"{n}: lag {s[g]['media'].get('live_lag_ms') or 0:.0f} ms, "
                                     f"{s[g]['media'].get('frames_dropped')} dropped" for n, g in groups.items()))
            results = {}
            for n, g in groups.items():
                packets = receivers[n].packets()
                stats = sessions(d)[g]["media"]
                conns = stations[n].connections()
                assert len(conns) == 1, f"{n}: joincastd connected {len(conns)} times: {conns}"
                a = analyse(packets, conns[0]["t0"], conns[0]["burst_frames"], stations[n].speed)
                worst, when = max_lag_after(a["lags"], SETTLE_S)
                late = stations[n].max_late()
                after_start = a["missing_after"](2.0)
                results[n] = (a, stats, worst)
                log(f"{n}: {len(packets)} packets over {a['seconds']:.0f} s; worst lag after {SETTLE_S:.0f} s "
                    f"{worst:.3f} s (at {when:.1f} s), last {a['lags'][-1][1]:.3f} s; frames dropped: "
                    f"{a['skipped_at_start']} before the first packet, {a['missing'] - after_start} in the first 2 s, "
                    f"{after_start} later; stats frames_dropped {stats['frames_dropped']}; server writes late by "
                    f"at most {late:.3f} s")
                assert worst <= LEAD_S + SLACK_S, \
                    f"{n}: {worst:.3f} s behind the live edge {when:.1f} s in (bound {LEAD_S + SLACK_S} s)"
                assert not a["breaks"], f"{n}: {a['breaks']}"
                # Every frame missing on the wire was dropped and counted; the
                # count may be ahead by what is demuxed but not yet sent
                # (lead + backlog: under a second, at most one drift drop).
                wire = a["skipped_at_start"] + a["missing"]
                assert wire <= stats["frames_dropped"] <= wire + 1, (n, wire, stats["frames_dropped"])
                assert late < 1.0, f"{n}: the server's writes ran {late:.2f} s late: joincast read too slowly"
                if n == "fast":
                    # The surplus is 1 % of the run. Drops begin once the lag
                    # has grown from the lead to lead + slack / 2 (25 s at 1 %),
                    # then follow the surplus; never more than it.
                    most = a["seconds"] * 0.01 / FRAME_S + 2
                    least = 0.8 * (a["seconds"] - 2.0 - SLACK_S / 2 / 0.01 - 5.0) * 0.01 / FRAME_S
                    assert after_start > 0, "the fast station lost no frame: its surplus became delay"
                    assert least <= after_start <= most, (after_start, least, most)
                else:
                    assert after_start == 0, f"{after_start} frames of the slow station dropped after the start"
        finally:
            for r in receivers.values():
                r.stop()
            for s in stations.values():
                s.stop()
    log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
