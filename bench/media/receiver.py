#!/usr/bin/env python3
"""receiver.py — the media benchmark's listener, run inside the sink
namespace. It joins groups on an interface and reports, as one JSON line:

  first GROUP...       prints {"ready": true} once joined, then the
                       CLOCK_MONOTONIC time (ns) of the first RTP packet on
                       each group: {"first": {group: ns}}
  jitter SECONDS GROUP...
                       records (arrival ns, RTP timestamp) of every RTP
                       packet for SECONDS, then per group the deviation of
                       arrival times from the media clock (90 kHz, RTP MPA)
  sap GROUP            prints {"ready": true}, then for every SAP
                       announcement {"hash": h, "ns": t}; ends on stdin EOF

Arrival times are taken in user space right after recv(); joincast and
ffmpeg are measured the same way.
"""

import json
import select
import socket
import statistics
import struct
import sys
import time

IFNAME = "b1"


def join(group: str, port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
    s.bind((group, port))
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(IFNAME))
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    s.setblocking(False)
    return s


def out(doc) -> None:
    print(json.dumps(doc), flush=True)


def first(groups: list[str]) -> None:
    socks = {join(g, 5004): g for g in groups}
    out({"ready": True})
    seen = {}
    deadline = time.monotonic() + 30
    while len(seen) < len(groups) and time.monotonic() < deadline:
        ready, _, _ = select.select(list(socks), [], [], 0.5)
        now = time.monotonic_ns()
        for s in ready:
            try:
                data = s.recv(2048)
            except BlockingIOError:
                continue
            if len(data) >= 12 and data[1] & 0x7f < 72 and socks[s] not in seen:  # RTP, not RTCP
                seen[socks[s]] = now
    out({"first": seen})


def jitter(seconds: float, groups: list[str]) -> None:
    socks = {join(g, 5004): g for g in groups}
    out({"ready": True})
    samples = {g: [] for g in groups}
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        ready, _, _ = select.select(list(socks), [], [], 0.2)
        now = time.monotonic_ns()
        for s in ready:
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                if len(data) >= 12 and data[1] & 0x7f == 14:
                    samples[socks[s]].append((now, struct.unpack("!I", data[4:8])[0]))
    result = {}
    for g, pts in samples.items():
        if len(pts) < 10:
            continue
        t0, ts0 = pts[0]
        # Arrival minus media time, both from the first packet, in ms.
        dev = [((t - t0) / 1e6) - (((ts - ts0) & 0xffffffff) / 90.0) for t, ts in pts]
        mid = statistics.median(dev)
        absdev = sorted(abs(d - mid) for d in dev)
        # RFC 3550 A.8 interarrival jitter (ms).
        j = 0.0
        for a, b in zip(dev, dev[1:]):
            j += (abs(b - a) - j) / 16
        result[g] = {"packets": len(pts), "p50": absdev[len(absdev) // 2],
                     "p99": absdev[min(len(absdev) - 1, int(len(absdev) * 0.99))], "max": absdev[-1],
                     "rfc3550": j}
    out({"jitter": result})


def sap(group: str) -> None:
    s = join(group, 9875)
    out({"ready": True})
    while True:
        ready, _, _ = select.select([s, sys.stdin], [], [], 1)
        if sys.stdin in ready and not sys.stdin.readline():
            return
        if s in ready:
            data = s.recv(65536)
            if len(data) >= 4 and not data[0] & 0x04:  # announcements only
                out({"hash": struct.unpack("!H", data[2:4])[0], "ns": time.monotonic_ns()})


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "first":
        first(sys.argv[2:])
    elif mode == "jitter":
        jitter(float(sys.argv[2]), sys.argv[3:])
    elif mode == "sap":
        sap(sys.argv[2])
    else:
        sys.exit(f"unknown mode {mode}")
