"""joincastd as a system service: `cmake --install` puts the binaries, the
systemd unit, the example configuration and the docs in place; the unit
passes `systemd-analyze verify`; and joincastd works with exactly the
capabilities the unit grants (read from the unit itself), no more."""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from lab import BUILD_DIR, JOINCASTD, Lab, log, wait_until
from membership_lab import GROUP6, MembershipLab


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

    with Lab("service") as lab:
        ml = MembershipLab(lab)
        d = ml.daemon
        bounding = ",".join(["-all"] + ["+" + c.removeprefix("CAP_").lower() for c in caps])
        log(f"joincastd with only {' '.join(caps)}")
        d._started_lines = 0
        d._log = open(d.log_path, "a")
        d.proc = ml.router.spawn("setpriv", f"--bounding-set={bounding}", "--inh-caps=-all", str(JOINCASTD),
                                 "--config", str(d.config_path), stdout=d._log, stderr=subprocess.STDOUT)
        d.wait_started()
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
