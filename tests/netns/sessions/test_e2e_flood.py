#!/usr/bin/env python3
"""test_e2e_flood.py — a listener flooding membership reports.

l1 listens to the test directory's MP3 tone. l2 then sends, from a raw
ICMPv6 socket, MLDv2 reports (with the Router Alert hop-by-hop option, as
the kernel's own) joining thousands of random groups of the managed
block, more than the membership maps hold, plus the test directory's four
other stations. With [sessions] max_sessions = 3:

  * joincastd stays up and keeps answering its control socket;
  * at most three sessions run: the MP3 tone and two others; the third
    valid station waits with a reason naming sessions.max_sessions; the
    random groups wait with "no station" reasons;
  * the metrics count the refusals by kind (limit, resolve) and the
    membership counters the joins that did not fit (groups_full: the
    per-host quota is switched off here), and the
    log says why sessions did not start;
  * the MP3 tone plays on without a lost sequence number;
  * when the flood's listeners age out, every session but the MP3 tone's
    is gone.
"""

import random
import sys
import time

from e2e_lab import (MLD_FLOODER, TONE_MP3, PREFIX, Headend, Lab, WireCounter, config, group6, log, metric, metrics_text,
                     rtp_growing, sessions, wait_until)

METRICS = "127.0.0.1:9185"
FLOOD_GROUPS = 6000


def main() -> int:
    with Lab("e2e-flood") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        sessions_cfg = """
[sessions]
interface = "br0"
grace = "1s"
max_sessions = 3
retry_initial = "500ms"
retry_max = "4s"
start_timeout = "5s"
sap_interval = "1s"
"""
        # No per-host quota here: this test is about the tables filling up
        # (test_e2e_quota.py has the quota that prevents it).
        cfg = config(h.pins, ["br0"], sessions=sessions_cfg, extra=f'[metrics]\nlisten = "{METRICS}"\n')
        cfg = cfg.replace("[membership]\n", "[membership]\nmax_groups_per_host = 0\n", 1)
        d = h.daemon(cfg).start()
        c1 = WireCounter(l1)
        m1 = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_until(lambda: sessions(d).get(TONE_MP3, {}).get("media", {}).get("ssrc")
                          if sessions(d).get(TONE_MP3, {}).get("state") == "running" else None, 10, "the MP3 tone")
        rtp_growing(c1, TONE_MP3)

        rng = random.Random(6)
        valid = [group6(0, n) for n in range(1, 5)]
        flood = set()
        while len(flood) < FLOOD_GROUPS:
            flood.add(group6(0, rng.randrange(64, 1 << 28)))
        groups = valid + sorted(flood)
        path = lab.tmp / "flood-groups.txt"
        path.write_text("\n".join(groups))
        log(f"l2 floods reports joining {len(groups)} groups")
        t0 = time.monotonic()
        sent = int(l2.run(sys.executable, "-c", MLD_FLOODER, "eth0", str(path), timeout=60).strip())
        assert sent == len(groups), sent

        log("the daemon answers while it works through them")
        t = time.monotonic()
        status = d.cli("status")
        took = time.monotonic() - t
        log(f"status answered in {took:.2f}s; {status['membership'].get('groups', '?')} groups")
        assert took < 10, f"joincastd took {took:.1f}s to answer during the flood"

        def settled():
            s = sessions(d)
            waiting = [x for x in s.values() if x["state"] == "waiting"]
            return s if len(waiting) >= 3 else None
        s = wait_until(settled, 30, "the flood's groups to be looked at", interval=0.5)
        log(f"{len(s)} session entries {time.monotonic() - t0:.1f}s after the flood")
        running = [g for g, x in s.items() if x["state"] in ("running", "starting", "grace")]
        assert len(running) == 3 and TONE_MP3 in running, running
        limited = [x for x in s.values() if x.get("reason_kind") == "limit"]
        assert limited and all("sessions.max_sessions" in x["reason"] for x in limited), limited[:3]
        assert {x["group"] for x in limited} <= set(valid), limited
        unknown = [x for x in s.values() if x.get("reason_kind") == "resolve"]
        assert unknown and all("directory test has no station" in x["reason"] for x in unknown), unknown[:3]
        log(f"{len(running)} running, {len(limited)} over the limit, {len(unknown)} unknown")

        text = metrics_text(d, METRICS)
        assert metric(text, "joincast_session_errors_total", 'kind="limit"') >= 1, text
        assert metric(text, "joincast_session_errors_total", 'kind="resolve"') >= 1, text
        full = metric(text, "joincast_membership_messages_total", 'kind="groups_full"')
        lost = metric(text, "joincast_membership_messages_total", 'kind="events_lost"')
        log(f"membership: {full:.0f} joins did not fit the groups map, {lost:.0f} events lost")
        assert full > 0, text
        assert "(sessions.max_sessions)" in d.log() and "has no station" in d.log()

        log("the flood ages out (no reports from l2 any more)")
        wait_until(lambda: set(sessions(d)) == {TONE_MP3}, 30, "only the MP3 tone's session left", interval=1)
        assert d.proc.poll() is None, d.log()[-3000:]
        g = c1.group(TONE_MP3)
        x = g["ssrcs"][ssrc]
        log(f"the MP3 tone: {x['packets']} packets, {x['gaps']} gaps, longest silence {x['max_silence']:.3f}s")
        assert list(g["ssrcs"]) == [ssrc] and x["gaps"] == 0, g["ssrcs"]
        assert sessions(d)[TONE_MP3]["state"] == "running"
        m1.leave()
        assert d.stop() == 0, d.log()[-3000:]
    log("flood test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
