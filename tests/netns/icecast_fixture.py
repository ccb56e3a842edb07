"""icecast_fixture.py — a real Icecast2 (Debian's icecast2) on a lab
namespace's loopback, fed by an ffmpeg source client, for the tests and
benchmarks that play an Icecast station (tests/netns/test_icecast.py,
test_icecast_sdp.py, bench/e2e):

    ice = Icecast(lab, ns).start()            # listening on 127.0.0.1:8765
    ice.feed("/radio.mp3", name="Lab Radio")  # ffmpeg sends a 440 Hz MP3
    ice.url("/radio.mp3")                     # what a station entry points at
    ice.set_title("/radio.mp3", "Artist - Title")   # the admin metadata API

The namespace needs an IPv4 address besides loopback when it has a global
IPv6 one: icecast2 resolves its bind address with AI_ADDRCONFIG, which
then hides 127.0.0.1 ("Could not create listener socket").
"""

from __future__ import annotations

import base64
import json
import os
import pwd
import subprocess
import urllib.parse

from lab import Lab, Netns, wait_until

PASSWORD = "joincast-test"

_XML = """<icecast>
  <location>lab</location><admin>test@localhost</admin>
  <limits><clients>10</clients><sources>4</sources><burst-size>{burst}</burst-size></limits>
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


# What Icecast (the server and its ffmpeg source client) needs installed.
TOOLS = ("icecast2", "ffmpeg")


class Icecast:
    def __init__(self, lab: Lab, ns: Netns, port: int = 8765, burst_size: int = 65536):
        self.lab = lab
        self.ns = ns
        self.port = port
        self.burst_size = burst_size
        self.dir = lab.tmp / f"icecast-{ns.short}"

    def start(self) -> "Icecast":
        self.dir.mkdir()
        user = pwd.getpwnam("icecast2")
        # icecast2 drops to its own user: it must reach and write its dir.
        os.chown(self.dir, user.pw_uid, user.pw_gid)
        os.chmod(self.lab.tmp, 0o755)
        conf = self.dir / "icecast.xml"
        conf.write_text(_XML.format(pw=PASSWORD, port=self.port, dir=self.dir, burst=self.burst_size))
        self.proc = self.ns.spawn("icecast2", "-c", str(conf), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            wait_until(lambda: self.proc.poll() is not None or f":{self.port}" in self.ns.run("ss", "-ltn", check=False),
                       15, "icecast2 to listen")
        except AssertionError as e:
            raise AssertionError(f"{e}; icecast2 error.log: {self._log_tail()}") from None
        if self.proc.poll() is not None:
            raise AssertionError(f"icecast2 exited ({self.proc.returncode}): {self.proc.stdout.read()[-1000:]} "
                                 f"{self._log_tail()}")
        return self

    def _log_tail(self) -> str:
        log = self.dir / "error.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-10:]) if log.exists() else "(none)"

    def url(self, mount: str) -> str:
        return f"http://127.0.0.1:{self.port}{mount}"

    def feed(self, mount: str, name: str = "Lab Radio", genre: str = "Test", frequency: int = 440) -> None:
        """An ffmpeg source client sending a sine tone as 128 kbit/s MP3."""
        self.ns.spawn("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi",
                      "-i", f"sine=frequency={frequency}:sample_rate=44100", "-c:a", "libmp3lame", "-b:a", "128k",
                      "-content_type", "audio/mpeg", "-ice_name", name, "-ice_genre", genre,
                      "-f", "mp3", f"icecast://source:{PASSWORD}@127.0.0.1:{self.port}{mount}",
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: mount in self.mounts(), 15, f"Icecast mount {mount}")

    def _get(self, path: str, auth: bool = False) -> str:
        headers = ""
        if auth:
            token = base64.b64encode(f"admin:{PASSWORD}".encode()).decode()
            headers = f",headers={{'Authorization':'Basic {token}'}}"
        return self.ns.run("python3", "-c",
                           "import urllib.request;"
                           f"r=urllib.request.Request('http://127.0.0.1:{self.port}{path}'{headers});"
                           "print(urllib.request.urlopen(r,timeout=10).read().decode())", check=False)

    def mounts(self) -> list[str]:
        try:
            src = json.loads(self._get("/status-json.xsl"))["icestats"].get("source", [])
        except (ValueError, KeyError):
            return []
        if isinstance(src, dict):
            src = [src]
        return [urllib.parse.urlparse(s.get("listenurl", "")).path for s in src]

    def set_title(self, mount: str, title: str) -> str:
        """Icecast's admin metadata API: the mount's StreamTitle becomes title."""
        q = urllib.parse.urlencode({"mount": mount, "mode": "updinfo", "song": title})
        out = self._get(f"/admin/metadata?{q}", auth=True)
        if "<return>1</return>" not in out:
            raise AssertionError(f"Icecast refused the title change for {mount}: {out.strip()[:300]}")
        return out
