#!/usr/bin/env python3
"""test_e2e_restart_players.py — real players across joincastd restarts
(issue 14, restart continuity).

l1 plays the MP3 tone with ffmpeg (`-xerror`, RTP from the SDP joincast
announces) and l2 with GStreamer (sdpdemux ! decodebin ! fakesink). The
daemon is restarted twice while they play: SIGTERM + start (what
`systemctl restart` does) and kill -9 + start. After each:

  * on the wire (AF_PACKET at l1): the same SSRC, the sequence numbers go
    on — exactly by one after the orderly stop, forward by at most the
    reservation (512) after kill -9, never backwards — and the RTP
    timestamp moved by the time the stream was off (±250 ms);
  * no RTCP BYE and no SAP deletion after SIGTERM; the SAP message id hash
    and the SDP (o= included) are the same as before;
  * before the restarts `joincast sessions` counts 2 listeners by
    membership and 1 by RTCP (GStreamer reports, ffmpeg does not);
  * both players are still running and their decoded media time grew by
    at least 2 s in the 4 s after the stream came back. (GStreamer's
    rtpsession drops a known SSRC arriving from a new transport address as
    a collision: the stream's source port is fixed for that reason.)

The gap (last RTP before the stop → first after the start, at l1) is
printed for each restart.
"""

import re
import signal
import subprocess
import sys
import threading
import time

from e2e_lab import TONE_MP3, Headend, Lab, WireCounter, config, log, sessions, start, wait_state, wait_until
from lab import record


class Player:
    """A player process whose media time is read from its output."""

    def __init__(self, ns, name: str, argv: list[str], position):
        """position(line) -> seconds of media decoded, or None."""
        self.name = name
        self.proc = ns.spawn(*argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.parse = position
        self.position = 0.0
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            p = self.parse(line)
            if p is None and "caps = " not in line and "sr-ntptime" not in line:
                self.lines = (self.lines + [line.rstrip()[-300:]])[-40:]
            if p is not None:
                self.position = max(self.position, p)

    def alive(self) -> None:
        assert self.proc.poll() is None, f"{self.name} exited ({self.proc.returncode}):\n" + "\n".join(self.lines)

    def grows(self, seconds: float, within: float, what: str) -> None:
        start_pos = self.position
        wait_until(lambda: self.alive() or self.position >= start_pos + seconds, within,
                   f"{self.name} to decode {seconds}s more {what} (at {self.position:.2f}s):\n" + "\n".join(self.lines[-40:]),
                   interval=0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def ffmpeg_position(line: str):
    m = re.match(r"out_time_us=(\d+)", line)
    return int(m.group(1)) / 1e6 if m else None


def gst_position(line: str):
    # fakesink's last-message for every buffer: "... pts: 0:00:05.123456789 ..."
    m = re.search(r"fakesink0.*pts: (\d+):(\d+):(\d+\.\d+)", line)
    return int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)) if m else None


def main() -> int:
    with Lab("e2e-restart-players") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        wire = WireCounter(l1)
        wire2 = WireCounter(l2)
        d = h.daemon(config(h.pins, ["br0"], grace="2s")).start()
        # The first host's join starts the stream; the SDP is what joincast announces.
        m1 = lab.join(l1, TONE_MP3, "eth0")
        s = wait_state(d, TONE_MP3, "running")
        wait_until(lambda: sessions(d)[TONE_MP3]["media"].get("sdp"), 5, "the SDP")
        sdp = sessions(d)[TONE_MP3]["media"]["sdp"]
        sdp_path = lab.tmp / "tone.sdp"
        sdp_path.write_text(sdp)
        ffmpeg = Player(l1, "ffmpeg", ["ffmpeg", "-hide_banner", "-nostdin", "-xerror", "-protocol_whitelist",
                                       "file,udp,rtp", "-i", str(sdp_path), "-f", "null", "-progress", "pipe:1", "-"],
                        ffmpeg_position)
        # Every decoded buffer is printed with its pts (fakesink's last-message).
        gst = Player(l2, "gstreamer", ["gst-launch-1.0", "-v", "filesrc", f"location={sdp_path}", "!", "sdpdemux",
                                       "!", "decodebin", "!", "fakesink", "sync=false", "silent=false"], gst_position)
        try:
            ffmpeg.grows(2, 15, "at the start")
            gst.grows(2, 15, "at the start")
            log(f"playing: ffmpeg at {ffmpeg.position:.1f}s, gstreamer at {gst.position:.1f}s")
            ssrc = s["media"]["ssrc"]
            # Membership counts both hosts; RTCP only GStreamer (ffmpeg sends no receiver reports).
            wait_until(lambda: sessions(d)[TONE_MP3]["listeners"] == {"membership": 2, "rtcp": 1}, 12,
                       "2 listeners by membership, 1 by RTCP")
            hash0 = sessions(d)[TONE_MP3]["media"]["sap_msg_id_hash"]

            for how in (signal.SIGTERM, signal.SIGKILL):
                name = signal.Signals(how).name
                before = wire.group(TONE_MP3)
                x0 = before["ssrcs"][ssrc]
                breaks0 = len(x0["breaks"])
                sap0 = len(before["sap"])
                rtcp0 = before["rtcp"]
                log(f"{name} joincastd")
                rc = d.stop(sig=how)
                if how == signal.SIGTERM:
                    assert rc == 0, d.log()
                time.sleep(0.5)
                off = wire.group(TONE_MP3)
                assert not any(m["delete"] for m in off["sap"][sap0:]), ("SAP deletion on " + name, off["sap"][sap0:])
                rtcp_after_stop = off["rtcp"] - rtcp0
                start(d)
                wait_until(lambda: len(wire.group(TONE_MP3)["ssrcs"][ssrc]["breaks"]) > breaks0, 10,
                           f"RTP of {ssrc} again after {name}")
                after = wire.group(TONE_MP3)
                assert list(after["ssrcs"]) == [ssrc], (name, "new SSRC", list(after["ssrcs"]))
                b = after["ssrcs"][ssrc]["breaks"][breaks0]
                rate = 90000  # MPA (RFC 2250)
                step = b["dts"] / rate
                log(f"{name}: gap {b['dt'] * 1000:.0f} ms on the wire, sequence +{b['dseq']}, "
                    f"timestamp +{step:.3f}s, RTCP packets during the stop: {rtcp_after_stop}")
                record("restart_gap_ms", b["dt"] * 1000, signal=name, lost_packets=b["dseq"] - 1)
                if how == signal.SIGTERM:
                    assert b["dseq"] == 1, (name, "sequence does not go on by one", b)
                else:
                    assert 1 <= b["dseq"] <= 513, (name, "sequence jumped too far or back", b)
                assert abs(step - b["dt"]) < 0.25, (name, "timestamp not in step with the clock", b)
                assert list(wire2.group(TONE_MP3)["ssrcs"]) == [ssrc], wire2.group(TONE_MP3)["ssrcs"]
                ffmpeg.grows(2, 4, f"after {name}")
                gst.grows(2, 4, f"after {name}")
                ffmpeg.alive()
                wait_until(lambda: sessions(d)[TONE_MP3]["media"].get("sdp"), 5, "the SDP")
                st = sessions(d)[TONE_MP3]["media"]
                assert st["sdp"] == sdp, (name, "SDP changed", st["sdp"], sdp)
                assert st["sap_msg_id_hash"] == hash0, (name, st["sap_msg_id_hash"], hash0)
                wait_until(lambda: [m for m in wire.group(TONE_MP3)["sap"][sap0:] if not m["delete"]], 5,
                           "a SAP announcement after the restart")
                sap_new = [m for m in wire.group(TONE_MP3)["sap"][sap0:] if not m["delete"]]
                assert all(m["hash"] == hash0 and m["sdp"] == sdp for m in sap_new), (name, sap_new[:2])
                log(f"{name}: ffmpeg at {ffmpeg.position:.1f}s, gstreamer at {gst.position:.1f}s, same SSRC, "
                    f"SAP hash {hash0} and o= unchanged")
        finally:
            ffmpeg.stop()
            gst.stop()
        m1.leave()
        assert d.stop() == 0, d.log()
    log("restart players test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
