"""SIGHUP and the [daemon] section: the log level changes at once; the state
directory and the control socket's path, group and mode change only on
restart, and a reload that asks for them says so, naming each key, while the
rest of the file is applied and the daemon keeps answering where it did."""

import signal
import sys
import time

from lab import Daemon, Lab, log, wait_until

CONFIG = """
[daemon]
control_socket = "@SOCKET@"
state_dir = "{state}"
log_level = "{level}"
control_mode = {mode}
[membership]
interfaces = ["br0"]
bpf_pin_root = "{pins}"
[membership.timers]
query_interval = "2s"
query_response_interval = "1s"
startup_query_interval = "1s"
"""

QUERY_SENT = "querier: br0 MLDv2: sent general query"


def main() -> int:
    with Lab("dreload") as lab:
        router, c1 = lab.netns("router"), lab.netns("c1")
        lab.veth(router, "p1", c1, "eth0")
        lab.bridge(router, "br0", ["p1"])
        lab.addr(router, "br0", "2001:db8:7::1/64")
        pins = lab.bpffs() / "joincast"
        state = lab.tmp / "state-a"
        d = Daemon(lab, router, CONFIG.format(state=state, level="info", mode="0o660", pins=pins))
        d.start(log_level=None)

        log("at info, the querier's debug lines are not written")
        time.sleep(3)
        assert QUERY_SENT not in d.log(), d.log()

        log("reload: log_level debug, another state_dir and control_mode")
        d.config_path.write_text(
            CONFIG.format(state=lab.tmp / "state-b", level="debug", mode="0o600", pins=pins)
            .replace("@SOCKET@", str(d.socket)))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in d.log(), 10, "the reload")
        text = d.log()
        assert "log level is now debug" in text, text
        assert f"daemon.state_dir changes only on restart; keeping {state}" in text, text
        assert "daemon.control_mode changes only on restart; keeping 0660 (the file says 0600)" in text, text
        assert "daemon.control_socket" not in text, text  # unchanged, not mentioned
        wait_until(lambda: QUERY_SENT in d.log(), 10, "a debug line from the querier")

        log("the control socket is where it was, with its mode")
        assert d.cli("status")["pid"] == d.proc.pid
        assert (d.socket.stat().st_mode & 0o777) == 0o660, oct(d.socket.stat().st_mode)

        log("--log-level on the command line wins over the file, also on reload")
        d.stop()
        d.config_path.write_text(d.config_path.read_text().replace('log_level = "debug"', 'log_level = "error"'))
        d.start(log_level="debug")
        d.config_path.write_text(d.config_path.read_text().replace('log_level = "error"', 'log_level = "warning"'))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: d.log().count("reloaded") >= 2, 10, "the second reload")
        assert 'daemon.log_level is now "warning", but --log-level on the command line stays in force' in d.log(), d.log()
        lines = d.log().count(QUERY_SENT)
        wait_until(lambda: d.log().count(QUERY_SENT) > lines, 10, "debug lines after the reload")
        log("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
