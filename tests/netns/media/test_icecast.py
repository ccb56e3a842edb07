"""test_icecast.py — a real Icecast2 (Debian's icecast2) on loopback in a
lab namespace, fed by an ffmpeg source client (icecast:// output). Our
HTTP source (tests/drivers/source_probe) plays the mount: the audio it
delivers decodes with ffprobe as MP3, the ICY metadata is stripped, and a
title set through Icecast's admin API (/admin/metadata?mode=updinfo) reaches
our StreamMetadata within 2 s. test_icecast_sdp.py follows the same title
on through the daemon into the SAP's SDP i=.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from icecast_fixture import TOOLS as ICECAST_TOOLS, Icecast  # noqa: E402
from lab import BUILD_DIR, Lab, log, require_tools  # noqa: E402

PROBE = BUILD_DIR / "tests" / "source_probe"
TITLE = "Artist - Changed Title"


def main() -> int:
    if not require_tools(*ICECAST_TOOLS, "ffprobe"):
        return 1
    with Lab("icecast") as lab:
        ns = lab.netns("ice")
        ice = Icecast(lab, ns, burst_size=8192).start()
        log("ffmpeg feeds /radio.mp3 as an Icecast source client")
        ice.feed("/radio.mp3", name="Lab Radio", genre="Test")

        out_file = lab.tmp / "audio.mp3"
        probe = ns.spawn(str(PROBE), "stream", ice.url("/radio.mp3"), "--out", str(out_file),
                         "--seconds", "30", "--until-title", TITLE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        events = []

        def read_event():
            line = probe.stdout.readline()
            if not line:
                raise AssertionError(f"source_probe ended: {probe.stderr.read()}")
            e = json.loads(line)
            events.append(e)
            return e

        # Opened, with the station name from icy-name.
        while True:
            e = read_event()
            if e["event"] == "metadata" and e["station_name"]:
                break
            assert e["event"] not in ("failure", "end"), e
        assert e["station_name"] == "Lab Radio" and e["genre"] == "Test", e
        time.sleep(1)

        log("title set through the admin API")
        ice.set_title("/radio.mp3", TITLE)
        t0 = time.monotonic()
        while True:
            e = read_event()
            if e["event"] == "metadata" and e["now_playing"] == TITLE:
                break
            assert e["event"] not in ("failure", "end"), e
        elapsed = time.monotonic() - t0
        log(f"title arrived after {elapsed:.2f} s")
        assert elapsed < 2.0, f"title took {elapsed:.2f} s (limit 2 s)"
        probe.wait(timeout=10)
        summary = [json.loads(l) for l in probe.stdout.read().splitlines() if l.strip()]
        s = next(x for x in summary if x["event"] == "summary")
        assert s["bytes"] > 16000, s

        log("the delivered bytes are clean MP3 (metadata stripped)")
        r = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,sample_rate",
                            "-of", "json", str(out_file)], capture_output=True, text=True)
        info = json.loads(r.stdout)["streams"][0]
        assert info["codec_name"] == "mp3" and info["sample_rate"] == "44100", info
        r = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out_file), "-f", "null", "-"], capture_output=True,
                           text=True)
        assert r.returncode == 0 and "StreamTitle" not in out_file.read_bytes().decode("latin-1"), \
            f"decode errors or metadata left in the audio: {r.stderr[:500]}"
    log("icecast test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
