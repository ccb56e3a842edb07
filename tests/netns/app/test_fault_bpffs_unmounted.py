#!/usr/bin/env python3
"""test_fault_bpffs_unmounted.py — the bpffs holding the membership maps'
pins is unmounted under a running joincastd.

l1 listens to the MP3 tone throughout; l2's wire counts its sequence
numbers. The lab's private bpffs is unmounted (in joincastd's mount
namespace and the lab's). Then:

  * membership goes on counting with the map fds it holds: l2 joins the
    1 kHz tone, its session starts and l2 receives it; l2 leaves and the
    session ends;
  * `joincast status` says the maps are no longer pinned, naming the pin
    path and the error; a reload says it in the log;
  * the MP3 tone played on, same SSRC, no sequence gap;
  * with a bpffs there again, a restart pins the maps again (the pin files
    exist, `joincast status` has no pins_error) and the tone plays again.
"""

import signal
import sys
import time

from e2e_lab import (TONE_1K, TONE_MP3, Headend, Lab, WireCounter, config, listeners, log, rtp_growing, rtp_silent,
                     wait_state, wait_until)


def main() -> int:
    with Lab("fault-bpffs") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        d = h.daemon(config(h.pins, ["br0"], grace="1s")).start()
        c2 = WireCounter(l2)
        good = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c2, TONE_MP3)
        assert (h.pins / "groups").exists() and "pins_error" not in d.cli("status")["membership"]

        log(f"unmounting {h.pins.parent}")
        # joincastd has its own mount namespace (ip netns exec): unmount
        # there, and in the lab's.
        lab.run(["nsenter", "-t", str(d.proc.pid), "-m", "umount", str(h.pins.parent)])
        lab.run(["umount", str(h.pins.parent)])
        assert not (h.pins / "groups").exists()
        m = d.cli("status")["membership"]
        log(f"joincast status: {m.get('pins_error')}")
        assert f"{h.pins}/groups: No such file or directory" in m.get("pins_error", ""), m
        assert "membership goes on with the maps it holds" in m["pins_error"], m

        log("l2 joins the 1 kHz tone: still counted")
        other = lab.join(l2, TONE_1K, "eth0")
        wait_state(d, TONE_1K, "running")
        rtp_growing(c2, TONE_1K)
        assert listeners(d, TONE_1K) == 1
        other.leave()
        wait_state(d, TONE_1K, None, timeout=6)

        log("a reload says it too")
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: " reloaded" in d.log(), 10, "the reload")
        assert "membership: the maps are no longer pinned" in d.log(), d.log()[-3000:]

        time.sleep(0.5)
        rtp_growing(c2, TONE_MP3)
        x = c2.group(TONE_MP3)["ssrcs"][ssrc]
        log(f"the MP3 tone: {x['packets']} RTP packets, {x['gaps']} sequence gaps")
        assert x["gaps"] == 0 and x["max_silence"] < 1.0, x
        assert wait_state(d, TONE_MP3, "running")["media"]["ssrc"] == ssrc

        log("a bpffs again, and a restart: the maps are pinned again")
        lab.bpffs()
        assert d.stop() == 0, d.log()
        d.start()
        assert d.log().count("eBPF TC program loaded, maps created under") == 2, d.log()[-3000:]
        assert (h.pins / "groups").exists() and (h.pins / "listeners").exists()
        assert "pins_error" not in d.cli("status")["membership"]
        wait_state(d, TONE_MP3, "running", timeout=15)
        rtp_growing(c2, TONE_MP3)
        good.leave()
        wait_state(d, TONE_MP3, None, timeout=6)
        rtp_silent(c2, seconds=1)
        assert d.stop() == 0, d.log()
    log("bpffs unmounted test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
