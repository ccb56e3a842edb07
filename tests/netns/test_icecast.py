"""test_icecast.py — a real Icecast2 (Debian's icecast2) on loopback in a
lab namespace, fed by an ffmpeg source client (icecast:// output). Our
HTTP source (tests/drivers/source_probe) plays the mount: the audio it
delivers decodes with ffprobe as MP3, the ICY metadata is stripped, and a
title set through Icecast's admin API (/admin/metadata?mode=updinfo) reaches
our StreamMetadata within 2 s. (The SDP i= part is asserted once the media
pipeline carries metadata into SAP.)
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab import BUILD_DIR, Lab, log, wait_until  # noqa: E402

PROBE = BUILD_DIR / "tests" / "source_probe"
PORT = 8765
PASSWORD = "joincast-test"

ICECAST_XML = """<icecast>
  <location>lab</location><admin>test@localhost</admin>
  <limits><clients>10</clients><sources>2</sources><burst-size>8192</burst-size></limits>
  <authentication>
    <source-password>{pw}</source-password><relay-password>{pw}</relay-password>
    <admin-user>admin</admin-user><admin-password>{pw}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir><logdir>{dir}</logdir>
    <webroot>/usr/share/icecast2/web</webroot><adminroot>/usr/share/icecast2/admin</adminroot>
    <pidfile>{dir}/icecast.pid</pidfile>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog><loglevel>3</loglevel></logging>
  <security><chroot>0</chroot><changeowner><user>icecast2</user><group>icecast</group></changeowner></security>
</icecast>
"""


def main() -> int:
    for tool in ("icecast2", "ffmpeg", "ffprobe"):
        if subprocess.run(["which", tool], capture_output=True).returncode != 0:
            print(f"{tool} is not installed (scripts/install-deps.sh installs it)", file=sys.stderr)
            return 1
    with Lab("icecast") as lab:
        ns = lab.netns("ice")
        ice_dir = lab.tmp / "icecast"
        ice_dir.mkdir()
        user = pwd.getpwnam("icecast2")
        os.chown(ice_dir, user.pw_uid, user.pw_gid)
        os.chmod(lab.tmp, 0o755)
        conf = ice_dir / "icecast.xml"
        conf.write_text(ICECAST_XML.format(pw=PASSWORD, port=PORT, dir=ice_dir))
        ns.spawn("icecast2", "-c", str(conf), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def listening():
            return f":{PORT}" in ns.run("ss", "-ltn", check=False)
        wait_until(listening, 15, "icecast2 to listen")

        log("ffmpeg feeds /radio.mp3 as an Icecast source client")
        ns.spawn("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
                 "-i", "sine=frequency=440:sample_rate=44100", "-c:a", "libmp3lame", "-b:a", "128k",
                 "-content_type", "audio/mpeg", "-ice_name", "Lab Radio", "-ice_genre", "Test",
                 "-f", "mp3", f"icecast://source:{PASSWORD}@127.0.0.1:{PORT}/radio.mp3",
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def mounted():
            out = ns.run("python3", "-c",
                         f"import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:{PORT}/status-json.xsl').read().decode())",
                         check=False)
            try:
                return "source" in json.loads(out)["icestats"]
            except (ValueError, KeyError):
                return False
        wait_until(mounted, 15, "the mount to appear")

        out_file = lab.tmp / "audio.mp3"
        probe = ns.spawn(str(PROBE), "stream", f"http://127.0.0.1:{PORT}/radio.mp3", "--out", str(out_file),
                         "--seconds", "30", "--until-title", "Artist - Changed Title",
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
        song = urllib.parse.quote("Artist - Changed Title")
        auth = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
        url = f"http://127.0.0.1:{PORT}/admin/metadata?mount=/radio.mp3&mode=updinfo&song={song}"
        ns.run("python3", "-c",
               f"import urllib.request;r=urllib.request.Request('{url}',headers={{'Authorization':'Basic {auth}'}});"
               f"print(urllib.request.urlopen(r).read().decode())")
        t0 = time.monotonic()
        while True:
            e = read_event()
            if e["event"] == "metadata" and e["now_playing"] == "Artist - Changed Title":
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
