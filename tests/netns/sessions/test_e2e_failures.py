#!/usr/bin/env python3
"""test_e2e_failures.py — unknown groups and dead stations: a clear reason,
retries with backoff, the daemon stays up, other streams unaffected.

l1 listens to the test directory's MP3 tone from the start; l2's wire
records that stream's sequence numbers throughout. Then l1 also joins:

  * groups that resolve to nothing — a station the test directory does
    not have, a slot with no directory, a group outside the address plan
    (IPv6 and IPv4): each session is `waiting` with a reason naming the
    group and what is missing;
  * two stations of a static directory that are dead: one on a closed port
    (connection refused), one whose server answers 500. Each is
    `retrying`, with the URL and the failure in its reason, and is retried
    with growing delays (the 500 server logs when it is asked);

while the MP3 tone plays on without a single lost sequence number or a
second SSRC. Leaving the dead groups ends their retries. The metrics
count the failures by kind.
"""

import subprocess
import sys
import threading
import time

from e2e_lab import (TONE_MP3, Headend, Lab, WireCounter, config, group6, log, metric, metrics_text, rtp_growing,
                     rtp_silent, sessions, wait_state, wait_until)

METRICS = "127.0.0.1:9185"

# Answers every request with 500 and prints the time of each.
SERVER_500 = r"""
import socket, sys, threading, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    try:
        c.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                break
            data += chunk
        print("HIT %.3f %s" % (time.monotonic(), data.split(b" ")[1].decode(errors="replace")), flush=True)
        body = b"internal error"
        c.sendall(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
                  b"Connection: close\r\n\r\n%s" % (len(body), body))
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def main() -> int:
    with Lab("e2e-failures") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        server = r.spawn(sys.executable, "-u", "-c", SERVER_500, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        port = int(server.stdout.readline())
        hits: list[float] = []

        def collect():
            for line in server.stdout:
                if line.startswith("HIT "):
                    hits.append(float(line.split()[1]))
        threading.Thread(target=collect, daemon=True).start()

        def read_hits():
            return list(hits)

        directories = f"""
[[directory]]
name = "test"
type = "test"
slot = 0

[[directory]]
name = "dead"
type = "static"
slot = 1
[[directory.station]]
name = "Closed port"
url = "http://127.0.0.1:9/stream"
[[directory.station]]
name = "Server error"
url = "http://127.0.0.1:{port}/stream.mp3"
"""
        extra = f"""
[metrics]
listen = "{METRICS}"

[http]
response_timeout = "2s"
reconnect_initial = "200ms"
reconnect_attempts = 1
"""
        d = h.daemon(config(h.pins, ["br0"], grace="1s", directories=directories, extra=extra)).start()
        c2 = WireCounter(l2)

        log("l1 listens to the MP3 tone")
        good = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c2, TONE_MP3)

        unknown = {
            group6(0, 63): "directory test has no station 63",
            group6(2, 0): "no directory is configured in slot 2",
            "ff3e:40:2001:db8:1:2:8000:0": "",
            "239.1.2.3": "",
        }
        closed, err500 = group6(1, 0), group6(1, 1)
        log("l1 joins four groups that resolve to nothing and two dead stations")
        held = [lab.join(l1, g, "eth0") for g in unknown]
        dead = [lab.join(l1, closed, "eth0"), lab.join(l1, err500, "eth0")]

        for g, why in unknown.items():
            s = wait_state(d, g, "waiting")
            assert s["reason_kind"] == "resolve" and s["reason"].startswith(g + ": "), s
            assert why in s["reason"], (why, s["reason"])
            log(f"{g}: waiting: {s['reason']}")

        def failing(g, n):
            s = sessions(d).get(g)
            return s if s and s.get("failures", 0) >= n and s["state"] in ("retrying", "starting") else None
        s = wait_until(lambda: failing(closed, 2), 10, f"{closed} to fail twice")
        log(f"{closed}: {s['state']} after {s['failures']} failures: {s['reason']}")
        assert s["reason_kind"] == "source" and "127.0.0.1:9" in s["reason"], s
        assert "connecting to 127.0.0.1:9: Connection refused" in s["reason"], s["reason"]
        s = wait_until(lambda: failing(err500, 4), 15, f"{err500} to fail four times")
        log(f"{err500}: {s['state']} after {s['failures']} failures: {s['reason']}")
        assert s["reason_kind"] == "source" and f"127.0.0.1:{port}" in s["reason"] and "HTTP 500" in s["reason"], s

        # Each attempt asks twice: the HTTP source reconnects once
        # (reconnect_attempts = 1) before it gives up.
        times = read_hits()[0::2]
        gaps = [b - a for a, b in zip(times, times[1:])]
        log(f"the 500 server saw {len(times)} attempts, {[round(x, 2) for x in gaps]} s apart")
        assert len(times) >= 4, times
        # retry_initial 500 ms doubling, each wait random in [d/2, d]: the
        # third wait is at least 1 s, the first at most 0.5 s (plus the two
        # requests of an attempt, well under 0.5 s).
        assert gaps[2] > gaps[0] and gaps[2] >= 1.0, gaps

        human = d.cli("sessions", json_out=False).stdout
        assert "retrying" in human and f"127.0.0.1:{port}" in human and "failures" in human, human
        text = metrics_text(d, METRICS)
        assert metric(text, "joincast_session_errors_total", 'kind="resolve"') >= len(unknown), text
        assert metric(text, "joincast_session_errors_total", 'kind="source"') >= 6, text
        assert metric(text, "joincast_sessions", 'state="running"') == 1, text

        log("leaving the dead stations ends their retries")
        for m in dead + held:
            m.leave()
        for g in [closed, err500, *unknown]:
            wait_state(d, g, None, timeout=5)
        before = len(read_hits())
        time.sleep(4.5)  # longer than retry_max
        assert len(read_hits()) == before, "retried after the listeners left"

        log("the MP3 tone played on, untouched")
        g = c2.group(TONE_MP3)
        x = g["ssrcs"][ssrc]
        log(f"{x['packets']} RTP packets, {x['gaps']} sequence gaps, longest silence {x['max_silence']:.3f}s")
        assert list(g["ssrcs"]) == [ssrc] and x["gaps"] == 0, g["ssrcs"]
        assert x["max_silence"] < 1.0, x
        s = sessions(d)[TONE_MP3]
        assert s["state"] == "running" and s["media"]["ssrc"] == ssrc and s["media"]["send_errors"] == 0, s
        only = {k for k, v in c2.snapshot().items() if v["rtp"]}
        assert only == {TONE_MP3}, only
        good.leave()
        wait_state(d, TONE_MP3, None, timeout=5)
        rtp_silent(c2, seconds=1)
        assert d.proc.poll() is None and d.stop() == 0, d.log()
    log("failures test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
