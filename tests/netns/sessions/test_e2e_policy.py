#!/usr/bin/env python3
"""test_e2e_policy.py — a [[policy]] decides which interfaces may start what.

    l1 ─p1─┐
           br0 (router: streams leave by br0; no policy names br0)
    l2 ─p2─┘
    g1 ──────── guest0 (a guest network: [[policy]] allows only the AAC
                        tone's group, by prefix)

  * A guest's join of the MP3 tone starts nothing: `joincast sessions`
    says `waiting`, names the policy by file and line, and no RTP leaves
    (counted on l1's wire); the refusal is counted in the metrics.
  * A guest's join of the AAC tone (inside the allowed prefix) starts it.
  * A join of the MP3 tone on br0 (no policy) starts it.
  * A reload that allows the guest the test directory lets its waiting
    join start without joining again.
"""

import signal
import sys

from e2e_lab import (TONE_1K, TONE_AAC, TONE_MP3, Headend, Lab, WireCounter, config, log, metric, metrics_text,
                     rtp_growing, rtp_silent, sessions, wait_state, wait_until)

METRICS = "127.0.0.1:9185"
POLICY = f"""
[metrics]
listen = "{METRICS}"

[[policy]]
interfaces = ["guest0"]
allow = ["{TONE_AAC}/128"]
"""


def main() -> int:
    with Lab("e2e-policy") as lab:
        h = Headend(lab)
        r, l1 = h.router, h.listeners["l1"]
        g1 = lab.netns("g1")
        lab.veth(r, "guest0", g1, "eth0")
        lab.addr(r, "guest0", "2001:db8:3::1/64")
        Headend.host(g1, "eth0", 21, "2001:db8:3", "10.0.3")
        c1 = WireCounter(l1)
        d = h.daemon(config(h.pins, ["br0", "guest0"], grace="1s", extra=POLICY)).start()
        line = d.config_path.read_text().splitlines().index("[[policy]]") + 1
        origin = f"{d.config_path}:{line}"

        log("the guest joins the MP3 tone: refused by the policy")
        gm = lab.join(g1, TONE_MP3, "eth0")
        s = wait_state(d, TONE_MP3, "waiting")
        assert s["reason_kind"] == "policy" and s["listener_interfaces"] == ["guest0"], s
        assert f"the policy of guest0 ({origin}) does not allow starting test" in s["reason"], (s["reason"], origin)
        assert "media" not in s, s
        rtp_silent(c1, seconds=1.5)
        human = d.cli("sessions", json_out=False).stdout
        assert "waiting" in human and f"why: the policy of guest0 ({origin})" in human, human
        assert metric(metrics_text(d, METRICS), "joincast_session_errors_total", 'kind="policy"') >= 1
        assert metric(metrics_text(d, METRICS), "joincast_sessions", 'state="waiting"') == 1

        log("the guest joins the AAC tone: allowed by its prefix")
        ga = lab.join(g1, TONE_AAC, "eth0")
        wait_state(d, TONE_AAC, "running")
        rtp_growing(c1, TONE_AAC)
        assert sessions(d)[TONE_MP3]["state"] == "waiting" and c1.rtp(TONE_MP3) == 0

        log("a listener on br0 joins the MP3 tone: no policy there, it starts")
        m1 = lab.join(l1, TONE_MP3, "eth0")
        s = wait_state(d, TONE_MP3, "running")
        assert s["listener_interfaces"] == ["br0", "guest0"], s
        rtp_growing(c1, TONE_MP3)
        m1.leave()
        gm.leave()
        ga.leave()
        wait_state(d, TONE_MP3, None, timeout=6)
        wait_state(d, TONE_AAC, None, timeout=6)

        log("the guest joins the 1 kHz tone: waits; a reload allows the test directory: it starts")
        g2 = lab.join(g1, TONE_1K, "eth0")
        s = wait_state(d, TONE_1K, "waiting")
        assert s["reason_kind"] == "policy", s
        before = d.log().count("reloaded")
        d.config_path.write_text(d.config_path.read_text().replace(f'allow = ["{TONE_AAC}/128"]',
                                                                   'allow = ["directory:test"]'))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log().count("reloaded") > before, 5, "the reload")
        wait_state(d, TONE_1K, "running", timeout=5)
        rtp_growing(c1, TONE_1K)
        g2.leave()
        wait_state(d, TONE_1K, None, timeout=6)
        assert d.proc.poll() is None and d.stop() == 0, d.log()
    log("policy test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
