"""joincastd as a system service: `cmake --install` puts the binaries, the
systemd unit, the example configuration and the docs in place; the unit
passes `systemd-analyze verify`; the unit leaves the DVB adapters visible
(PrivateDevices would hide /dev/dvb from dvblast); and joincastd works with
exactly the capabilities the unit grants (read from the unit itself), no
more: membership, then, in one daemon, an internet session routed to a
second interface and a DVB service through dvblast, with sd_notify's
READY=1 on the notify socket. (No systemd runs here, so the unit's mount
and device sandbox is checked by reading the unit, not by running it.)"""

import re
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from e2e_lab import TONE_MP3, Headend, WireCounter, config, rtp_growing, wait_state
from lab import BUILD_DIR, JOINCASTD, Lab, log, require_tools, wait_until
from membership_lab import GROUP6, MembershipLab

TUNING = "dvblast -f 11426500 -v 18 -5 DVBS -s 27500000 -F 23"


def spawn_with_caps(daemon, ns, caps, env=None):
    """Starts joincastd in ns with exactly the capabilities caps."""
    bounding = ",".join(["-all"] + ["+" + c.removeprefix("CAP_").lower() for c in caps])
    daemon._started_lines = daemon.log().count(" started, control socket ")
    daemon._log = open(daemon.log_path, "a")
    daemon.proc = ns.spawn("setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", str(JOINCASTD),
                           "--config", str(daemon.config_path), stdout=daemon._log, stderr=subprocess.STDOUT,
                           env=env)
    daemon.wait_started()


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="jc-install-") as dest:
        log("cmake --install into a staging directory")
        subprocess.run(["cmake", "--install", str(BUILD_DIR), "--prefix", "/usr"], check=True, capture_output=True,
                       env={"DESTDIR": dest, "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
        root = Path(dest)
        for f in ("usr/sbin/joincastd", "usr/bin/joincast", "lib/systemd/system/joincastd.service",
                  "usr/share/doc/joincast/examples/joincast.toml", "usr/share/doc/joincast/configuration.md",
                  "usr/share/doc/joincast/control-protocol.md"):
            assert (root / f).exists(), f"{f} not installed: {sorted(str(p.relative_to(root)) for p in root.rglob('*'))}"
        unit = (root / "lib/systemd/system/joincastd.service").read_text()
        assert "ExecStart=/usr/sbin/joincastd --config /etc/joincast/joincast.toml" in unit, unit
        assert "Type=notify" in unit

        log("systemd-analyze verify (the unit pointed at the built binary)")
        staged = Path(dest) / "joincastd.service"
        staged.write_text(unit.replace("/usr/sbin/joincastd", str(JOINCASTD)))
        r = subprocess.run(["systemd-analyze", "verify", str(staged)], capture_output=True, text=True)
        problems = [l for l in r.stderr.splitlines() if "joincastd.service" in l]
        assert r.returncode == 0 and not problems, r.stderr

        caps = re.search(r"^CapabilityBoundingSet=(.*)$", unit, re.M).group(1).split()
        assert re.search(r"^AmbientCapabilities=(.*)$", unit, re.M).group(1).split() == caps
        assert "CAP_SYS_ADMIN" not in caps and "CAP_PERFMON" not in caps, caps
        # dvblast, started by joincastd, inherits the unit's sandbox: the
        # DVB adapters must be reachable, and nothing else of /dev.
        assert not re.search(r"^PrivateDevices=yes", unit, re.M), "PrivateDevices=yes hides /dev/dvb from dvblast"
        assert re.search(r"^DevicePolicy=closed$", unit, re.M), unit
        assert re.search(r"^DeviceAllow=char-DVB rw$", unit, re.M), unit

    with Lab("service") as lab:
        ml = MembershipLab(lab)
        d = ml.daemon
        log(f"joincastd with only {' '.join(caps)}")
        spawn_with_caps(d, ml.router, caps)
        assert "membership: eBPF TC program loaded" in d.log(), d.log()
        status = ml.router.run("grep", "CapEff", f"/proc/{d.proc.pid}/status")
        log(status.strip())
        m = lab.join(ml.c1, GROUP6, "eth0")
        ml.wait_count(GROUP6, 1)
        wait_until(lambda: all(q["queries_sent"] > 0 for q in d.cli("status")["membership"]["querier"]), 10,
                   "queries to be sent")
        m.leave()
        ml.wait_count(GROUP6, 0)
        assert d.stop() == 0
        assert "error" not in d.log(), d.log()

    if not require_tools("dvblast", "dvblastctl", "ffmpeg"):
        return 1
    with Lab("service-all") as lab:
        h = Headend(lab)
        r, l1 = h.router, h.listeners["l1"]
        l3 = lab.netns("l3")
        lab.veth(r, "down1", l3, "eth0")
        lab.addr(r, "down1", "2001:db8:2::1/64")
        Headend.host(l3, "eth0", 13, "2001:db8:2", "10.0.2")
        r.spawn("ffmpeg", "-hide_banner", "-loglevel", "error", "-re", "-f", "lavfi",
                "-i", "sine=frequency=440:sample_rate=48000", "-c:a", "mp2", "-b:a", "128k",
                "-program", "program_num=4097:title=One:st=0", "-f", "mpegts", "udp://127.0.0.1:1235?pkt_size=1316",
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # The route needs the kernel's multicast routing; without it (a
        # kernel built without CONFIG_IP_MROUTE) the rest still runs.
        routing = Lab.has_multicast_routing()
        extra = ("[routing]\n" if routing else "") + f"""
[dvb]
udp_inputs = ["127.0.0.1:1235/udp"]
runtime_dir = "{lab.tmp / 'dvb'}"

[[dvb.carrier]]
name = "Test carrier"
dvblast = "{TUNING}"
services = [ {{ id = 4097, name = "One" }} ]
"""
        d = h.daemon(config(h.pins, ["br0", "down1"], grace="1s", extra=extra))
        notify_path = lab.tmp / "notify.sock"
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(str(notify_path))
        notify.settimeout(20)
        log(f"one joincastd with {' '.join(caps)}: session, route and DVB, NOTIFY_SOCKET set")
        spawn_with_caps(d, r, caps, env={"NOTIFY_SOCKET": str(notify_path), "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"})
        messages = []
        while not any("READY=1" in m for m in messages):
            messages.append(notify.recv(4096).decode())
        log(f"sd_notify: {messages}")

        if routing:
            log("an internet session (the test directory's tone), routed from br0 to down1 for l3")
            c3 = WireCounter(l3)
            m3 = lab.join(l3, TONE_MP3, "eth0")
            wait_state(d, TONE_MP3, "running")
            rtp_growing(c3, TONE_MP3, what="the routed stream at l3")
            routes = r.run("ip", "-6", "mroute", "show")
            assert TONE_MP3 in routes and "down1" in routes, routes
        else:
            log("an internet session (the test directory's tone) on br0 for l1 (this kernel has no multicast "
                "routing: the routed part is left out)")
            c3 = WireCounter(l1)
            m3 = lab.join(l1, TONE_MP3, "eth0")
            wait_state(d, TONE_MP3, "running")
            rtp_growing(c3, TONE_MP3, what="the stream at l1")

        log("a DVB service: dvblast started by joincastd, with joincastd's capabilities")
        c1 = WireCounter(l1)
        one = d.cli("map", "dvb:11426500:h:4097")["group"]
        m1 = lab.join(l1, one, "eth0")
        wait_state(d, one, "running", timeout=15)
        rtp_growing(c1, one, what="dvblast's RTP")
        m1.leave()
        m3.leave()
        assert d.stop() == 0
        assert " error " not in d.log(), d.log()
    return 0


if __name__ == "__main__":
    sys.exit(main())
