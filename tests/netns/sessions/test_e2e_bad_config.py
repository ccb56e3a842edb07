#!/usr/bin/env python3
"""test_e2e_bad_config.py — a bad configuration is refused with messages
that name the file, the line and the key, and never disturbs a running
stream.

  * `joincastd --check` and a plain start both fail (exit 1) on a file with
    five mistakes in [sessions] and [[policy]], printing each as
    `file:line:column: key: reason` with the right line; the failed start
    leaves nothing behind (no control socket, no TC filter on br0).
    A TOML syntax error is reported the same way.
  * A running joincastd streaming to a listener gets SIGHUP with a bad file:
    the reload is refused with the same messages in its log, and the
    stream goes on (same SSRC, no sequence gap on the listener's wire).
    A good reload that changes the grace period keeps the stream too.
"""

import re
import signal
import subprocess
import sys

from e2e_lab import (JOINCASTD, TONE_MP3, Headend, Lab, WireCounter, config, log, rtp_growing, sessions,
                     wait_state, wait_until)

BAD_SESSIONS = """
[sessions]
interface = "br0"
grace = "soon"
max_sessions = 0
colour = "red"
retry_initial = "5s"
retry_max = "1s"

[[policy]]
interfaces = ["guest0"]
allow = ["everything"]
"""

# key -> (text that marks its line, what the reason says)
EXPECTED = {
    "sessions.grace": ('grace = "soon"', "must be a duration"),
    "sessions.max_sessions": ("max_sessions = 0", "out of range"),
    "sessions.colour": ('colour = "red"', "unknown key"),
    "sessions.retry_max": ('retry_max = "1s"', "must be at least retry_initial"),
    "policy.allow": ('allow = ["everything"]', '"everything" is not'),
}

LINE = re.compile(r"(?P<file>/[^\s:]+):(?P<line>\d+):(?P<col>\d+): (?P<key>[\w.]+): (?P<reason>.+)$")


def check_messages(text: str, path, content: str) -> None:
    lines = content.splitlines()
    found = {}
    for out in text.splitlines():
        m = LINE.search(out)
        if m and m["file"] == str(path):
            found[m["key"]] = (int(m["line"]), m["reason"])
    for key, (marker, reason) in EXPECTED.items():
        assert key in found, f"no message for {key} in:\n{text}"
        line = next(i for i, x in enumerate(lines, start=1) if x.strip() == marker)
        assert found[key][0] == line, f"{key}: line {found[key][0]}, expected {line} ({marker!r})\n{text}"
        assert reason in found[key][1], f"{key}: {found[key][1]!r} lacks {reason!r}"


def main() -> int:
    with Lab("e2e-badconfig") as lab:
        h = Headend(lab, listeners=("l1",))
        r, l1 = h.router, h.listeners["l1"]
        good = config(h.pins, ["br0"], grace="1s")
        bad = config(h.pins, ["br0"], sessions=BAD_SESSIONS)

        log("joincastd --check: every mistake with its file, line and key")
        d = h.daemon(bad, name="bad")
        p = subprocess.run(["ip", "netns", "exec", r.name, str(JOINCASTD), "--check", "--config", str(d.config_path)],
                           capture_output=True, text=True, timeout=30)
        assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
        check_messages(p.stdout + p.stderr, d.config_path, d.config_path.read_text())
        assert "has 5 problems" in p.stdout + p.stderr, p.stdout + p.stderr

        log("a plain start fails the same way and leaves nothing behind")
        d.start(wait=False)
        rc = d.proc.wait(timeout=20)
        assert rc == 1, (rc, d.log())
        check_messages(d.log(), d.config_path, d.config_path.read_text())
        assert not d.socket.exists(), "control socket left by a refused start"
        assert "jc_membership" not in r.run("tc", "filter", "show", "dev", "br0", "ingress")

        log("a TOML syntax error: file and line")
        broken = h.daemon(good.replace('grace = "1s"', "grace = "), name="syntax")
        p = subprocess.run([str(JOINCASTD), "--check", "--config", str(broken.config_path)], capture_output=True,
                           text=True, timeout=30)
        line = broken.config_path.read_text().splitlines().index("grace = ") + 1
        assert p.returncode == 1 and f"{broken.config_path}:{line}:" in p.stdout + p.stderr, (p.stdout, p.stderr)

        log("a running joincastd refuses a bad reload and keeps streaming")
        d = h.daemon(good).start()
        p = subprocess.run([str(JOINCASTD), "--check", "--config", str(d.config_path)], capture_output=True, text=True,
                           timeout=30)
        assert p.returncode == 0, (p.stdout, p.stderr)
        c1 = WireCounter(l1)
        m1 = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c1, TONE_MP3)
        text = d.config_path.read_text()
        d.config_path.write_text(bad.replace("@SOCKET@", str(d.socket)).replace("@STATE@", str(d.dir / "state")))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reload refused" in d.log(), 5, "the reload to be refused")
        refused = "\n".join(x for x in d.log().splitlines() if "reload refused" in x)
        check_messages(refused, d.config_path, d.config_path.read_text())
        rtp_growing(c1, TONE_MP3)
        s = sessions(d)[TONE_MP3]
        assert s["state"] == "running" and s["media"]["ssrc"] == ssrc, s

        log("a good reload (another grace period) keeps the stream")
        d.config_path.write_text(text.replace('grace = "1s"', 'grace = "2s"'))
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in d.log(), 5, "the reload")
        rtp_growing(c1, TONE_MP3)
        g = c1.group(TONE_MP3)
        assert list(g["ssrcs"]) == [ssrc] and g["ssrcs"][ssrc]["gaps"] == 0, g["ssrcs"]
        m1.leave()
        wait_state(d, TONE_MP3, "grace", timeout=5)
        log("the new grace period applies")
        assert "stopping in 2000 ms" in d.log(), d.log()[-2000:]
        wait_state(d, TONE_MP3, None, timeout=6)
        assert d.stop() == 0, d.log()
    log("bad config test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
