#!/usr/bin/env python3
"""test_e2e_hostile_sources.py — stations and directories that attack the
daemon by being slow, endless or huge (issue 17's fault injection).

l2's wire records the test directory's MP3 tone throughout while l1 joins,
one after another, stations of a static directory served by a hostile
server in the router's namespace:

  * one that accepts and never sends a byte;
  * one that sends its response head one byte per second (slowloris);
  * one whose header line never ends (16 MB without a line break);
  * a live MP3 stream with 1 MB of ICY metadata (4080-byte blocks, the
    format's largest, every 8 KiB of audio);
  * a playlist of 100 000 entries whose first plays, and one of 100 000
    entries none of which plays;

and two directories that are too big: a yp.xml of 1 000 000 stations sent
without a length (read until close), and one announcing 200 MB.

Each bad station fails its session with a reason that names the station's
URL and what was wrong (within the configured timeouts, not minutes); the
ICY stream and the long playlist's first entry play; each big directory is
refused with a reason naming max_bytes while the daemon's peak RSS stays
bounded; the MP3 tone plays on without a lost sequence number, and the
daemon never stops.
"""

import subprocess
import sys
import time

from e2e_lab import (TONE_MP3, Headend, Lab, WireCounter, config, group6, log, rtp_growing, sessions, wait_state,
                     wait_until, with_static_directory)

HOSTILE = r"""
import socket, sys, threading, time
audio = open(sys.argv[1], "rb").read()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
port = s.getsockname()[1]

def head(lines):
    return ("\r\n".join(lines) + "\r\n\r\n").encode()

def serve(c):
    try:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = c.recv(4096)
            if not chunk:
                return
            data += chunk
        path = data.split(b" ")[1].decode()
        print("HIT", path, flush=True)
        if path == "/silent":
            time.sleep(120)
        elif path == "/slowloris":
            for b in b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nX-Slow: " + b"a" * 1000:
                c.sendall(bytes([b]))
                time.sleep(1)
        elif path == "/endless-header":
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\nX-Long: ")
            for _ in range(256):
                c.sendall(b"a" * 65536)
        elif path == "/icy-flood":
            c.sendall(head(["HTTP/1.0 200 OK", "Content-Type: audio/mpeg", "icy-metaint: 8192", "icy-name: Flood"]))
            title = ("StreamTitle='" + "x" * 4000 + "';").encode().ljust(4080, b"\0")
            sent = 0
            while True:
                for i in range(0, len(audio) - 8192, 8192):
                    c.sendall(audio[i:i + 8192] + bytes([255]) + title)
                    sent += 4081
        elif path in ("/long-good.m3u", "/long-bad.m3u"):
            first = f"http://127.0.0.1:{port}/live.mp3\n" if path == "/long-good.m3u" else "/missing\n"
            body = (first + "/missing\n" * 99999).encode()
            c.sendall(head(["HTTP/1.1 200 OK", "Content-Type: audio/x-mpegurl", f"Content-Length: {len(body)}",
                            "Connection: close"]) + body)
        elif path == "/live.mp3":
            c.sendall(head(["HTTP/1.0 200 OK", "Content-Type: audio/mpeg"]))
            while True:
                c.sendall(audio)
        elif path == "/million.xml":
            c.sendall(head(["HTTP/1.0 200 OK", "Content-Type: text/xml"]))
            c.sendall(b'<?xml version="1.0" encoding="UTF-8"?>\n<directory>\n')
            entry = ("<entry><server_name>Station {n}</server_name><listen_url>http://127.0.0.1:9/{n}</listen_url>"
                     "<server_type>audio/mpeg</server_type><bitrate>128</bitrate><genre>x</genre></entry>\n")
            for base in range(0, 1000000, 1000):
                c.sendall("".join(entry.format(n=n) for n in range(base, base + 1000)).encode())
            c.sendall(b"</directory>\n")
        elif path == "/announced.xml":
            c.sendall(head(["HTTP/1.1 200 OK", "Content-Type: text/xml", "Content-Length: 200000000"]))
            c.sendall(b'<?xml version="1.0"?><directory>')
            time.sleep(30)
        else:
            c.sendall(head(["HTTP/1.1 404 Not Found", "Content-Length: 0", "Connection: close"]))
    except OSError:
        pass
    finally:
        c.close()

while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""


def peak_rss_kb(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


def main() -> int:
    with Lab("e2e-hostile") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        mp3 = lab.tmp / "live.mp3"
        lab.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                 "sine=frequency=330:duration=20", "-c:a", "libmp3lame", "-b:a", "128k", str(mp3)])
        server = r.spawn(sys.executable, "-u", "-c", HOSTILE, str(mp3), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        stations = {
            "silent": "/silent", "slowloris": "/slowloris", "endless header": "/endless-header",
            "ICY flood": "/icy-flood", "long good playlist": "/long-good.m3u", "long bad playlist": "/long-bad.m3u",
        }
        directories = with_static_directory({name: base + path for name, path in stations.items()}, name="hostile")
        directories += f"""
[[directory]]
name = "million"
type = "icecast"
slot = 2
url = "{base}/million.xml"

[[directory]]
name = "announced"
type = "icecast"
slot = 3
url = "{base}/announced.xml"
"""
        extra = """
[http]
response_timeout = "3s"
stall_timeout = "3s"
reconnect_initial = "200ms"
reconnect_attempts = 1
"""
        d = h.daemon(config(h.pins, ["br0"], grace="1s", directories=directories, extra=extra)).start()
        pid = d.proc.pid
        c2 = WireCounter(l2)
        good = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c2, TONE_MP3)

        def directory(name):
            return next(x for x in d.cli("directories")["directories"] if x["name"] == name)

        log("the two big directories are refused, naming max_bytes")
        for name in ("million", "announced"):
            x = wait_until(lambda: directory(name) if directory(name).get("error") else None, 30,
                           f"directory {name} to fail")
            log(f"{name}: {x['error']}")
            assert "max_bytes" in x["error"] and x["listed"] == 0, x
        rss = peak_rss_kb(pid)
        log(f"joincastd's peak RSS after the big directories: {rss / 1024:.1f} MiB")
        # The documents are 32 MiB at most (max_bytes); the station table
        # never sees them.
        assert rss < 160 * 1024, rss

        numbers = {s["name"]: s["number"] for s in directory("hostile")["stations"]}
        groups = {name: group6(1, numbers[name]) for name in stations}
        members = {name: lab.join(l1, g, "eth0") for name, g in groups.items()}

        def failed(name):
            s = sessions(d).get(groups[name])
            return s if s and s.get("failures", 0) >= 1 and s["state"] in ("retrying", "failed") else None

        expect = {
            "silent": "/silent", "slowloris": "/slowloris", "endless header": "/endless-header",
            "long bad playlist": "/long-bad.m3u",
        }
        t0 = time.monotonic()
        for name, path in expect.items():
            s = wait_until(lambda: failed(name), 30, f"station {name} to fail")
            log(f"{name}: {s['state']} after {time.monotonic() - t0:.1f}s: {s['reason']}")
            assert s["reason_kind"] in ("source", "start-timeout"), s
            assert f"127.0.0.1:{port}" in s["reason"], s["reason"]
        reasons = {name: sessions(d)[groups[name]]["reason"] for name in expect}
        assert "no complete response within 3000 ms" in reasons["silent"], reasons["silent"]
        assert "no complete response within 3000 ms" in reasons["slowloris"], reasons["slowloris"]
        # The head's limit, or the head's timeout when the server (Python,
        # busy with the other streams) is slower than the limit.
        assert ("response head larger than 65536 bytes" in reasons["endless header"]
                or "no complete response within 3000 ms" in reasons["endless header"]), reasons["endless header"]
        assert "playlist" in reasons["long bad playlist"], reasons["long bad playlist"]

        for name in ("ICY flood", "long good playlist"):
            wait_state(d, groups[name], "running", timeout=20)
            rtp_growing(c2, groups[name])
            log(f"{name}: running")

        def now_playing():
            m = sessions(d)[groups["ICY flood"]].get("media", {}).get("metadata", {})
            return m.get("now_playing") or None
        title = wait_until(now_playing, 10, "the ICY flood's title")
        log(f"ICY flood: a title of {len(title)} characters ({title[:12]}…)")
        assert set(title) == {"x"} and len(title) <= 4000, title[:80]
        rss = peak_rss_kb(pid)
        log(f"joincastd's peak RSS with every hostile station: {rss / 1024:.1f} MiB")
        assert rss < 200 * 1024, rss

        for m in members.values():
            m.leave()
        for g in groups.values():
            wait_state(d, g, None, timeout=10)

        log("the MP3 tone played on, untouched")
        g = c2.group(TONE_MP3)
        x = g["ssrcs"][ssrc]
        log(f"{x['packets']} RTP packets, {x['gaps']} sequence gaps, longest silence {x['max_silence']:.3f}s")
        assert list(g["ssrcs"]) == [ssrc] and x["gaps"] == 0, g["ssrcs"]
        assert x["max_silence"] < 1.0, x
        good.leave()
        assert d.proc.poll() is None and d.stop() == 0, d.log()[-3000:]
        server.kill()
    log("hostile sources test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
