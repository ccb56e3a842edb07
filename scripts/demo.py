#!/usr/bin/env python3
"""demo.py — joincast's demo, narrated, offline, in a network-namespace lab
that is removed again at the end (or on Ctrl-C).

    kitchen (listener) ──┐
                         br0 ── router + headend: joincastd
    study   (listener) ──┘

joincastd runs with the built-in test directory (tones generated locally,
no network needed). A player in the kitchen opens the station's SAP
address; its join is what starts the stream. A second listener in the
study reports reception by RTCP, both leave, and the stream stops.
"""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from netlab import JOINCAST, Daemon, Lab, wait_until  # noqa: E402

PREFIX = "2001:db8:d0be:f00d"
BOLD, DIM, RESET = ("\033[1m", "\033[2m", "\033[0m") if sys.stdout.isatty() else ("", "", "")


def say(text: str) -> None:
    print(f"\n{BOLD}▶ {text}{RESET}", flush=True)


def show(daemon: Daemon, *args: str) -> None:
    print(f"{DIM}$ joincast {' '.join(args)}{RESET}", flush=True)
    print(daemon.cli(*args, json_out=False).stdout.rstrip(), flush=True)


def sessions(daemon: Daemon) -> list:
    return daemon.cli("sessions")["sessions"]


def main() -> int:
    with Lab("demo") as lab:
        say("Building a lab: a router with a bridge, and two listener hosts (kitchen, study)")
        router, kitchen, study = (lab.netns(n) for n in ("router", "kitchen", "study"))
        lab.veth(router, "p1", kitchen, "eth0")
        lab.veth(router, "p2", study, "eth0")
        lab.bridge(router, "br0", ["p1", "p2"])
        lab.addr(router, "br0", f"{PREFIX}::1/64")
        lab.addr(kitchen, "eth0", f"{PREFIX}::11/64")
        lab.addr(study, "eth0", f"{PREFIX}::12/64")
        pins = lab.bpffs() / "joincast"

        say("Starting joincastd: membership by eBPF on br0, the built-in test directory, streams out of br0")
        d = Daemon(lab, router, f"""
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = ["br0"]
bpf_pin_root = "{pins}"
[membership.timers]
query_interval = "10s"
query_response_interval = "2s"
[address_plan]
ipv6_prefix = "{PREFIX}::/64"
[[directory]]
name = "test"
type = "test"
slot = 0
[sessions]
interface = "br0"
grace = "2s"
sap_interval = "2s"
""").start()
        show(d, "directories")
        group = d.cli("map", "0")["group"]
        say(f"Station 0 is the multicast group {group}")
        show(d, "map", group)
        show(d, "sessions")

        say("Following membership and session events live (joincast watch)")
        watch = lab.spawn(["ip", "netns", "exec", router.name, str(JOINCAST), "--socket", str(d.socket),
                           "watch", "membership", "sessions"])
        time.sleep(0.3)

        say(f"In the kitchen, a player opens sap://[{group}]: its join starts the stream")
        t0 = time.monotonic()
        player = kitchen.spawn("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "info", "-i",
                               f"sap://[{group}]?interface=eth0", "-t", "6", "-f", "null", "-",
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: any(s["state"] == "running" for s in sessions(d)), 10, "the stream to start")
        print(f"  on air {time.monotonic() - t0:.2f} s after the player started")

        say("In the study, `joincast listen` joins too and reports reception by RTCP")
        listener = study.spawn(str(JOINCAST), "listen", group, "--interface", "eth0", "--duration", "7", "--json",
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        wait_until(lambda: any(s.get("media", {}).get("receivers") for s in sessions(d)), 15,
                   "the study's receiver report")
        show(d, "groups")
        show(d, "sessions")
        show(d, "status")

        say("The kitchen player decodes what it receives")
        _, err = player.communicate(timeout=30)
        stream = re.search(r"Stream #0:0: (Audio: .*)", err)
        progress = re.findall(r"time=(\d+:\d+:\d+\.\d+)", err)
        print(f"  player: {stream.group(1) if stream else '?'}; decoded {progress[-1] if progress else '?'} of audio,"
              f" exit status {player.returncode}")
        print("  (FFmpeg names every RTP MPEG-audio stream, payload type 14, \"mp2\"; its decoder plays MP3 in it)")

        out, _ = listener.communicate(timeout=30)
        summary = [json.loads(l) for l in out.splitlines() if '"summary"' in l]
        if summary:
            rtp = summary[-1].get("rtp", {})
            print(f"  study listener: {rtp.get('packets', 0)} RTP packets, {rtp.get('lost', 0)} lost, "
                  f"jitter {rtp.get('jitter_ms', 0):.2f} ms")

        say("Both have left: the stream stops after the 2 s grace period, with a SAP deletion")
        wait_until(lambda: not sessions(d), 15, "the stream to stop")
        show(d, "sessions")
        watch.terminate()
        d.stop()
        stopped = [l for l in d.log().splitlines() if "session " in l and ("on air" in l or "stopped" in l)]
        print("\n".join("  " + l for l in stopped))
        say("Done: the lab is removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
