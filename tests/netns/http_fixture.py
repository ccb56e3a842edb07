"""http_fixture.py — a deliberately badly behaved HTTP server for the
source tests (python stdlib only). Each path is one behaviour: redirects
and loops, every playlist format, HTML, "ICY 200 OK", garbage, a slow drip,
1 MB of headers, a stream cut mid-frame, ICY metadata that lies about its
length, chunked bodies, a stall. Responses are written by hand on the raw
socket so they can be as wrong as the tests need.

    with FixtureServer() as srv:          # plain HTTP on 127.0.0.1
        srv.url("/audio.mp3")
    with FixtureServer(tls=(cert, key)):  # HTTPS; srv.sni lists SNI names seen
"""

from __future__ import annotations

import socket
import ssl
import threading
import time

# A deterministic "MP3": frame headers (MPEG-1 layer III, 128 kb/s, 44.1 kHz,
# 417-byte frames) around a counting payload, so bytes can be compared.
FRAME = 417


def mp3_bytes(n_frames: int) -> bytes:
    out = bytearray()
    for i in range(n_frames):
        payload = bytes(((i * 7 + k) % 251) for k in range(FRAME - 4))
        out += b"\xff\xfb\x90\x64" + payload
    return bytes(out)


AUDIO = mp3_bytes(40)  # 16680 bytes


def icy_block(text: str, encoding: str = "utf-8") -> bytes:
    raw = text.encode(encoding)
    n = (len(raw) + 15) // 16
    return bytes([n]) + raw + b"\0" * (n * 16 - len(raw))


def icy_interleave(audio: bytes, metaint: int, blocks: list[bytes]) -> bytes:
    """audio with blocks[i] after the i-th metaint bytes (b'\\0' after the rest)."""
    out = bytearray()
    for i in range(0, len(audio), metaint):
        chunk = audio[i:i + metaint]
        out += chunk
        if len(chunk) == metaint:
            k = i // metaint
            out += blocks[k] if k < len(blocks) else b"\0"
    return bytes(out)


def head(status: str, headers: list[tuple[str, str]], version: str = "HTTP/1.1") -> bytes:
    lines = [f"{version} {status}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def response(status: str, ctype: str | None, body: bytes, extra: list[tuple[str, str]] | None = None) -> bytes:
    h = [("Content-Length", str(len(body))), ("Connection", "close")]
    if ctype:
        h.insert(0, ("Content-Type", ctype))
    return head(status, h + (extra or [])) + body


class FixtureServer:
    def __init__(self, tls: tuple[str, str] | None = None, host: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(64)
        self.host = host
        self.port = self.sock.getsockname()[1]
        self.tls = None
        self.sni: list[str | None] = []
        self.requests: list[tuple[str, dict]] = []
        self.hits: dict[str, int] = {}
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)

            def on_sni(_sock, name, _ctx):
                self.sni.append(name)
            ctx.sni_callback = on_sni
            self.tls = ctx
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str | None = None) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass

    # -- serving -------------------------------------------------------------
    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket):
        try:
            if self.tls:
                conn = self.tls.wrap_socket(conn, server_side=True)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                data += chunk
            lines = data.split(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
            self.requests.append((path, headers))
            self.hits[path] = self.hits.get(path, 0) + 1
            self.route(conn, path, headers)
        except (OSError, ssl.SSLError):
            pass
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def route(self, conn, path: str, headers: dict):
        u = self.url
        send = conn.sendall
        if path == "/audio.mp3":
            send(response("200 OK", "audio/mpeg", AUDIO))
        elif path == "/octet.mp3":
            send(response("200 OK", "application/octet-stream", AUDIO))
        elif path == "/untyped.mp3":
            send(response("200 OK", None, AUDIO))
        elif path == "/chunked.mp3":
            out = head("200 OK", [("Content-Type", "audio/mpeg"), ("Transfer-Encoding", "chunked")])
            for i in range(0, len(AUDIO), 1000):
                c = AUDIO[i:i + 1000]
                out += f"{len(c):x}\r\n".encode() + c + b"\r\n"
            send(out + b"0\r\n\r\n")
        elif path == "/http10.mp3":
            # HTTP/1.0, no length: the body ends when the connection closes.
            send(head("200 OK", [("Content-Type", "audio/mpeg")], "HTTP/1.0") + AUDIO)
        elif path.startswith("/redirect/"):
            n = int(path.split("/")[2])
            target = "/audio.mp3" if n <= 1 else f"/redirect/{n - 1}"
            send(response("302 Found", "text/html", b"moved", [("Location", u(target))]))
        elif path == "/relative-redirect":
            send(response("301 Moved Permanently", None, b"", [("Location", "sub/../audio.mp3")]))
        elif path == "/loop-a":
            send(response("302 Found", None, b"", [("Location", "/loop-b")]))
        elif path == "/loop-b":
            send(response("307 Temporary Redirect", None, b"", [("Location", u("/loop-a"))]))
        elif path == "/missing":
            send(response("404 Not Found", "text/plain", b"no such station"))
        elif path == "/playlist.pls":
            body = (f"[playlist]\nNumberOfEntries=2\nFile2={u('/audio.mp3')}\nTitle2=good\n"
                    f"File1={u('/missing')}\nTitle1=broken\nVersion=2\n").encode()
            send(response("200 OK", "audio/x-scpls", body))
        elif path == "/playlist.m3u":
            body = f"#EXTM3U\n#EXTINF:-1,broken\n/missing\n#EXTINF:-1,good\naudio.mp3\n".encode()
            send(response("200 OK", "audio/x-mpegurl", body))
        elif path == "/playlist.xspf":
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<playlist version="1" '
                    f'xmlns="http://xspf.org/ns/0/"><trackList>'
                    f'<track><title>broken</title><location>{u("/missing")}</location></track>'
                    f'<track><title>good</title><location>{u("/audio.mp3")}</location></track>'
                    f'</trackList></playlist>').encode()
            send(response("200 OK", "application/xspf+xml", body))
        elif path == "/playlist.asx":
            body = (f'<ASX version="3.0"><Title>x</Title><Entry><Ref href="{u("/missing")}?a=1&b=2"/></Entry>'
                    f'<Entry><REF HREF="{u("/audio.mp3")}" /></Entry></ASX>').encode()
            send(response("200 OK", "video/x-ms-asf", body))
        elif path == "/sniffed-pls":
            body = f"[playlist]\nFile1={u('/audio.mp3')}\n".encode()
            send(response("200 OK", "application/octet-stream", body))
        elif path.startswith("/nested/"):
            n = int(path.split("/")[2])
            target = u("/audio.mp3") if n <= 1 else u(f"/nested/{n - 1}")
            send(response("200 OK", "audio/x-mpegurl", f"{target}\n".encode()))
        elif path == "/bad.xspf":
            send(response("200 OK", "application/xspf+xml", b"<playlist><trackList><track>"))
        elif path == "/empty.pls":
            send(response("200 OK", "audio/x-scpls", b"[playlist]\nNumberOfEntries=0\n"))
        elif path == "/all-broken.m3u":
            send(response("200 OK", "audio/x-mpegurl", f"{u('/missing')}\n{u('/page.html')}\n".encode()))
        elif path == "/live.m3u8":
            body = b"#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXTINF:6.0,\nseg0.aac\n"
            send(response("200 OK", "application/vnd.apple.mpegurl", body))
        elif path == "/hls-as-m3u":
            body = b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=128000\nlow/index.m3u8\n"
            send(response("200 OK", "audio/x-mpegurl", body))
        elif path == "/page.html":
            send(response("200 OK", "text/html; charset=utf-8", b"<!DOCTYPE html><html><body>Radio!</body></html>"))
        elif path == "/untyped.html":
            send(response("200 OK", None, b"\n  <!doctype html><html><head><title>x</title></head></html>"))
        elif path == "/text":
            send(response("200 OK", "text/plain", b"hello, this is not a stream\n"))
        elif path == "/garbage":
            send(bytes((i * 37 + 11) % 256 for i in range(4096)))
        elif path == "/huge-headers":
            out = b"HTTP/1.1 200 OK\r\nContent-Type: audio/mpeg\r\n"
            filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
            out += filler * 1024  # ~1 MB of header lines
            try:
                send(out + b"\r\n" + AUDIO)
            except OSError:
                pass  # the client hung up once it had seen enough: that is the point
        elif path == "/drip":
            send(head("200 OK", [("Content-Type", "audio/mpeg"), ("Content-Length", "200")]))
            for b in AUDIO[:200]:
                send(bytes([b]))
                time.sleep(0.01)
        elif path == "/drip-head":
            for b in head("200 OK", [("Content-Type", "audio/mpeg"), ("X-Slow", "y" * 200)]):
                send(bytes([b]))
                time.sleep(0.05)
        elif path == "/cut":
            # A live stream (no length) that dies 1.5 frames in.
            send(head("200 OK", [("Content-Type", "audio/mpeg")], "HTTP/1.0") + AUDIO[:FRAME + FRAME // 2])
        elif path == "/cut-length":
            send(head("200 OK", [("Content-Type", "audio/mpeg"), ("Content-Length", str(len(AUDIO)))])
                 + AUDIO[:FRAME + FRAME // 2])
        elif path == "/stall":
            send(head("200 OK", [("Content-Type", "audio/mpeg")], "HTTP/1.0") + AUDIO[:1000])
            time.sleep(5)
        elif path in ("/icy", "/icy-status"):
            metaint = 1000
            blocks = [icy_block("StreamTitle='Ärtist - Tïtle';StreamUrl='http://example.org/now';"),
                      b"\0",
                      icy_block("StreamTitle='Caf\xe9 del Mar';", "latin-1"),
                      icy_block("StreamTitle='It's quoted';")]
            body = icy_interleave(AUDIO, metaint, blocks)
            h = [("Content-Type", "audio/mpeg"), ("icy-metaint", str(metaint)), ("icy-name", "Fixture FM"),
                 ("icy-genre", "Test"), ("icy-url", "http://fixture.example/"), ("icy-br", "128")]
            status_line = "ICY 200 OK\r\n" if path == "/icy-status" else "HTTP/1.0 200 OK\r\n"
            send(status_line.encode() + ("\r\n".join(f"{k}: {v}" for k, v in h) + "\r\n\r\n").encode() + body)
        elif path == "/icy-lying":
            # The second block claims 1×16 bytes but carries 48: the rest of
            # it lands in the audio and the next "length byte" is audio.
            metaint = 1000
            good = icy_block("StreamTitle='First';")
            lie = bytes([1]) + b"StreamTitle='This title is much too long';".ljust(48, b"\0")
            out = AUDIO[:metaint] + good + AUDIO[metaint:2 * metaint] + lie + AUDIO[2 * metaint:6 * metaint]
            h = [("Content-Type", "audio/mpeg"), ("icy-metaint", str(metaint))]
            send(head("200 OK", h, "HTTP/1.0") + out)
            time.sleep(1)
        elif path.startswith("/Tune.ashx"):
            # TuneIn answers Tune.ashx with a bare URL list as text/plain.
            send(response("200 OK", "text/plain; charset=utf-8", f"{u('/audio.mp3')}\n".encode()))
        elif path == "/headers":
            body = repr(headers).encode()
            send(response("200 OK", "text/plain", body))
        else:
            send(response("404 Not Found", "text/plain", b"unknown fixture path"))


class DirectoryFixture(FixtureServer):
    """Serves directory documents from docroot, which a test rewrites
    between refreshes: /files/NAME, a radio-browser API under /rb/ (search
    answers docroot/radio.json, /json/url/UUID counts a click), a dead
    radio-browser mirror under /rb-down/, and TuneIn under /tunein/."""

    def __init__(self, docroot: str, **kw):
        self.docroot = docroot
        self.clicks: dict[str, int] = {}
        super().__init__(**kw)

    def _file(self, name: str) -> bytes:
        with open(f"{self.docroot}/{name}", "rb") as f:
            return f.read()

    def route(self, conn, path: str, headers: dict):
        send = conn.sendall
        if path.startswith("/files/"):
            name = path[len("/files/"):]
            ctype = {"xml": "application/xml", "json": "application/json", "opml": "text/x-opml"}.get(
                name.rsplit(".", 1)[-1], "application/octet-stream")
            try:
                send(response("200 OK", ctype, self._file(name)))
            except FileNotFoundError:
                send(response("404 Not Found", "text/plain", b"no such file"))
        elif path.startswith("/rb/json/stations/search"):
            send(response("200 OK", "application/json", self._file("radio.json")))
        elif path.startswith("/rb/json/url/"):
            uuid = path.rsplit("/", 1)[1]
            self.clicks[uuid] = self.clicks.get(uuid, 0) + 1
            body = f'{{"ok":true,"message":"retrieved station url","stationuuid":"{uuid}",' \
                   f'"url":"{self.url("/audio.mp3")}"}}'.encode()
            send(response("200 OK", "application/json", body))
        elif path.startswith("/rb-down/"):
            send(response("503 Service Unavailable", "text/plain", b"down"))
        elif path.startswith("/tunein/Browse.ashx") or path.startswith("/tunein/Search.ashx"):
            send(response("200 OK", "text/x-opml", self._file("tunein.opml")))
        elif path == "/stats":
            import json as _json
            body = _json.dumps({"clicks": self.clicks,
                                "requests": [[p, h] for p, h in self.requests]}).encode()
            send(response("200 OK", "application/json", body))
        else:
            super().route(conn, path, headers)


def main(argv: list[str]) -> int:
    """`http_fixture.py serve DOCROOT`: runs a DirectoryFixture on
    127.0.0.1, prints its port, and serves until stdin closes."""
    import sys as _sys
    if len(argv) != 3 or argv[1] != "serve":
        print("usage: http_fixture.py serve DOCROOT", file=_sys.stderr)
        return 2
    srv = DirectoryFixture(argv[2])
    print(srv.port, flush=True)
    _sys.stdin.read()
    srv.close()
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main(sys.argv))
