"""A SIGHUP reload whose media engine cannot start is refused: the daemon
keeps running with the configuration it had, says why once, and serves.

joincastd starts without sessions.interface (no media engine). Its file
limit is then lowered (prlimit) to leave a single free descriptor: enough
to read the configuration, not for the engine's workers (timerfd, epoll,
io_uring). The reload that sets sessions.interface must be refused with the
engine's reason, the daemon must answer `joincast status`, and once the
limit is raised again the next reload starts the engine and a listener
gets its stream."""

import os
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
{sessions}
"""


def soft_nofile(pid: int) -> int:
    for line in open(f"/proc/{pid}/limits"):
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no file limit for {pid}")


def set_nofile(pid: int, soft: int) -> None:
    # The soft limit only: the hard one stays, so it can be raised again.
    subprocess.run(["prlimit", f"--pid={pid}", f"--nofile={soft}:"], check=True)


def main() -> int:
    with Lab("e2eengine") as lab:
        router, c1 = lab.netns("router"), lab.netns("c1")
        lab.veth(router, "p1", c1, "eth0")
        lab.bridge(router, "br0", ["p1"])
        lab.addr(router, "br0", f"{PREFIX}::1/64")
        lab.addr(c1, "eth0", f"{PREFIX}::11/64")
        pins = lab.bpffs() / "joincast"
        d = Daemon(lab, router, CONFIG.format(pins=pins, prefix=PREFIX, sessions="")).start()
        assert d.cli("status")["sessions"]["interface"] == ""
        group = d.cli("map", "0")["group"]
        pid = d.proc.pid

        saved = soft_nofile(pid)
        open_fds = len(os.listdir(f"/proc/{pid}/fd"))
        log(f"joincastd has {open_fds} descriptors open; limit {open_fds + 1}")
        set_nofile(pid, open_fds + 1)
        d.config_path.write_text(CONFIG.format(pins=pins, prefix=PREFIX, sessions='[sessions]\ninterface = "br0"'))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "media engine cannot start" in d.log() or d.proc.poll() is not None, 10, "the refusal")
        time.sleep(1)
        assert d.proc.poll() is None, f"joincastd ended on the reload:\n{d.log()}"
        refusals = [l for l in d.log().splitlines() if "media engine cannot start" in l]
        assert len(refusals) == 1, refusals  # said once, where handled
        assert "sessions" in refusals[0] and "keeps its running configuration" in refusals[0], refusals

        set_nofile(pid, saved)
        status = d.cli("status")
        assert status["sessions"]["interface"] == "", status  # the old [sessions] is in force

        log("limit raised: the same reload now starts the engine")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.cli("status")["sessions"]["interface"] == "br0", 10, "sessions.interface")
        listener = c1.spawn(str(JOINCAST), "listen", group, "--interface", "eth0", "--json", "--interval", "0.5",
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            wait_until(lambda: any(s["state"] == "running" for s in d.cli("sessions")["sessions"]), 15, "the stream")
        finally:
            listener.send_signal(signal.SIGTERM)
            listener.communicate(timeout=20)
        assert d.proc.poll() is None
    return 0


if __name__ == "__main__":
    sys.exit(main())
