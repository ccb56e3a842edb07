#!/usr/bin/env python3
"""test_e2e_grace_start.py — the last listener leaves while the station is
still connecting, and comes back within the grace period.

The station (a static directory entry) is an HTTP server in the router's
namespace that answers only after 3 s, then sends an MP3 made by ffmpeg.
l1 joins, leaves while the session is `starting`, and joins again within
the grace period. The session must say `starting` (not `running`: nothing
was sent yet), then go on air when the server answers — counted once in
`started_total`, with an uptime — and l2's wire sees its RTP. A session
whose station answers while it is in its grace period with nobody back
goes on air and still stops when the grace period ends.
"""

import subprocess
import sys
import time

from e2e_lab import (Headend, Lab, WireCounter, config, group6, log, rtp_growing, rtp_silent, sessions, wait_state,
                     wait_until)
from media_lab import make_media

DELAY = 3.0

# Answers each request after DELAY seconds with the file as audio/mpeg.
SLOW_SERVER = r"""
import socket, sys, threading, time
path, delay = sys.argv[1], float(sys.argv[2])
body = open(path, "rb").read()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
def serve(c):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                return
            data += chunk
        print("REQUEST %.3f" % time.monotonic(), flush=True)
        time.sleep(delay)
        c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\n\r\n" + body)
    except OSError:
        pass
    finally:
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def main() -> int:
    with Lab("e2e-gracestart") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        mp3 = make_media(lab, "mp3", 30)
        server = r.spawn(sys.executable, "-u", "-c", SLOW_SERVER, str(mp3), str(DELAY), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        port = int(server.stdout.readline())
        directories = f"""
[[directory]]
name = "slow"
type = "static"
slot = 1
[[directory.station]]
name = "Slow station"
url = "http://127.0.0.1:{port}/live.mp3"
[[directory.station]]
name = "Slow station 2"
url = "http://127.0.0.1:{port}/other.mp3"
"""
        sessions_cfg = """
[sessions]
interface = "br0"
grace = "5s"
start_timeout = "10s"
sap_interval = "1s"
"""
        d = h.daemon(config(h.pins, ["br0"], sessions=sessions_cfg, directories=directories)).start()
        c2 = WireCounter(l2)
        group, group2 = group6(1, 0), group6(1, 1)

        log("l1 joins; the station takes 3 s to answer")
        m1 = lab.join(l1, group, "eth0")
        wait_state(d, group, "starting")
        t_request = float(server.stdout.readline().split()[1])
        log("l1 leaves while it starts, and comes back within the grace period")
        m1.leave()
        wait_state(d, group, "grace", timeout=3)
        m1 = lab.join(l1, group, "eth0")
        s = wait_until(lambda: sessions(d)[group] if sessions(d)[group]["state"] != "grace" else None, 3,
                       "the grace period to end with the listener back")
        assert time.monotonic() < t_request + DELAY, "too slow: the station answered already"
        assert s["state"] == "starting" and "uptime_s" not in s, s
        log(f"back within the grace period: {s['state']}")

        s = wait_state(d, group, "running", timeout=DELAY + 5)
        assert "uptime_s" in s and s["media"]["codec"] == "mp3", s
        rtp_growing(c2, group)
        assert d.cli("status")["sessions"]["started_total"] == 1
        log(f"on air {c2.group(group)['rtp_first'] - t_request:.2f}s after the station was asked")

        log("another station: the last listener leaves while it starts and stays away")
        m2 = lab.join(l1, group2, "eth0")
        wait_state(d, group2, "starting")
        m2.leave()
        t_left = time.monotonic()
        wait_state(d, group2, "grace", timeout=3)
        rtp_growing(c2, group2, timeout=DELAY + 3, what="the second station on air during its grace period")
        assert sessions(d)[group2]["state"] == "grace", sessions(d)[group2]
        wait_state(d, group2, None, timeout=8)
        log(f"stopped {time.monotonic() - t_left:.2f}s after the last leave (grace 5 s)")
        rtp_silent(c2, group2)
        assert any(m["delete"] for m in c2.group(group2)["sap"]), "no SAP deletion"
        assert sessions(d)[group]["state"] == "running"
        m1.leave()
        wait_state(d, group, None, timeout=8)
        assert d.stop() == 0, d.log()
    log("grace-while-starting test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
