#!/usr/bin/env python3
"""test_media_sendmmsg.py — the sender without io_uring.

Where io_uring is unavailable (kernel.io_uring_disabled, a container's
seccomp filter) the engine sends with sendmmsg(). Forced here: two
sessions, MP3 from a file and the Opus test tone, decoded by ffmpeg
-xerror with nothing to say, and the engine reports which sender it used.
"""

import subprocess
import sys

from media_lab import Driver, Lab, log, make_media, topology

GROUPS = {"mp3": "ff3e:40:2001:db8:d0be:f00d:8000:41", "opus": "ff3e:40:2001:db8:d0be:f00d:8000:42"}


def main() -> int:
    with Lab("media-sendmmsg") as lab:
        head, rx = topology(lab)
        driver = Driver(lab, head, "--sendmmsg")
        ids = [driver.start(GROUPS["mp3"], {"type": "file", "path": str(make_media(lab, "mp3", 6)), "loop": True}),
               driver.start(GROUPS["opus"], {"type": "tone", "codec": "opus"})]
        for sid in ids:
            driver.wait(sid, "started")
        summary = driver.request({"cmd": "summary"})
        assert "sendmmsg" in summary["sender"], summary
        decoders = {name: rx.spawn("ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-xerror", "-i",
                                   f"sap://[{g}]", "-t", "4", "-f", "null", "-", stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE) for name, g in GROUPS.items()}
        for sid in ids:
            driver.request({"cmd": "listener", "session": sid})
        failures = []
        for name, p in decoders.items():
            _, err = p.communicate(timeout=60)
            log(f"{name} over sendmmsg: ffmpeg exit {p.returncode}")
            if p.returncode != 0 or err.strip():
                failures.append(f"{name}: {p.returncode} {err.strip()}")
        for sid in ids:
            s = driver.stats(sid)
            if s["send_errors"] or s["rtp_packets"] < 50:
                failures.append(f"session {sid}: {s['rtp_packets']} packets, {s['send_errors']} send errors")
        driver.close()
        for f in failures:
            log("FAIL " + f)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
