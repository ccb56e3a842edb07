"""Real avahi-daemons in lab namespaces, each with a private D-Bus, the way
../shared/FIELD-NOTES.txt runs its "untrusted" instances: a dbus-daemon of
its own (type system, a socket in the lab's directory), and an avahi-daemon
(--no-drop-root --no-chroot, a private config) in a private mount namespace
where a tmpfs over /run holds its pid file and socket and the lab's
directory is mounted over /etc/avahi/services, so several run on one host
without seeing each other or the host's bus. avahi-browse talks to its
instance through DBUS_SYSTEM_BUS_ADDRESS."""

import os
import subprocess
from pathlib import Path

from lab import Lab, Netns, wait_until

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
host-name={host}
domain-name=local
use-ipv4={ipv4}
use-ipv6={ipv6}
allow-interfaces={interfaces}
enable-dbus=yes
ratelimit-interval-usec=1000000
ratelimit-burst=1000
[wide-area]
enable-wide-area=no
[publish]
publish-hinfo=no
publish-workstation=no
publish-aaaa-on-ipv4=yes
publish-a-on-ipv6=no
[reflector]
enable-reflector={reflector}
[rlimits]
"""

SERVICE = """<?xml version="1.0" standalone='no'?>
<!DOCTYPE service-group SYSTEM "avahi-service.dtd">
<service-group>
  <name>{name}</name>
  <service><type>{type}</type><port>{port}</port>{txt}</service>
</service-group>
"""


class Avahi:
    """An avahi-daemon in `ns` on `interfaces`, publishing `services`
    [(instance name, type, port, [txt, ...])]."""

    def __init__(self, lab: Lab, ns: Netns, host: str, interfaces: list[str],
                 services: list[tuple[str, str, int, list[str]]] = (), ipv6: bool = True, reflector: bool = False,
                 ipv4: bool = True):
        self.lab, self.ns, self.host = lab, ns, host
        self.dir = lab.tmp / f"avahi-{host}"
        services_dir = self.dir / "services"
        services_dir.mkdir(parents=True)
        self.bus = self.dir / "bus"
        (self.dir / "bus.conf").write_text(BUS_CONFIG.format(socket=self.bus))
        (self.dir / "avahi-daemon.conf").write_text(AVAHI_CONFIG.format(
            host=host, interfaces=",".join(interfaces), ipv6="yes" if ipv6 else "no", ipv4="yes" if ipv4 else "no",
            reflector="yes" if reflector else "no"))
        for i, (name, stype, port, txt) in enumerate(services):
            records = "".join(f"<txt-record>{t}</txt-record>" for t in txt)
            (services_dir / f"{i}.service").write_text(SERVICE.format(name=name, type=stype, port=port, txt=records))
        self.log_path = self.dir / "avahi.log"
        self._log = open(self.log_path, "w")
        self.dbus = ns.spawn("dbus-daemon", f"--config-file={self.dir / 'bus.conf'}", "--nofork", "--nopidfile",
                             stdout=self._log, stderr=subprocess.STDOUT)
        wait_until(lambda: self.bus.exists(), 10, f"the private D-Bus of {host}")
        script = (f"mount -t tmpfs none /run && mount --bind {services_dir} /etc/avahi/services && "
                  f"exec avahi-daemon --no-drop-root --no-chroot --no-rlimits --debug -f {self.dir / 'avahi-daemon.conf'}")
        self.daemon = ns.spawn("unshare", "-m", "sh", "-c", script, stdout=self._log, stderr=subprocess.STDOUT,
                               env=self.env())
        wait_until(lambda: self.daemon.poll() is not None or "Server startup complete" in self.log(), 20,
                   f"avahi-daemon {host} to start")
        if self.daemon.poll() is not None:
            raise AssertionError(f"avahi-daemon {host} exited with {self.daemon.returncode}:\n{self.log()}")

    def stop(self) -> None:
        """Stops the avahi-daemon, then its D-Bus."""
        for p in (self.daemon, self.dbus):
            if p.poll() is None:
                p.terminate()
                p.wait(timeout=10)

    def env(self) -> dict:
        return {**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={self.bus}"}

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def browse(self, stype: str, timeout: float = 15) -> list[list[str]]:
        """avahi-browse -rtp: every line as its fields ('=' lines are resolved
        services: interface, protocol, name, type, domain, host, address,
        port, txt)."""
        r = subprocess.run(["ip", "netns", "exec", self.ns.name, "avahi-browse", "-rtp", stype],
                           capture_output=True, text=True, timeout=timeout, env=self.env())
        if r.returncode != 0:
            raise AssertionError(f"avahi-browse {stype} in {self.ns.short} failed: {r.stderr.strip()}")
        return [line.split(";") for line in r.stdout.splitlines() if line]

    def resolved(self, stype: str, timeout: float = 15) -> list[dict]:
        out = []
        for f in self.browse(stype, timeout):
            if f[0] == "=" and len(f) >= 10:
                out.append({"interface": f[1], "protocol": f[2], "name": f[3], "type": f[4], "host": f[6],
                            "address": f[7], "port": int(f[8]), "txt": f[9]})
        return out
