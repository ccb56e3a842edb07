#!/usr/bin/env python3
"""test_media_codecs.py — every codec joincast sends, proven by real
decoders at the listener.

One media engine sends six sessions at once from the "head" namespace:
files encoded by ffmpeg (MP3, ADTS AAC, Ogg Opus, Ogg Vorbis: 6 s long and
looped, so the 10 s a receiver decodes cross a loop, a chained Ogg stream
included; MPEG-TS with MP2 audio, 30 s, not looped: passthrough cannot
rewrite the timestamps inside a TS that restarts) and the built-in test
tone. On the "rx" namespace, for every group:

  * `ffprobe sap://[group]` finds the stream from its SAP announcement and
    names the codec;
  * `ffmpeg -xerror -v warning` decodes 10 s of the RTP: it must exit 0,
    print nothing (no decode error, no lost packet) and really decode 10 s;
  * tshark, capturing all of it, decodes SAP, SDP, RTP and RTCP with no
    malformed packet and no expert info, and sees each group's SDP carry
    the group itself in c= and RTCP sender reports for each stream.
"""

import subprocess
import sys
import time

from media_lab import Capture, Driver, GROUP, HEAD_V6, Lab, log, make_media, topology, tshark_fields

# kind, group, what ffprobe may call it. RTP payload type 14 is "MPA",
# which FFmpeg's RTP demuxer names mp2 until a decoder has seen a frame;
# MPEG-TS passthrough shows the streams inside the TS.
SESSIONS = [
    ("mp3", "ff3e:40:2001:db8:d0be:f00d:8000:1", {"mp3", "mp2"}),
    ("aac", "ff3e:40:2001:db8:d0be:f00d:8000:2", {"aac"}),
    ("opus", "ff3e:40:2001:db8:d0be:f00d:8000:3", {"opus"}),
    ("vorbis", "ff3e:40:2001:db8:d0be:f00d:8000:4", {"vorbis"}),
    ("mpegts", "ff3e:40:2001:db8:d0be:f00d:d0be:f00d", {"mp2"}),
    ("tone", GROUP, {"mp3", "mp2"}),
]


def main() -> int:
    with Lab("media-codecs") as lab:
        head, rx = topology(lab)
        driver = Driver(lab, head)
        ids = {}
        for kind, group, _ in SESSIONS:
            if kind == "tone":
                source = {"type": "tone", "codec": "mp3"}
            elif kind == "mpegts":
                source = {"type": "file", "path": str(make_media(lab, kind, 30)), "loop": False}
            else:
                source = {"type": "file", "path": str(make_media(lab, kind, 6)), "loop": True}
            ids[group] = driver.start(group, source, metadata={"station_name": f"test {kind}"})
        for group, sid in ids.items():
            driver.wait(sid, "started")
        log("six sessions sending")

        capture = Capture(lab, rx, "eth0", "codecs")
        probes, decoders = {}, {}
        for kind, group, _ in SESSIONS:
            url = f"sap://[{group}]"
            probes[group] = rx.spawn("ffprobe", "-v", "error", "-show_streams", "-of", "json", url,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            decoders[group] = rx.spawn("ffmpeg", "-hide_banner", "-nostdin", "-v", "warning", "-xerror", "-i", url,
                                       "-t", "10", "-f", "null", "-progress", "pipe:1", "-nostats", "-",
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # New listeners: what the membership module reports on a join. The
        # clients need the SDP now, not at the next periodic announcement.
        time.sleep(0.5)
        for sid in ids.values():
            assert driver.request({"cmd": "listener", "session": sid})["ok"]

        failures = []
        for kind, group, names in SESSIONS:
            out, err = probes[group].communicate(timeout=60)
            if probes[group].returncode != 0:
                failures.append(f"{kind}: ffprobe failed: {err.strip()}")
                continue
            found = {s.get("codec_name") for s in __import__("json").loads(out).get("streams", [])}
            log(f"{kind}: ffprobe sees {sorted(found)}")
            if not found & names:
                failures.append(f"{kind}: ffprobe found {found}, expected one of {names}")
        for kind, group, _ in SESSIONS:
            out, err = decoders[group].communicate(timeout=90)
            times = [int(line.split("=")[1]) for line in out.splitlines()
                     if line.startswith("out_time_us=") and line.split("=")[1].isdigit()]
            decoded = max(times, default=0) / 1e6
            log(f"{kind}: ffmpeg exit {decoders[group].returncode}, decoded {decoded:.2f} s")
            if decoders[group].returncode != 0:
                failures.append(f"{kind}: ffmpeg -xerror exited {decoders[group].returncode}: {err.strip()}")
            elif err.strip():
                failures.append(f"{kind}: ffmpeg warned: {err.strip()}")
            if decoded < 9.5:
                failures.append(f"{kind}: ffmpeg decoded only {decoded:.2f} s")
        pcap = capture.stop()

        for group, sid in ids.items():
            s = driver.stats(sid)
            if s["state"] != "running" or s["send_errors"]:
                failures.append(f"{group}: state {s['state']}, {s['send_errors']} send errors ({s['last_send_error']})")
        driver.close()

        # Wireshark's SAP dissector skips the optional payload type
        # ("application/sdp\0", RFC 2974 §3) only when it builds a protocol
        # tree, so its tree-less `-z expert` pass hands that text to the SDP
        # dissector and reports "Invalid SDP line" for every SAP packet from
        # any sender that includes it. The dissection a person sees (with a
        # tree) is checked here: any malformed packet or expert info fails.
        bad = tshark_fields(pcap, ["frame.number", "_ws.col.Protocol", "_ws.expert.message"],
                            "_ws.malformed || _ws.expert")
        if bad:
            failures.append(f"tshark found malformed packets or expert info: {bad[:10]}")
        for kind, group, _ in SESSIONS:
            rtp = tshark_fields(pcap, ["rtp.seq"], f"ipv6.dst == {group} && rtp && udp.dstport == 5004")
            sdp = tshark_fields(pcap, ["sdp.connection_info.address", "sdp.owner.address"],
                                f"ipv6.dst == {group} && sap && sdp")
            sr = tshark_fields(pcap, ["rtcp.senderssrc"], f"ipv6.dst == {group} && rtcp.pt == 200")
            log(f"{kind}: tshark decodes {len(rtp)} RTP, {len(sdp)} SAP/SDP, {len(sr)} RTCP SR")
            if len(rtp) < 50:
                failures.append(f"{kind}: only {len(rtp)} RTP packets decoded")
            if not sdp or any(row != [group, HEAD_V6] for row in sdp):
                failures.append(f"{kind}: SDP c=/o= are {sdp}, expected {[group, HEAD_V6]}")
            if not sr:
                failures.append(f"{kind}: no RTCP sender report")

        for f in failures:
            log("FAIL " + f)
        return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
