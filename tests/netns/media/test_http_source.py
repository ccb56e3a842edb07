"""test_http_source.py — joincast's own HTTP client (media/source) against
http_fixture.py, a server that misbehaves on purpose, over loopback. Each
case runs tests/drivers/source_probe and asserts what the client did: the
exact audio bytes it delivered, the metadata it parsed, the outcome it
chose (stream, HLS, refusal) and the reason an operator would read.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from http_fixture import AUDIO, FRAME, FixtureServer  # noqa: E402
from lab import BUILD_DIR, log  # noqa: E402

PROBE = BUILD_DIR / "tests" / "source_probe"
failures: list[str] = []


def probe(mode: str, url: str, *args: str, timeout: float = 30) -> tuple[list[dict], bytes]:
    with tempfile.NamedTemporaryFile(delete=False) as out:
        out_path = out.name
    try:
        r = subprocess.run([str(PROBE), mode, url, "--out", out_path, *args], capture_output=True, text=True,
                           timeout=timeout)
        if r.returncode != 0:
            raise AssertionError(f"source_probe failed ({r.returncode}): {r.stderr}")
        events = [json.loads(line) for line in r.stdout.splitlines() if line.strip()]
        return events, Path(out_path).read_bytes()
    finally:
        os.unlink(out_path)


def first(events: list[dict], name: str) -> dict | None:
    return next((e for e in events if e["event"] == name), None)


def case(name):
    def wrap(fn):
        def run(*a):
            log(f"case {name}")
            try:
                fn(*a)
            except AssertionError as e:
                failures.append(f"{name}: {e}")
                log(f"  FAILED: {e}")
        run.__name__ = name
        return run
    return wrap


def expect_stream(url: str, *args: str, body: bytes = AUDIO, kind_url: str | None = None):
    events, data = probe("stream", url, *args)
    opened = first(events, "opened")
    assert opened and opened["kind"] == "stream", f"not opened as a stream: {events}"
    if kind_url:
        assert opened["url"] == kind_url, f"played {opened['url']}, expected {kind_url}"
    assert data == body, f"delivered {len(data)} bytes, expected {len(body)} identical bytes"
    end = first(events, "end")
    assert end and end["error"] == "", f"finite stream did not end cleanly: {events}"
    return events


def expect_failure(url: str, code: str, reason_part: str, *args: str) -> dict:
    events, _ = probe("stream", url, *args)
    f = first(events, "failure")
    assert f, f"expected failure {code!r}, got {events}"
    assert f["code"] == code, f"code {f['code']!r}, expected {code!r} ({f['reason']})"
    assert reason_part in f["reason"], f"reason {f['reason']!r} lacks {reason_part!r}"
    return f


def main() -> int:
    if not PROBE.exists():
        print(f"{PROBE} not built", file=sys.stderr)
        return 1
    with FixtureServer() as srv:
        u = srv.url

        @case("plain stream with Content-Length")
        def _():
            expect_stream(u("/audio.mp3"))
        _()

        @case("chunked transfer encoding is decoded")
        def _():
            expect_stream(u("/chunked.mp3"))
        _()

        @case("HTTP/1.0 body until close")
        def _():
            # No length: to the client this is a live stream that dropped,
            # so it reconnects; the first connection's bytes are exact.
            events, data = probe("stream", u("/http10.mp3"), "--until-bytes", str(len(AUDIO)), "--backoff-ms", "100")
            assert data[:len(AUDIO)] == AUDIO, "HTTP/1.0 body differs"
        _()

        @case("flow control: paused after every delivery, resumed later, nothing lost")
        def _():
            events, data = probe("stream", u("/chunked.mp3"), "--pause-ms", "5")
            s = first(events, "summary")
            assert data == AUDIO, f"{len(data)} bytes after pauses, expected {len(AUDIO)}"
            assert s["pauses"] >= 2, s
            events, data = probe("stream", u("/icy"), "--pause-ms", "2", "--until-bytes", str(len(AUDIO)))
            assert data[:len(AUDIO)] == AUDIO, "ICY stream differs when paused and resumed"
        _()

        @case("request carries User-Agent and Icy-MetaData")
        def _():
            srv.requests.clear()
            probe("stream", u("/audio.mp3"), "--user-agent", "joincast-test/1")
            path, headers = srv.requests[-1]
            assert headers.get("user-agent") == "joincast-test/1", headers
            assert headers.get("icy-metadata") == "1", headers
            assert headers.get("host") == f"127.0.0.1:{srv.port}", headers
        _()

        @case("redirect chain of 8 is followed")
        def _():
            expect_stream(u("/redirect/8"), kind_url=u("/audio.mp3"))
        _()

        @case("9 redirects are too many")
        def _():
            expect_failure(u("/redirect/10"), "too many redirects", "more than 8 redirects")
        _()

        @case("relative redirect with dot segments")
        def _():
            expect_stream(u("/relative-redirect"), kind_url=u("/audio.mp3"))
        _()

        @case("redirect loop is detected")
        def _():
            f = expect_failure(u("/loop-a"), "redirect loop", "redirect loop")
            assert "/loop-b" in f["reason"], f["reason"]
            assert srv.hits.get("/loop-a", 0) <= 2, "the loop was followed instead of detected"
        _()

        for name in ("pls", "m3u", "xspf", "asx"):
            @case(f"{name.upper()} playlist: broken first entry, second plays")
            def _(name=name):
                srv.requests.clear()
                expect_stream(u(f"/playlist.{name}"), kind_url=u("/audio.mp3"))
                paths = [p for p, _ in srv.requests]
                assert paths[0] == f"/playlist.{name}" and paths[1].startswith("/missing") and \
                    paths[2] == "/audio.mp3", f"entries not tried in order: {paths}"
            _()

        @case("playlist served as octet-stream is sniffed")
        def _():
            expect_stream(u("/sniffed-pls"), kind_url=u("/audio.mp3"))
        _()

        @case("TuneIn Tune.ashx answer (URL list as text/plain) is followed")
        def _():
            expect_stream(u("/Tune.ashx?id=s123"), kind_url=u("/audio.mp3"))
        _()

        @case("playlists nested 4 deep are followed")
        def _():
            expect_stream(u("/nested/4"), kind_url=u("/audio.mp3"))
        _()

        @case("playlists nested 5 deep are refused")
        def _():
            expect_failure(u("/nested/5"), "playlists nested too deeply", "more than 4 deep")
        _()

        @case("malformed XSPF names the document")
        def _():
            expect_failure(u("/bad.xspf"), "malformed document", "XSPF")
        _()

        @case("empty playlist")
        def _():
            expect_failure(u("/empty.pls"), "playlist has no entries", "/empty.pls")
        _()

        @case("every entry broken: each reason listed")
        def _():
            f = expect_failure(u("/all-broken.m3u"), "no playlist entry could be played", "HTTP 404")
            assert "web page" in f["reason"], f["reason"]
        _()

        @case("HLS playlist is a distinct outcome")
        def _():
            events, _ = probe("stream", u("/live.m3u8"))
            o = first(events, "opened")
            assert o and o["kind"] == "hls" and o["url"] == u("/live.m3u8"), events
            events, _ = probe("stream", u("/hls-as-m3u"))
            o = first(events, "opened")
            assert o and o["kind"] == "hls", f"HLS master served as audio/x-mpegurl: {events}"
        _()

        @case("HTML is a web page, not a stream")
        def _():
            expect_failure(u("/page.html"), "this URL is a web page, not a stream", "web page, not a stream")
            expect_failure(u("/untyped.html"), "this URL is a web page, not a stream", "/untyped.html")
        _()

        @case("text that is not a playlist")
        def _():
            expect_failure(u("/text"), "this URL is neither a stream nor a playlist", "text/plain")
        _()

        @case("undeclared and octet-stream audio is sniffed as media")
        def _():
            expect_stream(u("/untyped.mp3"))
            expect_stream(u("/octet.mp3"))
        _()

        @case("HTTP 404 is reported with the status")
        def _():
            expect_failure(u("/missing"), "HTTP error status", "HTTP 404 Not Found")
        _()

        @case("garbage is not an HTTP response")
        def _():
            expect_failure(u("/garbage"), "not an HTTP or ICY response", "/garbage")
        _()

        @case("1 MB of headers is refused at the limit")
        def _():
            expect_failure(u("/huge-headers"), "response header too large", "65536 bytes")
        _()

        @case("slow drip body is delivered completely")
        def _():
            events = expect_stream(u("/drip"), "--stall-ms", "1000", body=AUDIO[:200])
        _()

        @case("slow drip head times out")
        def _():
            expect_failure(u("/drip-head"), "timed out waiting for the response", "no complete response within 1000 ms",
                           "--response-ms", "1000")
        _()

        @case("live stream cut mid-frame reconnects with a reason")
        def _():
            events, data = probe("stream", u("/cut"), "--backoff-ms", "50", "--until-reconnects", "2")
            assert data[:FRAME + FRAME // 2] == AUDIO[:FRAME + FRAME // 2], "bytes before the cut differ"
            waits = [e for e in events if e["event"] == "status" and e["state"] == "reconnecting"]
            assert len(waits) >= 2, f"did not reconnect twice: {events}"
            assert "server closed the stream" in waits[0]["reason"], waits[0]
            assert srv.hits.get("/cut", 0) >= 2
        _()

        @case("backoff doubles up to its maximum, with jitter in [d/2, d]")
        def _():
            events, _ = probe("stream", u("/cut"), "--backoff-initial-ms", "100", "--backoff-max-ms", "400",
                              "--until-reconnects", "5")
            waits = [e["retry_ms"] for e in events if e["event"] == "status" and e["state"] == "reconnecting"]
            assert len(waits) >= 5, events
            for d, w in zip([100, 200, 400, 400, 400], waits):
                assert d / 2 <= w <= d, f"waits {waits} outside [d/2, d] for d = 100, 200, 400, 400, 400"
        _()

        @case("body shorter than Content-Length")
        def _():
            events, _ = probe("stream", u("/cut-length"), "--backoff-ms", "50", "--until-reconnects", "1")
            waits = [e for e in events if e["event"] == "status" and e["state"] == "reconnecting"]
            assert waits and "in the middle of the body" in waits[0]["reason"], events
        _()

        @case("stalled stream is detected and reconnected")
        def _():
            events, data = probe("stream", u("/stall"), "--stall-ms", "500", "--backoff-ms", "50",
                                 "--until-reconnects", "1")
            waits = [e for e in events if e["event"] == "status" and e["state"] == "reconnecting"]
            assert waits and "no data for 500 ms" in waits[0]["reason"], events
            assert data[:1000] == AUDIO[:1000]
        _()

        @case("reconnecting gives up after the attempt limit")
        def _():
            events, _ = probe("stream", u("/cut"), "--backoff-ms", "20", "--attempts", "3")
            end = first(events, "end")
            s = first([e for e in events if e["event"] == "summary"], "summary")
            assert end and end["error"] == "server closed the stream", events
            assert s["state"] == "failed" and "gave up after 3 attempts" in s["reason"], s
            assert srv.hits.get("/cut", 0) >= 4
        _()

        for path in ("/icy", "/icy-status"):
            @case(f"ICY metadata stripped and parsed ({path})")
            def _(path=path):
                events, data = probe("stream", u(path), "--until-bytes", str(len(AUDIO)), "--backoff-ms", "100")
                assert data[:len(AUDIO)] == AUDIO, "audio differs after metadata was stripped"
                metas = [e for e in events if e["event"] == "metadata"]
                assert metas[0]["station_name"] == "Fixture FM" and metas[0]["genre"] == "Test", metas[0]
                assert metas[0].get("bitrate_kbps") == 128, metas[0]
                titles = [m["now_playing"] for m in metas]
                assert "Ärtist - Tïtle" in titles, titles
                assert "Café del Mar" in titles, f"Latin-1 title not converted: {titles}"
                assert "It's quoted" in titles, f"unescaped quote mishandled: {titles}"
                m = next(m for m in metas if m["now_playing"] == "Ärtist - Tïtle")
                assert m["url"] == "http://example.org/now", m
            _()

        @case("ICY metadata block lying about its length")
        def _():
            events, data = probe("stream", u("/icy-lying"), "--backoff-ms", "50", "--until-reconnects", "1")
            titles = [e["now_playing"] for e in events if e["event"] == "metadata"]
            assert "First" in titles, titles
            waits = [e for e in events if e["event"] == "status" and e["state"] == "reconnecting"]
            assert waits and "ICY metadata block" in waits[0]["reason"], events
            assert data[:2000] == AUDIO[:2000], "audio before the lie differs"
        _()

        @case("fetch_document enforces its size limit")
        def _():
            events, _ = probe("fetch", u("/audio.mp3"), "--max-bytes", "1000")
            f = first(events, "failure")
            assert f and f["code"] == "document too large", events
            events, body = probe("fetch", u("/redirect/2"), "--max-bytes", "100000")
            d = first(events, "document")
            assert d and d["bytes"] == len(AUDIO) and body == AUDIO, events
        _()

    tls_cases()
    if failures:
        print(f"{len(failures)} case(s) failed:", file=sys.stderr)
        for f in failures:
            print(f"  {f}", file=sys.stderr)
        return 1
    log("all HTTP source cases passed")
    return 0


def tls_cases():
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)

        def ossl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True)
        ossl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=joincast test CA",
             "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"))
        ossl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(d / "srv.key"),
             "-out", str(d / "srv.csr"))
        (d / "ext").write_text("subjectAltName=DNS:localhost\n")
        ossl("x509", "-req", "-in", str(d / "srv.csr"), "-CA", str(d / "ca.pem"), "-CAkey", str(d / "ca.key"),
             "-CAcreateserial", "-days", "2", "-extfile", str(d / "ext"), "-out", str(d / "srv.pem"))
        with FixtureServer(tls=(str(d / "srv.pem"), str(d / "srv.key"))) as srv:
            @case("TLS verified against a trusted CA, with SNI")
            def _():
                expect_stream(srv.url("/audio.mp3", host="localhost"), "--ca", str(d / "ca.pem"))
                assert "localhost" in srv.sni, f"no SNI seen: {srv.sni}"
            _()

            @case("TLS with an untrusted certificate is refused")
            def _():
                expect_failure(srv.url("/audio.mp3", host="localhost"), "TLS handshake or certificate verification failed",
                               "certificate verify failed")
            _()

            @case("TLS certificate for another name is refused")
            def _():
                expect_failure(srv.url("/audio.mp3", host="127.0.0.1"), "TLS handshake or certificate verification failed",
                               "certificate verify failed", "--ca", str(d / "ca.pem"))
            _()


if __name__ == "__main__":
    sys.exit(main())
