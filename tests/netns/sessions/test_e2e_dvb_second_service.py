"""A second DVB service of the same carrier, added on demand, costs the
first nothing: with listeners checking every RTP and MPEG-TS packet
(sequence numbers, continuity counters, the PAT holding only their own
service, the largest silence), a join of service 4098 while 4097 plays adds
it to the running dvblast through its control socket, and 4097's receiver
sees no gap. Also: the SDP joincast announces for a dvblast stream (dvblast
sends none) is the one `joincast sdp` returns. (test_e2e_dvb.py covers the
rest of DVB on demand.)"""

import json
import socket
import struct
import subprocess
import sys
import time

from lab import Daemon, Lab, log, wait_until
from test_dvb import Receiver, pid_alive

PREFIX = "2001:db8:d0be:f00d"


def dvblast_pids(ns) -> list[int]:
    """dvblast processes in this namespace only (other tests may run
    their own elsewhere on the machine)."""
    pids = []
    for pid in ns.lab.run(["ip", "netns", "pids", ns.name], check=False).split():
        try:
            if open(f"/proc/{pid}/comm").read().strip() == "dvblast":
                pids.append(int(pid))
        except OSError:
            pass
    return pids


SAP_RECEIVER = r"""
import socket, struct, sys, json
group, ifname = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((group, 9875))
mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", socket.if_nametoindex(ifname))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
s.settimeout(15)
data = s.recv(4096)
flags, auth = data[0], data[1]
origin_len = 16 if flags & 0x10 else 4
payload = data[4 + origin_len + auth * 4:]
if payload.startswith(b"application/sdp\0"):
    payload = payload[len(b"application/sdp\0"):]
print(json.dumps({"deletion": bool(flags & 0x04), "sdp": payload.decode()}), flush=True)
"""


def main() -> int:
    with Lab("e2edvb2") as lab:
        router, c1 = lab.netns("router"), lab.netns("c1")
        lab.veth(router, "p1", c1, "eth0")
        lab.bridge(router, "br0", ["p1"])
        lab.addr(router, "br0", f"{PREFIX}::1/64")
        lab.addr(c1, "eth0", f"{PREFIX}::11/64")
        feed = router.spawn("ffmpeg", "-hide_banner", "-loglevel", "error", "-re",
                            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                            "-f", "lavfi", "-i", "sine=frequency=880:sample_rate=48000",
                            "-map", "0:a", "-map", "1:a", "-c:a", "mp2", "-b:a", "192k",
                            "-program", "program_num=4097:title=One:st=0",
                            "-program", "program_num=4098:title=Two:st=1",
                            "-f", "mpegts", "udp://127.0.0.1:1234?pkt_size=1316",
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        d = Daemon(lab, router, f"""
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"
[membership]
interfaces = ["br0"]
bpf_pin_root = "{lab.bpffs() / 'joincast'}"
[membership.timers]
query_interval = "5s"
query_response_interval = "1s"
[address_plan]
ipv6_prefix = "{PREFIX}::/64"
[dvb]
udp_inputs = ["127.0.0.1:1234/udp"]
runtime_dir = "{lab.tmp / 'dvb'}"
[[dvb.carrier]]
name = "Astra 28.2E DAB"
dvblast = "dvblast -f 11426500 -v 18 -5 DVBS -s 27500000 -F 23"
services = [ {{ id = 4097, name = "One" }}, {{ id = 4098, name = "Two" }} ]
[sessions]
interface = "br0"
grace = "1s"
sap_interval = "1s"
""").start()
        g1 = d.cli("map", "dvb:11426500:h:4097")["group"]
        g2 = d.cli("map", "dvb:11426500:h:4098")["group"]
        log(f"service 4097 is {g1}, 4098 is {g2}")
        assert not dvblast_pids(router)

        log("a listener joins service 4097: dvblast starts, RTP PT 33 arrives with only that service")
        sap = c1.spawn(sys.executable, "-c", SAP_RECEIVER, g1, "eth0", stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        rx1 = Receiver(lab, c1, g1, "eth0")
        wait_until(lambda: rx1.stats()["packets"] > 50, 20, "RTP of service 4097")
        assert len(dvblast_pids(router)) == 1
        s1 = rx1.stats("reset-gap")
        assert s1["bad_pt"] == 0 and s1["programs"] == [4097], s1
        session = next(s for s in d.cli("sessions")["sessions"] if s["group"] == g1)
        assert session["state"] == "running" and session["directory"] == "dvb" and session["service"] == "One", session

        log("joincastd announces it: SAP with an SDP for MP2T/90000 on the group")
        out, err = sap.communicate(timeout=20)
        announcement = json.loads(out)
        sdp = announcement["sdp"]
        assert not announcement["deletion"], announcement
        assert f"c=IN IP6 {g1}\r\n" in sdp and "m=video 5004 RTP/AVP 33\r\n" in sdp, sdp
        assert "a=rtpmap:33 MP2T/90000\r\n" in sdp and "s=One\r\n" in sdp, sdp
        assert d.cli("sdp", g1)["sdp"] == sdp

        log("a second listener joins service 4098 of the same carrier: no new dvblast, no gap in 4097")
        rx2 = Receiver(lab, c1, g2, "eth0")
        wait_until(lambda: rx2.stats()["packets"] > 50, 20, "RTP of service 4098")
        assert len(dvblast_pids(router)) == 1
        time.sleep(1)
        s1 = rx1.stats()
        assert s1["seq_gaps"] == 0 and s1["cc_errors"] == 0 and s1["max_gap_ms"] < 200, s1
        assert rx2.stats()["programs"] == [4098]

        log("both leave: the sessions stop and dvblast with them")
        rx1.proc.stdin.write("quit\n"); rx1.proc.stdin.flush(); rx1.proc.wait(timeout=10)
        rx2.proc.stdin.write("quit\n"); rx2.proc.stdin.flush(); rx2.proc.wait(timeout=10)
        wait_until(lambda: not d.cli("sessions")["sessions"], 15, "the sessions to stop")
        wait_until(lambda: not dvblast_pids(router), 15, "dvblast to exit")
        feed.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
