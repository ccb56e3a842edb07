#!/usr/bin/env python3
"""test_fault_state_dir.py — the state directory full, then read-only,
under a daemon that streams.

The state directory is a 256 KiB tmpfs of the lab's own (in the lab's tmp
dir, unmounted by the lab on every exit path). l1 listens to the MP3 tone
throughout and l2's wire counts its sequence numbers. A static directory
lists A and B (numbered 0 and 1 on disk). Then:

  * the tmpfs is filled to the last byte and a reload adds station C: its
    number cannot be written. The log and `joincast directories` name the
    numbers file and "No space left on device"; the file on disk is
    byte-for-byte what it was (the atomic write left it alone, and no
    temporary file is left behind); A and B are still mapped, C is not.
  * the space is freed and the tmpfs remounted read-only; another reload:
    the same, with "Read-only file system".
  * writable again and joincastd restarted: the file parses, A and B keep
    0 and 1, C gets 2 and is written.

The tone never loses a packet or changes SSRC while this happens.
"""

import json
import signal
import subprocess
import sys
import time

from e2e_lab import (TONE_MP3, Headend, Lab, WireCounter, config, log, restart_jumps_only, rtp_growing, sessions,
                     wait_state, wait_until, with_static_directory)

STATIONS = {"A": "http://127.0.0.1:9/a", "B": "http://127.0.0.1:9/b", "C": "http://127.0.0.1:9/c"}


def directories(names):
    return with_static_directory({n: STATIONS[n] for n in names})


def main() -> int:
    with Lab("fault-state") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        d = h.daemon(config(h.pins, ["br0"], directories=directories("AB")))
        state = d.dir / "state"
        state.mkdir()
        lab.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0755", "jc-fault-state", str(state)])
        lab.mounts.append(state)
        numbers = state / "directories" / "local.numbers.json"

        def reload(names, n):
            d.config_path.write_text(config(h.pins, ["br0"], directories=directories(names))
                                     .replace("@SOCKET@", str(d.socket)).replace("@STATE@", str(state)))
            d.proc.send_signal(signal.SIGHUP)
            wait_until(lambda: d.log().count("reloaded") >= n, 10, f"reload {n}")

        def local():
            x = {x["name"]: x for x in d.cli("directories")["directories"]}["local"]
            return x, {s["name"]: s["number"] for s in x["stations"] if s["listed"]}

        def on_disk():
            j = json.loads(numbers.read_text())
            return {s["name"]: s["number"] for s in j["stations"]}, j["next"]

        d.start()
        c2 = WireCounter(l2)
        good = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c2, TONE_MP3)
        assert local()[1] == {"A": 0, "B": 1}, local()
        assert on_disk() == ({"A": 0, "B": 1}, 2), on_disk()
        original = numbers.read_bytes()

        log("the state directory full: a reload adds station C")
        r.run("sh", "-c", f"dd if=/dev/zero of={state}/fill bs=4k 2>/dev/null; sync", check=False)
        reload("ABC", 1)
        why = f"directory local: station numbers not saved: {numbers}: No space left on device"
        wait_until(lambda: why in d.log(), 5, "the log to say the numbers were not saved")
        x, listed = local()
        log(f"joincast directories: {x['error']}")
        assert why in x["error"], x
        assert listed == {"A": 0, "B": 1}, listed
        assert numbers.read_bytes() == original and on_disk() == ({"A": 0, "B": 1}, 2)
        left = [p.name for p in numbers.parent.iterdir() if p.name.endswith(".tmp")]
        assert left == [], left
        assert d.cli("map", "1/1")["name"] == "B"
        assert "name" not in d.cli("map", "1/2"), d.cli("map", "1/2")
        time.sleep(1)
        rtp_growing(c2, TONE_MP3)

        log("space freed, the state directory read-only: another reload")
        (state / "fill").unlink()
        lab.run(["mount", "-o", "remount,ro", str(state)])
        reload("ABC", 2)
        why_ro = f"directory local: station numbers not saved: {numbers}: Read-only file system"
        wait_until(lambda: why_ro in d.log(), 5, "the log to say the state directory is read-only")
        x, listed = local()
        assert why_ro in x["error"] and listed == {"A": 0, "B": 1}, x
        assert numbers.read_bytes() == original
        time.sleep(1)
        rtp_growing(c2, TONE_MP3)
        assert sessions(d)[TONE_MP3]["media"]["ssrc"] == ssrc

        log("writable again, joincastd restarted: the numbers kept their meaning, C is numbered and written")
        lab.run(["mount", "-o", "remount,rw", str(state)])
        assert d.stop(signal.SIGKILL) != 0
        d.start()
        wait_until(lambda: local()[1] == {"A": 0, "B": 1, "C": 2}, 10, "C to be numbered")
        assert local()[0]["error"] == "", local()[0]
        assert on_disk() == ({"A": 0, "B": 1, "C": 2}, 3), on_disk()

        # Across the restart the tone goes on under its SSRC (restart
        # continuity): the restart's sequence jump is its only gap.
        g = c2.group(TONE_MP3)
        x = g["ssrcs"][ssrc]
        log(f"before the restart: {x['packets']} RTP packets, {x['gaps']} sequence gaps")
        assert restart_jumps_only(x, 1) and x["packets"] > 40, x
        wait_state(d, TONE_MP3, "running")
        rtp_growing(c2, TONE_MP3)
        good.leave()
        assert d.stop() == 0, d.log()
    log("state directory fault test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
