"""live_edge_lab.py — shared pieces of the live-edge tests
(test_e2e_live_edge_*.py): a local HTTP/ICY station server that sends a
burst at connect (as Icecast's burst-on-connect does) and then paces an
MP3 stream at a chosen speed of its own clock, and a receiver that
records, for every RTP packet a listener host gets, its arrival time,
sequence number, timestamp and which MP3 frames it carries.

The MP3 is synthetic but frame-valid (MPEG-1 layer III, 128 kb/s,
44.1 kHz, 417-byte frames, like http_fixture's): every frame carries its
index in the stream (four 7-bit bytes after the header, so no false
sync), so the receiver knows which byte offset of the source each packet
holds, and the server's schedule says when the source produced it:

    frame i (i >= burst) is written at t0 + (i - burst) * T / speed
    frames 0 .. burst-1 are written at t0 (a backlog: produced earlier,
    at t0 - (burst - i) * T / speed)

with T = 1152 / 44100 s. A packet's lag is its arrival time minus the
production time of its first frame: how far behind the live edge the
listener hears. Times are time.monotonic(), one clock in every namespace.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from media_lab import LineReader  # noqa: E402

FRAME = 417
FRAME_S = 1152 / 44100
RTP_CLOCK = 90000  # RFC 3551: MPEG audio (PT 14) uses 90 kHz
# EngineOptions::lead and ::live_slack (media/engine/media_engine.hpp):
# the daemon has no keys for them. docs/media.md states the bound.
LEAD_S = 0.4
SLACK_S = 0.5

# Runs in the router's namespace: serves every request with the stream;
# prints the port, then one JSON line per connection (its t0) and, every
# second, how late its writes ran against its schedule (a client that
# does not read makes them late: TCP pushes back).
SERVER = r"""
import json, socket, sys, threading, time
burst_bytes, speed = int(sys.argv[1]), float(sys.argv[2])
FRAME, T = 417, 1152 / 44100
PAYLOAD = bytes((k * 7) % 251 for k in range(FRAME - 8))
def frame(i):
    return b"\xff\xfb\x90\x64" + bytes(((i >> s) & 0x7f) for s in (21, 14, 7, 0)) + PAYLOAD
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
print(srv.getsockname()[1], flush=True)
lock = threading.Lock()
def say(**kw):
    with lock:
        print(json.dumps(kw), flush=True)
def serve(c, n):
    req = b""
    while b"\r\n\r\n" not in req:
        d = c.recv(4096)
        if not d:
            return
        req += d
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: audio/mpeg\r\nicy-name: Lab drift\r\nicy-br: 128\r\n\r\n")
    nb = burst_bytes // FRAME
    t0 = time.monotonic()
    try:
        c.sendall(b"".join(frame(i) for i in range(nb)))
        say(connection=n, t0=t0, burst_frames=nb)
        i, late, report = nb, 0.0, t0 + 1
        while True:
            now = time.monotonic()
            due = nb + int((now - t0) * speed / T) + 1
            if due > i:
                c.sendall(b"".join(frame(k) for k in range(i, due)))
                late = max(late, time.monotonic() - (t0 + (due - 1 - nb) * T / speed))
                i = due
            if now >= report:
                say(connection=n, late=late, frames=i)
                report += 1
            time.sleep(0.01)
    except OSError as e:
        say(connection=n, closed=str(e))
n = 0
while True:
    c, _ = srv.accept()
    n += 1
    threading.Thread(target=serve, args=(c, n), daemon=True).start()
"""

# Runs in a listener's namespace: joins the group on eth0 (that join is
# the listener joincastd sees) and records every RTP packet; "dump" prints
# them as one JSON line: [arrival, seq, ts, pt, [frame index, ...]].
RECEIVER = r"""
import json, select, socket, struct, sys, time
group, ifname = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind((group, 5004))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
             socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(ifname)))
print("ready", flush=True)
out = []
while True:
    r, _, _ = select.select([s, sys.stdin], [], [])
    if s in r:
        p = s.recv(65536)
        t = time.monotonic()
        if len(p) < 16 or p[0] >> 6 != 2:
            continue
        seq, ts = struct.unpack("!HI", p[2:8])
        off = 12 + 4 * (p[0] & 0x0f)
        if p[0] & 0x10:
            off += 4 + 4 * struct.unpack("!H", p[off + 2:off + 4])[0]
        body = p[off + 4:]  # RFC 2250 §3.5: MBZ, fragment offset
        frames = []
        for k in range(0, len(body) - 7, 417):
            if body[k:k + 4] != b"\xff\xfb\x90\x64":
                frames.append(-1)
                break
            b = body[k + 4:k + 8]
            frames.append(b[0] << 21 | b[1] << 14 | b[2] << 7 | b[3])
        out.append([t, seq, ts, p[1] & 0x7f, frames])
    if sys.stdin in r:
        line = sys.stdin.readline()
        print(json.dumps(out), flush=True)
        if line.strip() != "dump":
            break
"""


class Station:
    """The station server, in a namespace (its loopback)."""

    def __init__(self, ns, burst: int, speed: float):
        self.speed = speed
        self.proc = ns.spawn(sys.executable, "-u", "-c", SERVER, str(burst), str(speed), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        self.reader = LineReader(self.proc.stdout)
        line = self.reader.line(10)
        if not line:
            raise AssertionError(f"the station server did not start: {self.proc.stderr.read()}")
        self.url = f"http://127.0.0.1:{int(line)}/live.mp3"
        self.events: list[dict] = []

    def poll(self) -> list[dict]:
        while (line := self.reader.line(0.05)):
            self.events.append(json.loads(line))
        return self.events

    def connections(self) -> list[dict]:
        return [e for e in self.poll() if "t0" in e]

    def max_late(self) -> float:
        return max((e["late"] for e in self.poll() if "late" in e), default=0.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class Receiver:
    def __init__(self, ns, group: str):
        self.proc = ns.spawn(sys.executable, "-u", "-c", RECEIVER, group, "eth0", stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"the receiver did not join {group}: {line!r} {self.proc.stderr.read()}")

    def packets(self) -> list:
        if self.proc.poll() is not None:
            raise AssertionError(f"the receiver exited: {self.proc.stderr.read()}")
        self.proc.stdin.write("dump\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> None:
        # Killed, not told: told, it would print what it recorded into a
        # pipe nobody reads.
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


def analyse(packets: list, t0: float, burst_frames: int, speed: float) -> dict:
    """What the wire says: per packet (arrival - start, lag of its first
    frame), the frames missing between packets (dropped: not sent), the
    frames skipped before the first packet, and every break in sequence
    numbers or in timestamps that the frames carried do not account for."""
    assert packets, "no RTP packet arrived"
    bad = [p for p in packets if p[3] != 14 or not p[4] or -1 in p[4]]
    assert not bad, f"{len(bad)} packets are not MPEG audio with this stream's frames: {bad[:3]}"
    start = packets[0][0]
    lags = []
    missing = 0
    gaps = []  # (arrival - start, frames missing before this packet)
    breaks = []
    per_frame = FRAME_S * RTP_CLOCK
    for k, (t, seq, ts, _pt, frames) in enumerate(packets):
        produced = t0 + (frames[0] - burst_frames) * FRAME_S / speed
        lags.append((t - start, t - produced))
        inside = sum(b - a - 1 for a, b in zip(frames, frames[1:]))  # frames dropped between two of one packet
        if inside < 0 or any(b <= a for a, b in zip(frames, frames[1:])):
            breaks.append(f"frames out of order in seq {seq}: {frames}")
        if k == 0:
            missing += inside
            if inside:
                gaps.append((0.0, inside))
            continue
        pt, pseq, pts, _, pframes = packets[k - 1]
        expected = pframes[-1] + 1
        gap = frames[0] - expected
        if gap < 0:
            breaks.append(f"frame {frames[0]} after {pframes[-1]}: backwards")
        missing += max(gap, 0) + inside
        if gap > 0 or inside > 0:
            gaps.append((t - start, max(gap, 0) + inside))
        if seq != (pseq + 1) & 0xffff:
            breaks.append(f"sequence {pseq} -> {seq}")
        dts = (ts - pts) & 0xffffffff
        want = len(pframes) * per_frame
        if abs(dts - want) > 2:
            breaks.append(f"timestamp step {dts} after {len(pframes)} frames (want {want:.0f}), seq {seq}")
    return {"lags": lags, "missing": missing, "skipped_at_start": packets[0][4][0], "breaks": breaks, "gaps": gaps,
            "missing_after": lambda s: sum(n for t, n in gaps if t >= s),
            "last_frame": packets[-1][4][-1], "seconds": packets[-1][0] - start}


def max_lag_after(lags: list, after_s: float) -> tuple[float, float]:
    """The largest lag of a packet arriving after_s into the stream, and when."""
    later = [(lag, t) for t, lag in lags if t >= after_s]
    assert later, f"no packet after {after_s}s"
    return max(later)
