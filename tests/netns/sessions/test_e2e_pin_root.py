#!/usr/bin/env python3
"""test_e2e_pin_root.py — bpf_pin_root may be a bpffs mount point itself
(as "/sys/fs/bpf" would be).

joincastd must pin its maps there and mount nothing: mounting a bpffs on
the parent (what it does when nothing is mounted) would cover whatever
lives beside it — here the directory of its own control socket, which then
could not be removed at exit, and its pinned maps, which then vanished with
the daemon's mount namespace so that a restart forgot every listener.
Checked: the maps are in the lab's bpffs, the socket goes at exit, and a
restart reuses the maps and starts the listener's stream again.
"""

import sys

from e2e_lab import TONE_MP3, Headend, Lab, WireCounter, config, log, rtp_growing, start, wait_state


def main() -> int:
    with Lab("e2e-pinroot") as lab:
        h = Headend(lab, listeners=("l1",))
        mount = h.pins.parent  # the bpffs mount point itself
        c1 = WireCounter(h.listeners["l1"])
        d = h.daemon(config(mount, ["br0"], grace="1s")).start()
        m1 = lab.join(h.listeners["l1"], TONE_MP3, "eth0")
        wait_state(d, TONE_MP3, "running")
        pinned = sorted(p.name for p in mount.iterdir())
        assert any("groups" in p for p in pinned), f"no maps pinned in {mount}: {pinned}"
        log(f"maps pinned in the mount point: {pinned}")

        assert d.stop() == 0, d.log()
        assert not d.socket.exists(), "the control socket was left behind (its directory was covered by a mount)"
        start(d)
        assert f"maps reused from {mount} (1 listeners in 1 groups kept)" in d.log(), d.log()[-2000:]
        wait_state(d, TONE_MP3, "running")
        rtp_growing(c1, TONE_MP3)
        m1.leave()
        wait_state(d, TONE_MP3, None, timeout=6)
        assert d.stop() == 0 and not d.socket.exists()
    log("pin root test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
