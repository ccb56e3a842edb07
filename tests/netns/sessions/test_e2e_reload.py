"""SIGHUP reloads the configuration without dropping a running stream: a
listener keeps receiving the same SSRC with no sequence gap and no SAP
deletion while a directory is added and session settings change; a
configuration with an error is refused and the running one stays."""

import json
import signal
import subprocess
import sys
import time

from lab import JOINCAST, Daemon, Lab, log, wait_until

PREFIX = "2001:db8:d0be:f00d"

CONFIG = """
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = ["br0"]
bpf_pin_root = "{pins}"
[address_plan]
ipv6_prefix = "{prefix}::/64"
[[directory]]
name = "test"
type = "test"
slot = 0
[sessions]
interface = "br0"
sap_interval = "{sap}"
{extra}
"""


def main() -> int:
    with Lab("e2ereload") as lab:
        router, c1 = lab.netns("router"), lab.netns("c1")
        lab.veth(router, "p1", c1, "eth0")
        lab.bridge(router, "br0", ["p1"])
        lab.addr(router, "br0", f"{PREFIX}::1/64")
        lab.addr(c1, "eth0", f"{PREFIX}::11/64")
        pins = lab.bpffs() / "joincast"
        d = Daemon(lab, router, CONFIG.format(pins=pins, prefix=PREFIX, sap="1s", extra="")).start()
        watch = d.watch(["sessions"])
        group = d.cli("map", "0")["group"]

        log(f"a listener receives {group}")
        listener = c1.spawn(str(JOINCAST), "listen", group, "--interface", "eth0", "--json", "--interval", "0.5",
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        wait_until(lambda: any(s["state"] == "running" for s in d.cli("sessions")["sessions"]), 10, "the stream")
        ssrc = d.cli("sessions")["sessions"][0]["media"]["ssrc"]
        time.sleep(2)

        log("reload: a static directory added in slot 1, SAP every 2 s")
        d.config_path.write_text(CONFIG.format(pins=pins, prefix=PREFIX, sap="2s", extra="""
[[directory]]
name = "local"
type = "static"
slot = 1
[[directory.station]]
name = "Local file"
url = "file:///nonexistent.mp3"
"""))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "configuration " in d.log() and "reloaded" in d.log(), 10, "the reload")
        wait_until(lambda: any(x["name"] == "local" for x in d.cli("directories")["directories"]), 10,
                   "the new directory")
        time.sleep(2)

        log("reload with an error: refused, nothing changes")
        d.config_path.write_text(d.config_path.read_text().replace('sap_interval = "2s"', 'sap_interval = "often"'))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in d.log(), 10, "the refusal")
        assert "sessions.sap_interval" in d.log(), d.log()
        time.sleep(2)

        session = d.cli("sessions")["sessions"]
        assert len(session) == 1 and session[0]["state"] == "running", session
        assert session[0]["media"]["ssrc"] == ssrc, (ssrc, session[0]["media"]["ssrc"])
        listener.send_signal(signal.SIGTERM)
        out, _ = listener.communicate(timeout=20)
        lines = [json.loads(l) for l in out.splitlines()]
        summary = [l for l in lines if l.get("event") == "summary"][-1]
        deletions = [l for l in lines if l.get("event") == "sap" and l.get("deletion")]
        rtp = summary["rtp"]
        log(f"listener: {rtp['packets']} packets, {rtp['lost']} lost, SSRC {rtp['ssrc']}")
        assert rtp["packets"] > 50 and rtp["lost"] == 0 and rtp["expected"] == rtp["packets"], summary
        assert rtp["ssrc"] == ssrc, (rtp["ssrc"], ssrc)
        assert not deletions, deletions
        assert d.proc.poll() is None
        events = [(e["event"], e["group"]) for e in watch.poll()]
        assert events[:2] == [("starting", group), ("on-air", group)], events
        assert not [e for e in events if e[0] in ("stopped", "failed", "starting")][1:], events
    return 0


if __name__ == "__main__":
    sys.exit(main())
