"""media_lab.py — shared pieces of the media netns tests.

A two-namespace lab: "head" runs the media engine (tests/drivers/media_driver,
JSON lines on stdin/stdout) and sends on its eth0; "rx" is a listener host
on the other end of the veth running real clients (ffprobe, ffmpeg, tshark,
`joincast listen`). Addresses are documentation prefixes inside the lab:

    head eth0  2001:db8:d0be:f00d::1/64  192.0.2.1/24
    rx   eth0  2001:db8:d0be:f00d::2/64  192.0.2.2/24

The rx namespace has a single interface, so clients that cannot name one
(FFmpeg's sap:// and rtp:// join with interface 0) still use the right one.
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab import BUILD_DIR, JOINCAST, Lab, log, wait_until  # noqa: E402

DRIVER = BUILD_DIR / "tests" / "media_driver"
HEAD_V6 = "2001:db8:d0be:f00d::1"
RX_V6 = "2001:db8:d0be:f00d::2"
HEAD_V4 = "192.0.2.1"
RX_V4 = "192.0.2.2"
# The DESIGN.md example groups: directory 0 station 0, and a DVB service.
GROUP = "ff3e:40:2001:db8:d0be:f00d:8000:0"


def topology(lab: Lab):
    head = lab.netns("head")
    rx = lab.netns("rx")
    lab.veth(head, "eth0", rx, "eth0")
    lab.addr(head, "eth0", HEAD_V6 + "/64")
    lab.addr(rx, "eth0", RX_V6 + "/64")
    lab.addr(head, "eth0", HEAD_V4 + "/24")
    lab.addr(rx, "eth0", RX_V4 + "/24")
    # IPv4 multicast from rx (RTCP receiver reports) needs a route; IPv6 has
    # the per-interface ff00::/8 in the local table already.
    rx.run("ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
    return head, rx


class LineReader:
    """Lines from a pipe with a timeout. select() sees only the pipe, not a
    file object's buffer, so lines are split here from raw reads."""

    def __init__(self, pipe):
        self.fd = pipe.fileno()
        self.buf = b""

    def line(self, timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.fd, 65536)
            if not chunk:
                if self.buf:
                    out, self.buf = self.buf, b""
                    return out.decode()
                return ""
            self.buf += chunk
        out, self.buf = self.buf.split(b"\n", 1)
        return out.decode() + "\n"


class Driver:
    """The media engine in the head namespace."""

    def __init__(self, lab: Lab, ns, *args: str):
        if not DRIVER.exists():
            raise AssertionError(f"{DRIVER} is not built")
        self.stderr_path = lab.tmp / f"driver-{ns.short}.err"
        self._stderr = open(self.stderr_path, "w")
        self.proc = ns.spawn(str(DRIVER), *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr)
        self.reader = LineReader(self.proc.stdout)
        self.events: list[dict] = []

    def _line(self, timeout: float) -> dict:
        line = self.reader.line(timeout)
        if line is None:
            raise AssertionError("media_driver did not answer")
        if not line:
            raise AssertionError(f"media_driver exited ({self.proc.poll()}): {self.stderr_path.read_text()}")
        return json.loads(line)

    def request(self, req: dict, timeout: float = 20) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        while True:
            msg = self._line(timeout)
            if "event" in msg and "ok" not in msg:
                self.events.append(msg)
                continue
            return msg

    def start(self, group: str, source: dict, interface: str = "eth0", **extra) -> int:
        req = {"cmd": "start", "group": group, "interface": interface, "source": source, **extra}
        r = self.request(req)
        if not r.get("ok"):
            raise AssertionError(f"start {group} failed: {r}")
        return r["session"]

    def stats(self, session: int) -> dict:
        r = self.request({"cmd": "stats", "session": session})
        if not r.get("ok"):
            raise AssertionError(f"stats {session}: {r}")
        return r["stats"]

    def wait(self, session: int, event: str, timeout: float = 10) -> dict:
        r = self.request({"cmd": "wait", "session": session, "event": event, "timeout_ms": int(timeout * 1000)},
                         timeout=timeout + 5)
        if not r.get("ok"):
            raise AssertionError(f"session {session}: no {event} event ({r}); stats: {self.stats(session)}")
        return r

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.request({"cmd": "quit"}, timeout=10)
            except AssertionError:
                pass
            self.proc.wait(timeout=10)
        self._stderr.close()


def make_media(lab: Lab, kind: str, seconds: int = 12) -> Path:
    """A test file of each codec, encoded by ffmpeg (not by joincast)."""
    src = ["-f", "lavfi", "-i", f"sine=frequency=523:sample_rate=44100:duration={seconds}", "-ac", "2"]
    out = {
        "mp3": (["-c:a", "libmp3lame", "-b:a", "128k"], "tone.mp3"),
        "aac": (["-c:a", "aac", "-b:a", "128k", "-f", "adts"], "tone.aac"),
        "opus": (["-c:a", "libopus", "-b:a", "96k", "-ar", "48000"], "tone.opus"),
        "vorbis": (["-c:a", "libvorbis", "-q:a", "4"], "tone.ogg"),
        "mpegts": (["-c:a", "mp2", "-b:a", "192k", "-f", "mpegts"], "tone.ts"),
    }[kind]
    path = lab.tmp / f"{seconds}s-{out[1]}"
    if not path.exists():
        lab.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", *src, *out[0], str(path)], timeout=120)
    return path


class Capture:
    """tshark writing a pcap on an interface of a namespace."""

    def __init__(self, lab: Lab, ns, ifname: str, name: str):
        self.path = lab.tmp / f"{name}.pcap"
        self.proc = ns.spawn("tshark", "-q", "-n", "-i", ifname, "-w", str(self.path),
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        # tshark says "Capturing on ..." once it is ready (after a warning
        # about running as root).
        deadline = time.monotonic() + 20
        while True:
            ready, _, _ = select.select([self.proc.stderr], [], [], max(0.0, deadline - time.monotonic()))
            line = self.proc.stderr.readline() if ready else ""
            if "Capturing" in line:
                break
            if not line:
                raise AssertionError("tshark did not start capturing")

    def stop(self) -> Path:
        time.sleep(0.5)  # let the last packets reach the capture
        # SIGINT is tshark's Ctrl-C: dumpcap stops and writes out what it
        # holds; a SIGTERM could leave the last packets unwritten.
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=10)
        return self.path


def tshark_fields(pcap: Path, fields: list[str], display_filter: str = "", decode_as: list[str] | None = None) -> list[list[str]]:
    # RTP and RTCP on joincast's ports whether or not an SDP was captured
    # first (tshark otherwise learns RTP ports from SDP or heuristics).
    cmd = ["tshark", "-n", "-r", str(pcap), "-o", "rtp.heuristic_rtp:TRUE", "-d", "udp.port==5004,rtp",
           "-d", "udp.port==5005,rtcp", "-T", "fields", "-E", "separator=\t"]
    for d in decode_as or []:
        cmd += ["-d", d]
    if display_filter:
        cmd += ["-Y", display_filter]
    for f in fields:
        cmd += ["-e", f]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"tshark failed: {r.stderr}")
    return [line.split("\t") for line in r.stdout.splitlines() if line.strip()]


class Listener:
    """`joincast listen --json` in a namespace: a receiver that sends RTCP
    receiver reports and prints what it hears as JSON lines."""

    def __init__(self, ns, group: str, *args: str):
        self.proc = ns.spawn(str(JOINCAST), "--json", "listen", group, "--interface", "eth0", *args,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.reader = LineReader(self.proc.stdout)
        self.events: list[dict] = []
        self.until(lambda e: e.get("event") == "listening", 10, f"joincast listen to join {group}")

    def until(self, predicate, timeout: float, what: str) -> dict:
        """Reads events until predicate(event); returns that event."""
        deadline = time.monotonic() + timeout
        while True:
            line = self.reader.line(max(0.0, deadline - time.monotonic()))
            if not line:
                raise AssertionError(f"timed out waiting for {what}; saw {[e.get('event') for e in self.events]}"
                                     + ("" if line is None else f"; listen exited: {self.proc.stderr.read()}"))
            e = json.loads(line)
            e["_at"] = time.monotonic()
            self.events.append(e)
            if predicate(e):
                return e

    def drain(self, timeout: float = 5) -> list[dict]:
        """After stop(): reads what is left, to the end; returns every event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.reader.line(max(0.0, deadline - time.monotonic()))
            if not line:
                break
            e = json.loads(line)
            e["_at"] = time.monotonic()
            self.events.append(e)
        return self.events

    def stop(self, timeout: float = 10) -> int:
        """SIGTERM: it sends its BYE and a summary."""
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait(timeout=timeout)


__all__ = ["Lab", "log", "wait_until", "topology", "Driver", "make_media", "Capture", "tshark_fields", "Listener",
           "LineReader", "GROUP", "HEAD_V6", "RX_V6", "HEAD_V4", "RX_V4", "JOINCAST"]
