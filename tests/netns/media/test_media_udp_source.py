#!/usr/bin/env python3
"""test_media_udp_source.py — streams that arrive as UDP, relayed.

Inside the head namespace ffmpeg plays a station's part three ways, and
joincast's UDP/RTP input source takes each in and sends it on as RTP to
its own group, where ffmpeg on rx decodes it with -xerror:

  * RTP carrying MPEG-TS (PT 33) to [::1] (unicast, IPv6);
  * RTP carrying MP3 (PT 14, RFC 2250 header) to 127.0.0.1;
  * raw MPEG-TS over UDP to 239.1.1.1 on a dummy interface, joined
    source-specific (SSM) by the source, as dvblast would send it.
"""

import subprocess
import sys

from media_lab import Driver, Lab, log, make_media, topology

RELAYS = [
    # name, ffmpeg output args, source options, group joincast sends to
    ("rtp-mp2t", ["-f", "rtp_mpegts", "rtp://[::1]:20000"],
     {"address": "::1", "port": 20000}, "ff3e:40:2001:db8:d0be:f00d:8000:21"),
    ("rtp-mpa", ["-f", "rtp", "rtp://127.0.0.1:20002"],
     {"address": "127.0.0.1", "port": 20002}, "ff3e:40:2001:db8:d0be:f00d:8000:22"),
    ("udp-ts-ssm", ["-f", "mpegts", "udp://239.1.1.1:20004?localaddr=198.51.100.1&ttl=1&pkt_size=1316"],
     {"address": "239.1.1.1", "port": 20004, "interface": "in0", "source": "198.51.100.1"},
     "ff3e:40:2001:db8:d0be:f00d:8000:23"),
]


def main() -> int:
    with Lab("media-udp") as lab:
        head, rx = topology(lab)
        # A local multicast segment for the raw TS, as a DVB receiver's (a
        # veth pair: the lab kernel may lack the dummy driver).
        head.run("ip", "link", "add", "in0", "type", "veth", "peer", "name", "in1")
        head.run("ip", "link", "set", "in1", "up")
        head.run("ip", "link", "set", "in0", "up")
        lab.addr(head, "in0", "198.51.100.1/24")
        head.run("ip", "route", "add", "239.1.1.0/24", "dev", "in0")
        ts = make_media(lab, "mpegts", 40)
        mp3 = make_media(lab, "mp3", 40)
        driver = Driver(lab, head)
        failures = []
        ids = {}
        feeds = []
        for name, out, options, group in RELAYS:
            ids[name] = driver.start(group, {"type": "udp", **options})
            src = ts if "ts" in name or "mp2t" in name else mp3
            feeds.append(head.spawn("ffmpeg", "-hide_banner", "-nostdin", "-v", "error", "-re", "-i", str(src),
                                    "-c", "copy", *out, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for name, sid in ids.items():
            driver.wait(sid, "started", timeout=15)
        decoders = {}
        for name, _, _, group in RELAYS:
            decoders[name] = rx.spawn("ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-xerror",
                                      "-i", f"sap://[{group}]", "-t", "5", "-f", "null", "-progress", "pipe:1",
                                      "-nostats", "-", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for name, _, _, group in RELAYS:
            out, err = decoders[name].communicate(timeout=60)
            times = [int(l.split("=")[1]) for l in out.splitlines()
                     if l.startswith("out_time_us=") and l.split("=")[1].isdigit()]
            decoded = max(times, default=0) / 1e6
            s = driver.stats(ids[name])
            log(f"{name}: relayed as {s['codec']} ({s['rtp_packets']} RTP packets); "
                f"ffmpeg exit {decoders[name].returncode}, decoded {decoded:.2f} s")
            if decoders[name].returncode != 0 or err.strip() or decoded < 4.5:
                failures.append(f"{name}: ffmpeg exit {decoders[name].returncode}, {decoded:.2f} s: {err.strip()}")
            expected = "mp3" if name == "rtp-mpa" else "mpegts"
            if s["codec"] != expected:
                failures.append(f"{name}: relayed as {s['codec']}, expected {expected}")
        for f in feeds:
            f.terminate()
        driver.close()
        for f in failures:
            log("FAIL " + f)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
