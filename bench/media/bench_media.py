#!/usr/bin/env python3
"""bench_media.py — one joincast process against one ffmpeg per stream.

In a network namespace ("bench": b0, its veth peer b1 in "sink"), N
sessions send the same 128 kbit/s MP3 file as RTP to N IPv6 groups:

  joincast   tests/drivers/media_driver (MediaEngine, default options)
  baseline   N x `ffmpeg -re -stream_loop -1 -i F -c copy -f rtp rtp://[G]:5004`

measured in the same run:

  CPU        utime+stime over a window, % of one core (all ffmpegs summed)
  memory     RSS and PSS (smaps_rollup), summed over the ffmpegs
  start      session start (joincast: the start call; ffmpeg: the spawn) to
             the first RTP packet at a receiver in the sink namespace
  jitter     arrival time against the RTP media clock, at the receiver, for
             up to 10 sessions during the CPU window
  metadata   update_metadata() to the changed SAP announcement on the wire

    bench/media/run.sh            short (N=10): the ctest, which fails only on a
                                  ratio to ffmpeg (bench/checks.py)
    bench/media/run.sh --full     N = 10, 100, 1000 (ffmpeg at 1000 is
                                  extrapolated from 100: ~11 GB, ~8 cores)
    add --write to replace the media section of BENCHMARKS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "netns"))

from lab import SKIP, Lab, log, wait_until  # noqa: E402
from media_lab import DRIVER, Driver, LineReader  # noqa: E402
sys.path.insert(0, str(HERE.parent))
from checks import Checks  # noqa: E402
from measured_at import measured_at  # noqa: E402

RECEIVER = HERE / "receiver.py"
CLK_TCK = os.sysconf("SC_CLK_TCK")
TARGET_CPU = 25.0       # % of one core for 1000 sessions
TARGET_RSS_MB = 100.0   # for 1000 sessions
TARGET_FIRST_MS = 20.0  # start to first packet, file or test source


def group(i: int) -> str:
    return f"ff3e:40:2001:db8:be:0:8000:{i:x}"


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime


def memory_kb(pid: int) -> tuple[int, int, int]:
    rss = pss = file = 0
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("Pss:"):
            pss = int(line.split()[1])
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            file = int(line.split()[1])
    return rss, pss, file


def measure(pids: list[int], seconds: float) -> dict:
    t0, c0 = time.monotonic(), sum(cpu_ticks(p) for p in pids)
    time.sleep(seconds)
    t1, c1 = time.monotonic(), sum(cpu_ticks(p) for p in pids)
    mem = [memory_kb(p) for p in pids]
    return {"cpu": 100.0 * (c1 - c0) / CLK_TCK / (t1 - t0), "rss_mb": sum(m[0] for m in mem) / 1024,
            "pss_mb": sum(m[1] for m in mem) / 1024, "file_mb": sum(m[2] for m in mem) / 1024,
            "load": os.getloadavg()[0]}


class Bench:
    def __init__(self, lab: Lab, full: bool):
        self.lab = lab
        self.full = full
        self.window = 10.0 if full else 4.0
        self.warmup = 4.0 if full else 2.0
        self.ns = lab.netns("bench")
        self.sink = lab.netns("sink")
        lab.veth(self.ns, "b0", self.sink, "b1")
        lab.addr(self.ns, "b0", "2001:db8:be::1/64")
        lab.addr(self.sink, "b1", "2001:db8:be::2/64")
        self.mp3 = lab.tmp / "bench.mp3"
        lab.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                 "sine=frequency=440:sample_rate=44100:duration=60", "-ac", "2", "-c:a", "libmp3lame", "-b:a", "128k",
                 str(self.mp3)], timeout=120)

    def receiver(self, *args: str) -> tuple[subprocess.Popen, LineReader]:
        p = self.sink.spawn(sys.executable, str(RECEIVER), *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        reader = LineReader(p.stdout)
        line = reader.line(20)
        if not line or not json.loads(line).get("ready"):
            raise AssertionError(f"receiver {args[0]} did not start")
        return p, reader

    @staticmethod
    def result(reader: LineReader, timeout: float) -> dict:
        line = reader.line(timeout)
        if not line:
            raise AssertionError("receiver gave no result")
        return json.loads(line)

    def ffmpeg(self, g: str) -> subprocess.Popen:
        return self.ns.spawn("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-stream_loop", "-1",
                             "-i", str(self.mp3), "-c", "copy", "-f", "rtp", f"rtp://[{g}]:5004?ttl=16&pkt_size=1452",
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    # -- CPU, memory, jitter ------------------------------------------------
    def joincast_load(self, n: int, *driver_args: str) -> dict:
        driver = Driver(self.lab, self.ns, *driver_args)
        try:
            for i in range(n):
                driver.start(group(i), {"type": "file", "path": str(self.mp3), "loop": True}, interface="b0")
            wait_until(lambda: driver.request({"cmd": "summary"})["running"] == n, 60, f"{n} sessions running")
            time.sleep(self.warmup)
            sample = [group(i) for i in range(0, n, max(1, n // 10))][:10]
            rx, reader = self.receiver("jitter", str(self.window), *sample)
            m = measure([driver.proc.pid], self.window)
            m["jitter"] = list(self.result(reader, 30)["jitter"].values())
            rx.wait(timeout=10)
            s = driver.request({"cmd": "summary"})
            for k in ("send_errors", "late_rebases", "threads", "sender", "lead_ms", "send_window_us"):
                m[k] = s[k]
            return m
        finally:
            driver.close()

    def ffmpeg_load(self, n: int) -> dict:
        procs = [self.ffmpeg(group(i)) for i in range(n)]
        try:
            time.sleep(self.warmup + n * 0.01)
            dead = [p for p in procs if p.poll() is not None]
            if dead:
                raise AssertionError(f"{len(dead)} ffmpeg processes exited")
            sample = [group(i) for i in range(0, n, max(1, n // 10))][:10]
            rx, reader = self.receiver("jitter", str(self.window), *sample)
            m = measure([p.pid for p in procs], self.window)
            m["jitter"] = list(self.result(reader, 30)["jitter"].values())
            rx.wait(timeout=10)
            return m
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait(timeout=10)

    # -- start to first packet ----------------------------------------------
    def first_packet_joincast(self, trials: int, source: dict) -> list[float]:
        driver = Driver(self.lab, self.ns)
        out = []
        try:
            for t in range(trials):
                g = group(0x4000 + t)
                rx, reader = self.receiver("first", g)
                r = driver.request({"cmd": "start", "group": g, "interface": "b0", "source": source})
                first = self.result(reader, 30)["first"]
                rx.wait(timeout=10)
                out.append((first[g] - r["t_ns"]) / 1e6)
                driver.request({"cmd": "stop", "session": r["session"]})
        finally:
            driver.close()
        return out

    def first_packet_ffmpeg(self, trials: int) -> list[float]:
        out = []
        for t in range(trials):
            g = group(0x5000 + t)
            rx, reader = self.receiver("first", g)
            start = time.monotonic_ns()
            p = self.ffmpeg(g)
            first = self.result(reader, 30)["first"]
            rx.wait(timeout=10)
            out.append((first[g] - start) / 1e6)
            p.terminate()
            p.wait(timeout=10)
        return out

    # -- metadata to SDP ----------------------------------------------------
    def metadata_latency(self, trials: int) -> list[float]:
        driver = Driver(self.lab, self.ns)
        out = []
        try:
            g = group(0x6000)
            sid = driver.start(g, {"type": "file", "path": str(self.mp3), "loop": True}, interface="b0",
                               sap={"interval_ms": 60000})
            driver.wait(sid, "started")
            rx, reader = self.receiver("sap", g)
            time.sleep(1.2)  # past the first SDP's change interval
            last_hash = None
            for t in range(trials):
                while (queued := reader.line(0.05)):  # what came before the update
                    last_hash = json.loads(queued)["hash"]
                r = driver.request({"cmd": "metadata", "session": sid,
                                    "metadata": {"station_name": "bench", "now_playing": f"song {t}"}})
                # The changed announcement: the first one after the update
                # with a new hash. Announcements of the unchanged SDP (the
                # session's repeats after its start) may still be queued.
                deadline = time.monotonic() + 5
                while True:
                    line = reader.line(max(0.0, deadline - time.monotonic()))
                    if not line:
                        raise AssertionError("no changed announcement after a metadata update")
                    a = json.loads(line)
                    if a["ns"] >= r["t_ns"] and a["hash"] != last_hash:
                        break
                last_hash = a["hash"]
                out.append((a["ns"] - r["t_ns"]) / 1e6)
                time.sleep(1.1)  # one change per second at most (RFC 2974 §5 churn)
            rx.stdin.close()
            rx.wait(timeout=10)
        finally:
            driver.close()
        return out


def pct(values: list[float], q: float) -> float:
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q * (len(v) - 1))))]


def jitter_row(name: str, js: list[dict]) -> str:
    if not js:
        return f"| {name} | - | - | - | - |"
    return (f"| {name} | {statistics.mean(j['rfc3550'] for j in js):.2f} | {statistics.median(j['p50'] for j in js):.2f} | "
            f"{max(j['p99'] for j in js):.2f} | {max(j['max'] for j in js):.2f} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("the media benchmark needs root (network namespaces)", file=sys.stderr)
        return SKIP
    if not DRIVER.exists():
        print(f"{DRIVER} is not built", file=sys.stderr)
        return 1
    sizes = [10, 100, 1000] if args.full else [10]
    ffmpeg_sizes = [10, 100] if args.full else [10]
    trials = 20 if args.full else 5
    with Lab("bench-media") as lab:
        b = Bench(lab, args.full)
        rows = {}
        for n in sizes:
            log(f"joincast, {n} sessions")
            j = b.joincast_load(n)
            f = None
            if n in ffmpeg_sizes:
                log(f"ffmpeg, {n} processes")
                f = b.ffmpeg_load(n)
            rows[n] = (j, f)
            log(f"  joincast {j['cpu']:.1f}% {j['rss_mb']:.1f} MB RSS {j['pss_mb']:.1f} MB PSS"
                + (f"; ffmpeg {f['cpu']:.1f}% {f['rss_mb']:.1f} MB RSS {f['pss_mb']:.1f} MB PSS" if f else ""))
        one_thread = None
        if args.full:
            log("joincast, 1000 sessions on one worker thread")
            one_thread = b.joincast_load(1000, "--threads", "1")
            log(f"  joincast {one_thread['cpu']:.1f}% {one_thread['rss_mb']:.1f} MB RSS")
        log("start to first packet")
        first_file = b.first_packet_joincast(trials, {"type": "file", "path": str(b.mp3), "loop": True})
        first_tone = b.first_packet_joincast(trials, {"type": "tone", "codec": "mp3"})
        first_ffmpeg = b.first_packet_ffmpeg(trials)
        log(f"  joincast file p50 {pct(first_file, .5):.1f} ms, tone p50 {pct(first_tone, .5):.1f} ms, "
            f"ffmpeg p50 {pct(first_ffmpeg, .5):.1f} ms")
        log("metadata to SDP")
        meta = b.metadata_latency(5 if args.full else 3)
        log(f"  p50 {pct(meta, .5):.1f} ms, max {max(meta):.1f} ms")

    # -- checks (bench/checks.py: only same-run ratios to the baseline fail) --
    checks = Checks("bench.media")
    j10, f10 = rows[10]
    checks.ratio("10 sessions, CPU, ffmpeg / joincast", f10["cpu"] / max(j10["cpu"], 0.01), at_least=1.0)
    checks.ratio("10 sessions, PSS, ffmpeg / joincast", f10["pss_mb"] / max(j10["pss_mb"], 0.01), at_least=1.0)
    checks.ratio("start to first packet p50, ffmpeg spawn / joincast file source",
                 pct(first_ffmpeg, .5) / max(pct(first_file, .5), 0.01), at_least=1.0)
    checks.target(f"first packet from a file p50 ≤ {TARGET_FIRST_MS:g} ms", pct(first_file, .5) <= TARGET_FIRST_MS,
                  f"{pct(first_file, .5):.1f} ms")
    checks.target(f"first packet from the test tone p50 ≤ {TARGET_FIRST_MS:g} ms",
                  pct(first_tone, .5) <= TARGET_FIRST_MS, f"{pct(first_tone, .5):.1f} ms")
    checks.target("metadata to the SAP announcement ≤ 1 s", max(meta) <= 1000, f"max {max(meta):.0f} ms")
    errors = sum(r[0]["send_errors"] for r in rows.values())
    checks.target("no send errors", errors == 0, f"{errors}")
    big = rows.get(1000)
    if big:
        checks.target(f"1000 sessions < {TARGET_CPU:g}% of a core", big[0]["cpu"] < TARGET_CPU, f"{big[0]['cpu']:.1f}%")
        checks.target(f"1000 sessions < {TARGET_RSS_MB:g} MB RSS", big[0]["rss_mb"] < TARGET_RSS_MB,
                      f"{big[0]['rss_mb']:.1f} MB")
    missed = [line for line in checks.lines if "FAILED" in line or "missed" in line]

    # -- report -------------------------------------------------------------
    def target(ok: bool) -> str:
        return "met" if ok else "**missed**"

    lines = ["## media: one joincast process against one ffmpeg per stream", "",
             measured_at(), "",
             f"`bench/media/run.sh{' --full' if args.full else ''}{' --write' if args.write else ''}` — "
             f"{platform.machine()} {os.cpu_count()} cores ({Path('/proc/cpuinfo').read_text().split('model name')[1].split(':')[1].splitlines()[0].strip()}), "
             f"Linux {platform.release()}, shared with other work (1-minute load during the CPU windows "
             f"{min(r[0]['load'] for r in rows.values()):.1f} to {max(r[0]['load'] for r in rows.values()):.1f}).",
             "",
             "N sessions send the same 128 kbit/s MP3 file (looped) as RTP to N IPv6 groups over a veth. "
             "joincast: `tests/drivers/media_driver` (MediaEngine defaults: "
             f"{rows[10][0]['threads']} worker threads, {rows[10][0]['sender']}, "
             f"{rows[10][0]['send_window_us'] / 1000:g} ms send window, {rows[10][0]['lead_ms']} ms lead). "
             "Baseline: one `ffmpeg -re -stream_loop -1 -i F -c copy -f rtp` per stream. "
             f"CPU is utime+stime over {b.window:.0f} s after {b.warmup:.0f} s of warm-up, as % of one core.",
             "",
             "| sessions | joincast CPU | ffmpeg CPU | CPU ratio | joincast RSS | joincast PSS | ffmpeg RSS (sum) | ffmpeg PSS (sum) | PSS ratio |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    base100 = rows.get(100, (None, None))[1]
    for n, (j, f) in rows.items():
        note = ""
        if f is None and base100:
            f = {k: base100[k] * n / 100 for k in ("cpu", "rss_mb", "pss_mb")}
            note = " *"
        if f:
            extra = " (extrapolated)" if note else ""
            lines.append(f"| {n} | {j['cpu']:.1f}% | {f['cpu']:.1f}%{note} | {f['cpu'] / max(j['cpu'], 0.01):.1f}×{extra} | "
                         f"{j['rss_mb']:.1f} MB | {j['pss_mb']:.1f} MB | {f['rss_mb']:.0f} MB{note} | {f['pss_mb']:.0f} MB{note} | "
                         f"{f['pss_mb'] / max(j['pss_mb'], 0.01):.1f}×{extra} |")
        else:
            lines.append(f"| {n} | {j['cpu']:.1f}% | - | - | {j['rss_mb']:.1f} MB | {j['pss_mb']:.1f} MB | - | - | - |")
    if one_thread:
        lines.append(f"| 1000, one worker thread | {one_thread['cpu']:.1f}% | | | {one_thread['rss_mb']:.1f} MB | "
                     f"{one_thread['pss_mb']:.1f} MB | | | |")
    if big:
        lines += ["", f"\\* ffmpeg at 1000 streams is extrapolated linearly from 100, and so are the ratios marked "
                      f"extrapolated (not run: by the same line, about {base100['pss_mb'] * 10 / 1024:.0f} GB of PSS "
                      f"({base100['rss_mb'] * 10 / 1024:.0f} GB of RSS summed) and "
                      f"{base100['cpu'] * 10 / 100:.1f} cores)."]
        lines += ["", f"Targets for 1000 sessions: under {TARGET_CPU:.0f}% of one core — {target(big[0]['cpu'] < TARGET_CPU)} "
                      f"({big[0]['cpu']:.1f}%); under {TARGET_RSS_MB:.0f} MB RSS — {target(big[0]['rss_mb'] < TARGET_RSS_MB)} "
                      f"({big[0]['rss_mb']:.1f} MB, of which {big[0]['file_mb']:.1f} MB are mapped files, "
                      f"mostly the FFmpeg libraries and what they link). "
                      f"Send errors: {big[0]['send_errors']}; clock re-anchors (late source): {big[0]['late_rebases']}."]
    lines += ["", f"Start of a session to its first RTP packet at the receiver ({trials} trials each):", "",
              "| | p50 | p95 | max |", "|---|---:|---:|---:|"]
    for name, v in (("joincast, file source", first_file), ("joincast, test tone (live MP3 encoding)", first_tone),
                    ("ffmpeg process spawn, same file", first_ffmpeg)):
        lines.append(f"| {name} | {pct(v, .5):.1f} ms | {pct(v, .95):.1f} ms | {max(v):.1f} ms |")
    lines += ["", f"Target: first packet within {TARGET_FIRST_MS:.0f} ms of start for a file or test source — "
                  f"{target(pct(first_file, .5) <= TARGET_FIRST_MS and pct(first_tone, .5) <= TARGET_FIRST_MS)}; "
                  f"{pct(first_ffmpeg, .5) / max(pct(first_file, .5), 0.01):.0f}× faster than an ffmpeg spawn (p50)."]
    lines += ["", "Packet send-time jitter against the media clock: arrival at the receiver minus RTP time, "
                  "for up to 10 sessions per run (ms; RFC 3550 interarrival jitter averaged over sessions, "
                  "absolute deviation from the median: median p50, worst p99 and max). The receiver is a Python "
                  "process on the same machine: its own scheduling delays are in every row, and a single "
                  "late wakeup of either side shows as the max.", "",
              "| | RFC 3550 J | p50 | p99 | max |", "|---|---:|---:|---:|---:|"]
    for n, (j, f) in rows.items():
        lines.append(jitter_row(f"joincast, {n} sessions", j["jitter"]))
        if f and "jitter" in f:
            lines.append(jitter_row(f"ffmpeg, {n} processes", f["jitter"]))
    if one_thread:
        lines.append(jitter_row("joincast, 1000 sessions, one worker thread", one_thread["jitter"]))
    lines += ["", f"Metadata update to the changed SAP announcement on the wire: p50 {pct(meta, .5):.1f} ms, "
                  f"max {max(meta):.1f} ms ({len(meta)} updates; target 1 s)."]
    if missed:
        lines += ["", "Missed in this run: " + "; ".join(missed) + "."]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.write:
        subprocess.run([sys.executable, str(ROOT / "bench" / "update_benchmarks.py"), "media"], input=report, text=True,
                       check=True)
    return checks.verdict()


if __name__ == "__main__":
    sys.exit(main())
