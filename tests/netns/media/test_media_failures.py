#!/usr/bin/env python3
"""test_media_failures.py — bad input fails one session, clearly, and
nothing else.

Next to a healthy session (whose listener must keep receiving without a
gap), the engine is given: random bytes of no declared type, an HTML page
served as a playlist, a FLAC stream in Ogg (a codec RTP cannot carry
here), a group that is not multicast, an interface that does not exist, a
missing file, addresses of different families. Each is
refused at start or fails with a message that names what was wrong; a
session that had announced itself deletes its announcement. A file that
simply ends ends its session cleanly: BYE and SAP deletion, an `ended`
event.
"""

import os
import sys

from media_lab import Driver, GROUP, Lab, Listener, log, make_media, topology, wait_until


def main() -> int:
    with Lab("media-failures") as lab:
        head, rx = topology(lab)
        driver = Driver(lab, head)
        healthy = driver.start(GROUP, {"type": "file", "path": str(make_media(lab, "mp3", 6)), "loop": True})
        driver.wait(healthy, "started")
        listener = Listener(rx, GROUP, "--no-rtcp", "--interval", "1")

        garbage = lab.tmp / "garbage.bin"
        garbage.write_bytes(os.urandom(200_000))
        html = lab.tmp / "station.pls"
        html.write_text("<!DOCTYPE html><html><head><title>Not a stream</title></head><body>" + "x" * 40000 + "</body></html>")
        flac = lab.tmp / "tone.oga"
        lab.run(["ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
                 "sine=frequency=440:duration=5", "-c:a", "flac", "-f", "ogg", str(flac)])

        failing = {
            "random bytes": ({"type": "file", "path": str(garbage)}, "ff3e:40:2001:db8:d0be:f00d:8000:31"),
            "an HTML page": ({"type": "file", "path": str(html)}, "ff3e:40:2001:db8:d0be:f00d:8000:32"),
            "FLAC in Ogg": ({"type": "file", "path": str(flac)}, "ff3e:40:2001:db8:d0be:f00d:8000:33"),
        }
        ids = {name: driver.start(g, src) for name, (src, g) in failing.items()}
        for name, sid in ids.items():
            e = driver.wait(sid, "failed", timeout=15)
            s = driver.stats(sid)
            log(f"{name}: failed: {e.get('message')}")
            assert s["state"] == "failed" and s["error"], s
            assert s["rtp_packets"] == 0, s
        assert "flac" in driver.stats(ids["FLAC in Ogg"])["error"].lower()

        refused = [
            ({"cmd": "start", "group": "2001:db8::99", "interface": "eth0", "source": {"type": "tone"}}, "not a multicast"),
            ({"cmd": "start", "group": GROUP, "interface": "nope0", "source": {"type": "tone"}}, "nope0"),
            ({"cmd": "start", "group": GROUP, "interface": "eth0",
              "source": {"type": "file", "path": str(lab.tmp / "missing.mp3")}}, "missing.mp3: No such file"),
            ({"cmd": "start", "group": "239.255.0.9", "interface": "eth0", "source_address": "2001:db8:d0be:f00d::1",
              "source": {"type": "tone"}}, "families"),
        ]
        for req, words in refused:
            r = driver.request(req)
            log(f"refused: {r.get('error')}")
            assert not r["ok"] and words in r["error"], r

        # A file that ends: its session ends cleanly and says goodbye.
        ending = driver.start("ff3e:40:2001:db8:d0be:f00d:8000:34",
                              {"type": "file", "path": str(make_media(lab, "aac", 2)), "loop": False})
        end_listener = Listener(rx, "ff3e:40:2001:db8:d0be:f00d:8000:34", "--no-rtcp")
        driver.wait(ending, "ended", timeout=15)
        end_listener.until(lambda e: e.get("event") == "sap" and e.get("deletion"), 5, "the deletion at the end")
        end_listener.stop()
        assert any(e.get("event") == "bye" for e in end_listener.events), "no RTCP BYE at the end"
        s = driver.stats(ending)
        assert s["state"] == "ended" and s["rtp_packets"] > 0 and s["sap_deletions"] >= 1, s
        log(f"a 2 s file ended after {s['media_seconds']:.2f} s of media: BYE and deletion sent")

        # The healthy session never noticed.
        listener.until(lambda e: e.get("event") == "stats" and e["rtp"] and e["rtp"]["packets"] > 100, 15,
                       "the healthy stream to keep flowing")
        listener.stop()
        summary = listener.until(lambda e: e.get("event") == "summary", 5, "the summary")
        assert summary["rtp"]["lost"] == 0, summary
        assert driver.stats(healthy)["state"] == "running"
        log(f"healthy session: {summary['rtp']['packets']} packets, none lost")
        driver.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
