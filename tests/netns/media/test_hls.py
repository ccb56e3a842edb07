#!/usr/bin/env python3
"""test_hls.py — HLS stations, played by libavformat's HLS demuxer on a
thread of their own, proven with real HLS made by ffmpeg and served by a
python http.server on loopback inside a namespace.

The streams: packed-AAC segments in a live playlist that keeps growing
(ffmpeg's segment muxer, in real time), MP3 in MPEG-TS segments in a live
EVENT playlist (ffmpeg's hls muxer, in real time), a master playlist with
two AAC-in-TS variants of different BANDWIDTH, AAC in fMP4 segments, AC-3
in MPEG-TS segments, and broken ones: segments that answer 404 (VOD and
live), a playlist of garbage.

1. The source on its own (tests/drivers/source_probe): an HlsSource, and
   an http(s) station that turns out to be HLS (HttpSource hands over).
   The delivered bytes must decode with `ffmpeg -xerror` and say the right
   codec to ffprobe; the live stream is followed beyond what its playlist
   listed at the start; the master's higher variant is the one fetched;
   pausing loses nothing; every request (segments too) carries our
   User-Agent; the broken ones end with a sentence naming the URL and the
   request that failed; stop() leaves no thread behind. Over HTTPS, every
   request is verified against our trust: segments on a name the
   certificate does not carry are refused (libavformat's default would
   fetch them).
2. End to end: joincastd with a static directory of HLS stations. A
   listener joins each station's group, which starts its session (one
   joincast-hls thread each, `"hls": true` in `joincast sessions`);
   `ffprobe sap://[group]` on the listener host names the codec from the
   SAP/SDP and RTP that arrive. When the listeners leave, the sessions stop
   and no HLS thread is left. The broken stations fail with the reason in
   `joincast sessions` (naming the URL and the request that failed) and
   are retried.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import BUILD_DIR, Daemon, Lab, log, wait_until

PROBE = BUILD_DIR / "tests" / "source_probe"
PREFIX = "2001:db8:d0be:f00d"
UA = "joincast-hls-test/1"

# A static file server with keep-alive (libavformat reuses connections for
# HLS) that logs every request as a JSON line: path, status, User-Agent.
SERVER = r"""
import http.server, json, ssl, sys, threading
root, log_path = sys.argv[1], sys.argv[2]
cert = sys.argv[3:5]  # optional: certificate and key, for HTTPS
lock = threading.Lock()
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".m3u8": "application/vnd.apple.mpegurl", ".ts": "video/mp2t",
                      ".aac": "audio/aac", ".m4s": "video/iso.segment"}
    def __init__(self, *a, **kw):
        super().__init__(*a, directory=root, **kw)
    def log_request(self, code="-", size="-"):
        with lock, open(log_path, "a") as f:
            f.write(json.dumps({"path": self.path, "status": int(code),
                                "ua": self.headers.get("User-Agent", "")}) + "\n")
    def log_message(self, *a):
        pass
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
if cert:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(*cert)
    # The handshake happens in the request's thread, not in accept().
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True, do_handshake_on_connect=False)
print(srv.server_address[1], flush=True)
srv.serve_forever()
"""

failures: list[str] = []


def check(cond: bool, what: str) -> None:
    if not cond:
        failures.append(what)
        log(f"  FAILED: {what}")


def ffmpeg_quiet(*args: str) -> list[str]:
    return ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", *args]


def make_streams(lab: Lab, www: Path) -> None:
    """The HLS streams; the live ones keep running (lab processes)."""
    for d in ("aac", "ts", "master/low", "master/high", "fmp4", "ac3", "broken"):
        (www / d).mkdir(parents=True, exist_ok=True)
    # Live, growing: packed AAC (ADTS) segments of 1 s, ffmpeg's segment muxer.
    lab.spawn(ffmpeg_quiet("-re", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
                           "-c:a", "aac", "-b:a", "96k", "-f", "segment", "-segment_format", "adts",
                           "-segment_time", "1", "-segment_list", str(www / "aac/live.m3u8"),
                           "-segment_list_type", "m3u8", "-segment_list_flags", "+live",
                           str(www / "aac/seg%05d.aac")))
    # Live, growing: MP3 in MPEG-TS segments, an EVENT playlist, ffmpeg's hls muxer.
    lab.spawn(ffmpeg_quiet("-re", "-f", "lavfi", "-i", "sine=frequency=660:sample_rate=44100",
                           "-c:a", "libmp3lame", "-b:a", "128k", "-f", "hls", "-hls_time", "1",
                           "-hls_list_size", "0", "-hls_playlist_type", "event", "-hls_flags", "temp_file",
                           "-hls_segment_filename", str(www / "ts/seg%05d.ts"), str(www / "ts/live.m3u8")))
    # VOD, made at once.
    def vod(out: Path, seconds: int, *codec: str, seg: str = "ts", extra: tuple = ()):
        lab.run(ffmpeg_quiet("-f", "lavfi", "-i", f"sine=frequency=550:sample_rate=48000:duration={seconds}",
                             *codec, "-f", "hls", "-hls_time", "2", "-hls_list_size", "0",
                             "-hls_playlist_type", "vod", *extra,
                             "-hls_segment_filename", str(out.parent / f"seg%03d.{seg}"), str(out)), timeout=120)
    vod(www / "master/low/index.m3u8", 20, "-c:a", "aac", "-b:a", "48k")
    vod(www / "master/high/index.m3u8", 20, "-c:a", "aac", "-b:a", "128k")
    (www / "master.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=64000,CODECS=\"mp4a.40.2\"\nmaster/low/index.m3u8\n"
        "#EXT-X-STREAM-INF:BANDWIDTH=140000,CODECS=\"mp4a.40.2\"\nmaster/high/index.m3u8\n")
    vod(www / "fmp4/index.m3u8", 12, "-c:a", "aac", "-b:a", "96k", seg="m4s",
        extra=("-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", "init.mp4"))
    vod(www / "ac3/index.m3u8", 30, "-c:a", "ac3", "-b:a", "192k")
    segs = "".join(f"#EXTINF:2.0,\ngone{i}.aac\n" for i in range(3))
    head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n"
    (www / "broken/missing.m3u8").write_text(head + segs + "#EXT-X-ENDLIST\n")
    (www / "broken/missing-live.m3u8").write_text(head + segs)
    (www / "broken/garbage.m3u8").write_bytes(bytes((i * 73 + 5) % 256 for i in range(2000)))


def playlist_entries(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text().splitlines() if line and not line.startswith("#"))
    except FileNotFoundError:
        return 0


def requests(log_path: Path) -> list[dict]:
    if not log_path.exists():
        return []
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def probe(ns, mode: str, url: str, out: Path, *args: str, timeout: float = 90) -> list[dict]:
    r = subprocess.run(["ip", "netns", "exec", ns.name, str(PROBE), mode, url, "--out", str(out),
                        "--user-agent", UA, *args], capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise AssertionError(f"source_probe failed ({r.returncode}): {r.stderr[-2000:]}")
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def first(events: list[dict], name: str) -> dict:
    return next((e for e in events if e["event"] == name), {})


def decode(path: Path, fmt: str) -> tuple[int, str, float]:
    """ffmpeg -xerror on the delivered bytes: exit code, what it printed, seconds decoded."""
    r = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-xerror", "-f", fmt, "-i", str(path),
                        "-f", "null", "-progress", "pipe:1", "-nostats", "-"],
                       capture_output=True, text=True, timeout=120)
    times = [int(line.split("=")[1]) for line in r.stdout.splitlines()
             if line.startswith("out_time_us=") and line.split("=")[1].isdigit()]
    return r.returncode, r.stderr.strip(), max(times, default=0) / 1e6


def codecs(path: Path, fmt: str) -> set[str]:
    r = subprocess.run(["ffprobe", "-v", "error", "-f", fmt, "-show_streams", "-of", "json", str(path)],
                       capture_output=True, text=True, timeout=60)
    return {s.get("codec_name") for s in json.loads(r.stdout or "{}").get("streams", [])}


def expect_decodes(name: str, path: Path, fmt: str, codec: str, at_least: float) -> float:
    rc, err, seconds = decode(path, fmt)
    found = codecs(path, fmt)
    log(f"  {name}: {path.stat().st_size} bytes, ffprobe sees {sorted(found)}, ffmpeg -xerror exit {rc}, "
        f"{seconds:.2f} s decoded")
    check(rc == 0 and not err, f"{name}: ffmpeg -xerror failed ({rc}): {err[:500]}")
    check(codec in found, f"{name}: ffprobe found {found}, expected {codec}")
    check(seconds >= at_least, f"{name}: only {seconds:.2f} s decoded, expected at least {at_least}")
    return seconds


def expect_no_thread_left(name: str, summary: dict, played: bool = True) -> None:
    check(not summary.get("thread_running_after_stop", False), f"{name}: the HLS thread still ran after stop()")
    if played:
        check(summary.get("hls_threads_seen") == 1, f"{name}: {summary.get('hls_threads_seen')} HLS threads at once")
    check(summary.get("hls_threads_after_stop") == 0,
          f"{name}: {summary.get('hls_threads_after_stop')} HLS threads left after stop()")


def source_tests(lab: Lab, router, base: str, www: Path, req_log: Path) -> None:
    tmp = lab.tmp / "out"
    tmp.mkdir()

    log("live packed AAC, growing playlist, through HlsSource")
    wait_until(lambda: playlist_entries(www / "aac/live.m3u8") >= 4, 30, "4 live AAC segments")
    listed_at_start = playlist_entries(www / "aac/live.m3u8")
    reloads_before = sum(1 for r in requests(req_log) if r["path"] == "/aac/live.m3u8")
    out = tmp / "aac-live.aac"
    events = probe(router, "hls", base + "/aac/live.m3u8", out, "--seconds", "9")
    s = first(events, "summary")
    check(s.get("content_type") == "audio/aac" and s.get("codec") == "aac", f"live AAC summary: {s}")
    check(not first(events, "end"), f"a live stream ended by itself: {first(events, 'end')}")
    # It starts 3 segments from the live edge: whatever it decodes beyond
    # ~3 s came from segments added while it played.
    seconds = expect_decodes("live AAC", out, "aac", "aac", 7.0)
    log(f"  {listed_at_start} segments listed at the start; played {seconds:.1f} s from 3 before the edge")
    reloads = sum(1 for r in requests(req_log) if r["path"] == "/aac/live.m3u8") - reloads_before
    check(reloads >= 4, f"the live playlist was fetched {reloads} times, expected reloads")
    expect_no_thread_left("live AAC", s)

    log("every request libavformat made, segments included, carried our User-Agent")
    ours = [r for r in requests(req_log) if r["path"].startswith("/aac/")]
    check(bool(ours) and all(r["ua"] == UA for r in ours),
          f"requests without our User-Agent: {[r for r in ours if r['ua'] != UA][:5]}")

    log("an http station that turns out to be HLS (MP3 in live MPEG-TS): HttpSource hands over")
    wait_until(lambda: playlist_entries(www / "ts/live.m3u8") >= 4, 30, "4 live TS segments")
    out = tmp / "ts-live.mp3"
    events = probe(router, "stream", base + "/ts/live.m3u8", out, "--play-hls", "1", "--seconds", "6")
    opened = first(events, "opened")
    check(opened.get("kind") == "hls", f"not seen as HLS: {opened}")
    states = [e for e in events if e["event"] == "status"]
    check(any(e["state"] == "playing" and e["hls"] for e in states), f"HttpSource never played the HLS: {states}")
    s = first(events, "summary")
    check(s.get("content_type") == "audio/mpeg" and s.get("hls") is True, f"TS summary: {s}")
    expect_decodes("live MP3 in TS", out, "mp3", "mp3", 4.0)
    expect_no_thread_left("HttpSource over HLS", s)

    log("a master playlist: the variant with the higher BANDWIDTH plays, the other is left alone")
    before = len(requests(req_log))
    out = tmp / "master.aac"
    events = probe(router, "hls", base + "/master.m3u8", out, "--seconds", "60")
    end = first(events, "end")
    check(end.get("error") == "", f"a VOD master did not end cleanly: {end} {first(events, 'summary')}")
    expect_decodes("master (VOD, AAC in TS)", out, "aac", "aac", 19.0)
    paths = [r["path"] for r in requests(req_log)[before:]]
    high = sum(1 for p in paths if p.startswith("/master/high/seg"))
    low = sum(1 for p in paths if p.startswith("/master/low/seg"))
    log(f"  segments fetched: high {high}, low {low}")
    # Opening reads the first segment of every variant (and libavformat may
    # ask for the next one at once); after that, only the chosen one's.
    check(high >= 10 and low <= 2, f"variant choice: {high} high and {low} low segments fetched")

    log("AAC in fMP4 segments: ADTS headers made from the AudioSpecificConfig")
    out = tmp / "fmp4.aac"
    events = probe(router, "hls", base + "/fmp4/index.m3u8", out, "--seconds", "60")
    check(first(events, "end").get("error") == "", f"fMP4 VOD: {first(events, 'end')} {first(events, 'summary')}")
    check(first(events, "summary").get("content_type") == "audio/aac", f"fMP4: {first(events, 'summary')}")
    expect_decodes("fMP4 AAC", out, "aac", "aac", 11.5)

    log("flow control: paused after every delivery with a small queue, nothing lost")
    paused = tmp / "fmp4-paused.aac"
    events = probe(router, "hls", base + "/fmp4/index.m3u8", paused, "--pause-ms", "2", "--max-buffered", "8192",
                   "--seconds", "120", timeout=150)
    s = first(events, "summary")
    check(s.get("pauses", 0) >= 10, f"not paused: {s}")
    check(paused.read_bytes() == out.read_bytes(),
          f"paused run delivered {paused.stat().st_size} bytes, unpaused {out.stat().st_size}")

    log("AC-3 in MPEG-TS segments: delivered as MPEG-TS")
    out = tmp / "ac3.ts"
    events = probe(router, "hls", base + "/ac3/index.m3u8", out, "--seconds", "60")
    s = first(events, "summary")
    check(s.get("content_type") == "video/mp2t" and s.get("codec") == "ac3", f"AC-3 summary: {s}")
    expect_decodes("AC-3 as MPEG-TS", out, "mpegts", "ac3", 29.0)

    log("broken: a playlist of garbage")
    url = base + "/broken/garbage.m3u8"
    events = probe(router, "hls", url, tmp / "garbage", "--seconds", "30")
    end, s = first(events, "end"), first(events, "summary")
    check(end.get("error", "") != "", f"garbage did not fail: {events}")
    check(s.get("reason", "").startswith(url + ": ") and "Invalid data" in s.get("reason", ""),
          f"garbage reason: {s.get('reason')!r}")
    log(f"  reason: {s.get('reason')}")

    log("broken: every segment 404 (VOD)")
    url = base + "/broken/missing.m3u8"
    events = probe(router, "hls", url, tmp / "missing", "--seconds", "30")
    s = first(events, "summary")
    reason = s.get("reason", "")
    check(first(events, "end").get("error", "") != "" and reason.startswith(url + ": ")
          and base + "/broken/gone" in reason and "404" in reason, f"404 reason: {reason!r}")
    log(f"  reason: {reason}")

    log("broken: every segment 404 in a live playlist: the stall watchdog ends it")
    url = base + "/broken/missing-live.m3u8"
    events = probe(router, "hls", url, tmp / "missing-live", "--stall-ms", "3000", "--seconds", "30")
    s = first(events, "summary")
    reason = s.get("reason", "")
    check("no audio from the HLS stream for 3 s" in reason and "404" in reason, f"live 404 reason: {reason!r}")
    log(f"  reason: {reason}")

    log("broken, through HttpSource: it retries, then gives up with the reason")
    url = base + "/broken/missing.m3u8"
    events = probe(router, "stream", url, tmp / "missing-http", "--play-hls", "1", "--attempts", "2",
                   "--backoff-ms", "200", "--seconds", "30")
    s = first(events, "summary")
    waits = [e for e in events if e["event"] == "status" and e["state"] == "reconnecting"]
    check(len(waits) == 2 and all("/broken/gone" in w["reason"] and "404" in w["reason"] for w in waits),
          f"retries: {waits}")
    check(s.get("state") == "failed" and "gave up after 2 attempts" in s.get("reason", ""), f"gave up: {s}")
    expect_no_thread_left("broken HttpSource over HLS", s, played=False)


def tls_tests(lab: Lab, router, www: Path) -> None:
    """HTTPS: libavformat verifies every request against our trust, the
    segments' too (its own default verifies nothing)."""
    d = lab.tmp / "tls"
    d.mkdir()

    def ossl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=joincast test CA",
         "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
    ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(d / "srv.key"),
         "-out", str(d / "srv.csr"))
    (d / "ext").write_text("subjectAltName=DNS:localhost\n")
    ossl("x509", "-req", "-in", str(d / "srv.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
         "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext"), "-out", str(d / "srv.pem"))
    tls_log = lab.tmp / "tls-requests.jsonl"
    server = router.spawn(sys.executable, "-c", SERVER, str(www), str(tls_log), str(d / "srv.pem"), str(d / "srv.key"),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    port = int(server.stdout.readline())
    good = f"https://localhost:{port}"
    # A trusted playlist whose segments are on a name the certificate does not carry.
    (www / "tls").mkdir(exist_ok=True)
    (www / "tls/mismatch.m3u8").write_text(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n" +
        "".join(f"#EXTINF:2.0,\nhttps://127.0.0.1:{port}/master/high/seg{i:03d}.ts\n" for i in range(3)) +
        "#EXT-X-ENDLIST\n")
    out = lab.tmp / "out"

    log("HTTPS with a trusted CA: playlist and segments verified, it plays")
    events = probe(router, "hls", good + "/master/high/index.m3u8", out / "tls.aac", "--ca", str(d / "ca.pem"),
                   "--seconds", "60")
    check(first(events, "end").get("error") == "", f"HTTPS VOD: {first(events, 'end')} {first(events, 'summary')}")
    expect_decodes("HTTPS AAC in TS", out / "tls.aac", "aac", "aac", 19.0)
    segs = [r for r in requests(tls_log) if r["path"].startswith("/master/high/seg")]
    check(len(segs) >= 10 and all(r["ua"] == UA for r in segs), f"HTTPS segment requests: {segs[:3]}")

    log("HTTPS segments on a name the certificate does not carry are refused")
    events = probe(router, "hls", good + "/tls/mismatch.m3u8", out / "mismatch", "--ca", str(d / "ca.pem"),
                   "--seconds", "30")
    s = first(events, "summary")
    check(s.get("bytes") == 0 and first(events, "end").get("error", "") != "", f"mismatch played: {s}")
    check(f"https://127.0.0.1:{port}/master/high/seg" in s.get("reason", ""), f"mismatch reason: {s.get('reason')!r}")
    log(f"  reason: {s.get('reason')}")

    log("HTTPS without trusting the CA: refused at the playlist")
    events = probe(router, "hls", good + "/master/high/index.m3u8", out / "untrusted", "--seconds", "30")
    s = first(events, "summary")
    check(s.get("bytes") == 0 and s.get("reason", "").startswith(good + "/master/high/index.m3u8: "),
          f"untrusted: {s}")
    log(f"  reason: {s.get('reason')}")


def hls_threads(pid: int) -> int:
    """joincastd's HLS threads (named joincast-hls)."""
    n = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            n += Path(f"/proc/{pid}/task/{tid}/comm").read_text().strip() == "joincast-hls"
        except FileNotFoundError:
            pass
    return n


def end_to_end(lab: Lab, router, c1, base: str) -> None:
    stations = [("HLS AAC live", "/aac/live.m3u8"), ("HLS master", "/master.m3u8"),
                ("HLS AC-3", "/ac3/index.m3u8"), ("HLS 404", "/broken/missing.m3u8"),
                ("HLS garbage", "/broken/garbage.m3u8")]
    station_toml = "".join(f'[[directory.station]]\nname = "{n}"\nurl = "{base}{p}"\n' for n, p in stations)
    d = Daemon(lab, router, f"""
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = ["br0"]
bpf_pin_root = "{lab.bpffs() / 'joincast'}"
[membership.timers]
query_interval = "5s"
query_response_interval = "1s"
[address_plan]
ipv6_prefix = "{PREFIX}::/64"
[http]
user_agent = "{UA}"
response_timeout = "5s"
stall_timeout = "5s"
reconnect_initial = "200ms"
reconnect_max = "500ms"
reconnect_attempts = 1
[[directory]]
name = "hls"
type = "static"
slot = 1
{station_toml}
[sessions]
interface = "br0"
grace = "1s"
sap_interval = "1s"
retry_initial = "1s"
retry_max = "2s"
start_timeout = "20s"
""").start()
    listed = wait_until(lambda: next((x["stations"] for x in d.cli("directories")["directories"]
                                      if x["name"] == "hls" and len(x["stations"]) == len(stations)), None),
                        15, "the static directory")
    group = {s["name"]: s["group"] for s in listed}
    log(f"stations: {json.dumps(group)}")
    pid = d.proc.pid
    check(hls_threads(pid) == 0, "HLS threads before any session")

    log("listeners join the stations' groups: the joins start the HLS sessions")
    expected = {"HLS AAC live": {"aac"}, "HLS master": {"aac"}, "HLS AC-3": {"ac3"}}
    members = {name: lab.join(c1, group[name], "eth0") for name in expected}

    def running():
        now = [s for s in d.cli("sessions")["sessions"] if s["service"] in expected and s["state"] == "running"]
        return now if len(now) == len(expected) else None
    for s in wait_until(running, 40, "three running HLS sessions"):
        log(f"  {s['service']}: {s['state']}, codec {s.get('media', {}).get('codec')}, source {s.get('source')}")
        check(s.get("source", {}).get("hls") is True, f"{s['service']}: not played as HLS: {s.get('source')}")
    check(hls_threads(pid) == len(expected), f"{hls_threads(pid)} HLS threads for {len(expected)} HLS sessions")

    log("a player on the listener host: ffprobe sap://[group] names the codec of what arrives")
    probes = {name: c1.spawn("ffprobe", "-v", "error", "-show_streams", "-of", "json", f"sap://[{group[name]}]",
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in expected}
    for name, names in expected.items():
        try:
            out, err = probes[name].communicate(timeout=60)
        except subprocess.TimeoutExpired:
            probes[name].kill()
            out, err = probes[name].communicate()
        found = {st.get("codec_name") for st in json.loads(out or "{}").get("streams", [])}
        log(f"  {name}: ffprobe sap:// exit {probes[name].returncode}, sees {sorted(found)}")
        check(probes[name].returncode == 0 and bool(found & names),
              f"{name}: ffprobe found {found} (exit {probes[name].returncode}: {err.strip()[:300]}), "
              f"expected {names}")

    log("the listeners leave: the sessions stop and their HLS threads end")
    for m in members.values():
        m.leave()
    wait_until(lambda: not [s for s in d.cli("sessions")["sessions"] if s["service"] in expected], 20,
               "the HLS sessions to stop")
    try:
        wait_until(lambda: hls_threads(pid) == 0, 10, "the HLS threads to end")
    except AssertionError as e:
        check(False, str(e))

    log("broken stations: the session fails with the reason naming the URL, and is retried")
    broken = [lab.join(c1, group["HLS 404"], "eth0"), lab.join(c1, group["HLS garbage"], "eth0")]
    for name, url, words in (("HLS 404", base + "/broken/missing.m3u8", ("/broken/gone", "404")),
                             ("HLS garbage", base + "/broken/garbage.m3u8", ("binary data, not a text playlist",))):
        def failed_twice():
            s = next((x for x in d.cli("sessions")["sessions"] if x["service"] == name), None)
            return s if s and s.get("failures", 0) >= 2 and "reason" in s else None
        try:
            s = wait_until(failed_twice, 40, f"{name} to fail twice")
        except AssertionError as e:
            check(False, str(e))
            continue
        log(f"  {name}: {s['state']}, {s['failures']} failures, reason: {s['reason']}")
        check(url in s["reason"] and all(w in s["reason"] for w in words) and s["reason_kind"] == "source",
              f"{name}: reason {s['reason']!r} ({s['reason_kind']})")
    for m in broken:
        m.leave()
    wait_until(lambda: not d.cli("sessions")["sessions"], 20, "every session to stop")
    try:
        wait_until(lambda: hls_threads(pid) == 0, 10, "the HLS threads to end")
    except AssertionError as e:
        check(False, str(e))
    check(d.proc.poll() is None, "joincastd died")
    d.stop()


def main() -> int:
    if not PROBE.exists():
        print(f"{PROBE} not built", file=sys.stderr)
        return 1
    with Lab("hls") as lab:
        router, c1 = lab.netns("router"), lab.netns("c1")
        lab.veth(router, "p1", c1, "eth0")
        lab.bridge(router, "br0", ["p1"])
        lab.addr(router, "br0", f"{PREFIX}::1/64")
        lab.addr(c1, "eth0", f"{PREFIX}::11/64")
        www = lab.tmp / "www"
        make_streams(lab, www)
        req_log = lab.tmp / "requests.jsonl"
        server = router.spawn(sys.executable, "-c", SERVER, str(www), str(req_log),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        port = int(server.stdout.readline())
        base = f"http://127.0.0.1:{port}"
        log(f"HLS served at {base} inside {router.name}")

        source_tests(lab, router, base, www, req_log)
        tls_tests(lab, router, www)
        end_to_end(lab, router, c1, base)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    log("all HLS checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
