"""test_directories.py — station directories in a running joincastd. A
fixture server in the lab namespace serves an Icecast yp.xml, a
radio-browser API (with a dead mirror listed first) and a TuneIn OPML;
the test rewrites them between refreshes and asserts through
`joincast directories --json` and `joincast map --json` that:
  - numbers are assigned in first-seen order and never change meaning
    across a refresh that reorders, adds and removes stations;
  - a vanished station keeps its number, shown as reserved;
  - malformed XML, an absurdly large document and an unreachable server
    each give an error naming the directory while the previous good list
    stays in use, also across a daemon restart (the cached copy);
  - duplicates are reported as warnings;
  - radio-browser is asked with the configured filters, ordered by
    popularity, with a real User-Agent, and a play counts a click.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lab import Daemon, Lab, log, wait_until  # noqa: E402

FIXTURE = Path(__file__).resolve().parents[1] / "http_fixture.py"


def yp(entries, extra=""):
    out = '<?xml version="1.0" encoding="UTF-8"?>\n<directory>\n'
    for name, url in entries:
        out += (f"<entry><server_name>{name}</server_name><listen_url>{url}</listen_url>"
                "<server_type>audio/mpeg</server_type><bitrate>128</bitrate><genre>Test</genre>"
                "<current_song>x</current_song></entry>\n")
    return out + extra + "</directory>\n"


RADIO = json.dumps([
    {"stationuuid": "9617a958-0601-11e8-ae97-52543be04c81", "name": "Popular", "url": "http://p/",
     "url_resolved": "http://p/live", "tags": "jazz", "countrycode": "DE", "codec": "MP3", "bitrate": 128},
    {"stationuuid": "960e57c5-0601-11e8-ae97-52543be04c81", "name": "Less popular", "url": "http://l/",
     "url_resolved": "", "tags": "jazz", "countrycode": "DE", "codec": "MP3", "bitrate": 64},
])

OPML = """<?xml version="1.0" encoding="UTF-8"?><opml version="1"><head><status>200</status></head><body>
<outline text="Stations"><outline type="audio" text="Tuned" URL="http://opml/Tune.ashx?id=s1" guide_id="s1"
 bitrate="128" formats="mp3"/></outline></body></opml>"""


def main() -> int:
    with Lab("dirs") as lab:
        ns = lab.netns("hd")
        docroot = lab.tmp / "docroot"
        docroot.mkdir()
        (docroot / "yp.xml").write_text(yp([("A", "http://a/1"), ("B", "http://b/2"), ("C", "http://c/3")]))
        (docroot / "radio.json").write_text(RADIO)
        (docroot / "tunein.opml").write_text(OPML)
        fixture = ns.spawn(sys.executable, "-u", str(FIXTURE), "serve", str(docroot), stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE)
        port = int(fixture.stdout.readline())
        base = f"http://127.0.0.1:{port}"

        def stats():
            out = ns.run("python3", "-c", f"import urllib.request;print(urllib.request.urlopen('{base}/stats').read().decode())")
            return json.loads(out)

        config = f"""
[daemon]
state_dir = "@STATE@"
control_socket = "@SOCKET@"

[address_plan]
ipv6_prefix = "2001:db8:d0be:f00d::/64"

[http]
user_agent = "joincast-test/1.0 (+https://example.org/joincast)"
response_timeout = "2s"

[[directory]]
name = "xiph"
type = "icecast"
slot = 0
url = "{base}/files/yp.xml"
max_bytes = 20000

[[directory]]
name = "rb"
type = "radio-browser"
slot = 1
servers = ["{base}/rb-down", "{base}/rb"]
tag = "jazz"
country = "DE"
codec = "MP3"
limit = 50

[[directory]]
name = "tunein"
type = "tunein"
slot = 2
base_url = "{base}/tunein"
browse = "c=music"

[[directory]]
name = "test"
type = "test"
slot = 3
"""
        d = Daemon(lab, ns, config).start()

        def dirs():
            return {x["name"]: x for x in d.cli("directories")["directories"]}

        def numbers(name):
            return {s["name"]: (s["number"], s["listed"]) for s in dirs()[name]["stations"]}

        wait_until(lambda: all(x["listed"] > 0 for x in dirs().values()), 15, "every directory listed")
        log("first sight: numbers in document order")
        assert numbers("xiph") == {"A": (0, True), "B": (1, True), "C": (2, True)}, numbers("xiph")
        assert numbers("rb") == {"Popular": (0, True), "Less popular": (1, True)}, numbers("rb")
        assert numbers("tunein") == {"Tuned": (0, True)}, numbers("tunein")
        assert numbers("test")["Test tone 440 Hz (MP3)"] == (0, True)
        st = dirs()["xiph"]["stations"]
        assert st[1]["group"] == "ff3e:40:2001:db8:d0be:f00d:8000:1" and st[1]["group_v4"] == "239.255.0.1", st[1]
        m = d.cli("map", "ff3e:40:2001:db8:d0be:f00d:9000:1")
        assert m["directory"] == "rb" and m["name"] == "Less popular" and m["url"] == "http://l/", m
        m = d.cli("map", "xiph/2")
        assert m["group"] == "ff3e:40:2001:db8:d0be:f00d:8000:2" and m["name"] == "C", m

        log("radio-browser: dead mirror skipped, filters, popularity order, User-Agent")
        reqs = [(p, h) for p, h in stats()["requests"] if p.startswith("/rb")]
        assert reqs[0][0].startswith("/rb-down/json/stations/search"), reqs
        search = next(p for p, _ in reqs if p.startswith("/rb/json/stations/search"))
        for part in ("tag=jazz", "countrycode=DE", "codec=MP3", "order=clickcount", "reverse=true", "limit=50",
                     "hidebroken=true"):
            assert part in search, f"{part} missing from {search}"
        assert all(h.get("user-agent") == "joincast-test/1.0 (+https://example.org/joincast)" for _, h in reqs), reqs

        log("playing a radio-browser station counts a click")
        w = d.watch(["catalogue"])
        r = d.request({"cmd": "resolve", "group": "ff3e:40:2001:db8:d0be:f00d:9000:0", "play": True})
        assert r["ok"] and r["name"] == "Popular", r
        e = w.wait_for(lambda e: e.get("event") == "play-url", 10, "play-url event")
        assert e["url"] == f"{base}/audio.mp3" and e["error"] == "", e
        assert stats()["clicks"] == {"9617a958-0601-11e8-ae97-52543be04c81": 1}, stats()["clicks"]

        def refresh_and_wait(name):
            before = dirs()[name]["attempts"]
            d.cli("directories", "--refresh", "--summary")
            wait_until(lambda: dirs()[name]["attempts"] > before, 15,
                       f"{name} to refresh")
            return dirs()[name]

        log("refresh that reorders, adds and removes: numbers keep their meaning")
        (docroot / "yp.xml").write_text(yp([("D", "http://d/4"), ("C", "http://c/3"), ("A", "http://a/1")]))
        x = refresh_and_wait("xiph")
        assert x["error"] == "", x
        assert numbers("xiph") == {"A": (0, True), "B": (1, False), "C": (2, True), "D": (3, True)}, numbers("xiph")
        assert x["listed"] == 3 and x["reserved"] == 1, x
        r = d.request({"cmd": "resolve", "group": "ff3e:40:2001:db8:d0be:f00d:8000:1"})
        assert not r["ok"] and "no longer listed" in r["error"], r
        (docroot / "yp.xml").write_text(yp([("B back", "http://b/2"), ("E", "http://e/5")]))
        refresh_and_wait("xiph")
        n = numbers("xiph")
        assert n["B back"] == (1, True) and n["E"] == (4, True) and n["A"] == (0, False), n

        log("duplicates are warnings")
        (docroot / "yp.xml").write_text(yp([("A", "http://a/1"), ("A2", "http://a/1"), ("C", "http://c/3")]))
        x = refresh_and_wait("xiph")
        assert x["warnings"] == ["1 duplicate entries ignored"] and x["error"] == "", x

        log("malformed XML: error names the directory, previous list kept")
        (docroot / "yp.xml").write_text('<?xml version="1.0"?><directory><entry><listen_url>http://x/')
        x = refresh_and_wait("xiph")
        assert x["error"].startswith("directory xiph: ") and "malformed XML" in x["error"], x
        assert "keeping the previous list" in x["error"], x
        assert numbers("xiph")["C"] == (2, True), numbers("xiph")

        log("absurd size: refused before it is read")
        (docroot / "yp.xml").write_text(yp([(f"S{i}", f"http://s/{i}") for i in range(400)]))
        x = refresh_and_wait("xiph")
        assert "directory xiph" in x["error"] and "larger than 20000 bytes" in x["error"], x
        assert numbers("xiph")["C"] == (2, True)

        log("entity expansion is refused")
        (docroot / "yp.xml").write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><directory>&a;</directory>')
        x = refresh_and_wait("xiph")
        assert "entity declarations are not accepted" in x["error"], x

        log("unreachable server at restart: the cached copy is used, numbers unchanged")
        d.stop()
        fixture.stdin.close()
        fixture.wait(timeout=10)
        d.start()
        wait_until(lambda: dirs()["xiph"]["error"] != "", 15, "xiph to fail its refresh")
        x = dirs()["xiph"]
        assert "directory xiph" in x["error"] and "127.0.0.1" in x["error"], x
        n = numbers("xiph")
        assert n["A"] == (0, True) and n["C"] == (2, True) and n["B back"] == (1, False), n
        assert numbers("rb") == {"Popular": (0, True), "Less popular": (1, True)}, numbers("rb")
        d.stop()
    log("directory test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
