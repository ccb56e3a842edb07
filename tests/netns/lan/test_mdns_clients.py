"""mDNS across zones as other clients ask it: legacy unicast queries (RFC
6762 §6.7: a source port other than 5353) from python3-zeroconf in unicast
mode and from a raw socket, a zone that has only IPv6, the per-zone list of
services in `joincast mdns`, and a zone's question about its own service
kept at home. A router with lan0 (trusted), iot0 (iot) and v6lan0 (v6, no
IPv4 at all) runs joincastd; a printer's avahi-daemon publishes _ipp._tcp in
iot, a speaker's avahi-daemon with IPv4 off publishes _raop._tcp in v6, a
phone's avahi-daemon publishes _ssh._tcp in trusted. Asserted on what the
clients get and on the bytes of the replies and of a capture in iot."""

import json
import socket
import struct
import subprocess
import sys
import time

from lab import JOINCASTD, Daemon, Lab, log, require_tools, wait_until
from avahi_fixture import Avahi
from mdns_lab import config, two_zones

ZONES = dict(zones=("trusted", "iot"), extra_zones=(("v6", ["v6lan0"], 1),),
             rules=(("trusted", "iot", ["_ipp._tcp", "_ssh._tcp"]),))

# python3-zeroconf in unicast mode: its queries leave from a random port
# (legacy unicast), and it takes the unicast replies. Prints what it
# resolved as JSON.
ZEROCONF = r"""
import json, sys
from zeroconf import Zeroconf, ServiceInfo, IPVersion
zc = Zeroconf(interfaces=["10.10.0.2"], unicast=True, ip_version=IPVersion.V4Only)
info = ServiceInfo("_ipp._tcp.local.", "Printer._ipp._tcp.local.")
ok = info.request(zc, 6000)
print(json.dumps({"ok": ok, "server": info.server, "port": info.port,
                  "addresses": info.parsed_addresses(), "txt": {k.decode(): (v or b"").decode() for k, v in info.properties.items()}}))
zc.close()
"""

# A raw legacy query (from port 40000, ID 0x4a43) for _ipp._tcp.local PTR;
# prints every reply as hex with its source, for the test to decode.
RAW_LEGACY = r"""
import socket, struct, sys, time, json
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.0.2", 40000))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
q = struct.pack("!6H", 0x4a43, 0x0100, 1, 0, 0, 0) + b"\x04_ipp\x04_tcp\x05local\x00" + struct.pack("!2H", 12, 1)
s.sendto(q, ("224.0.0.251", 5353))
s.settimeout(0.5)
out = []
deadline = time.monotonic() + 6
while time.monotonic() < deadline and not out:
    try:
        data, src = s.recvfrom(9000)
        out.append({"from": list(src), "hex": data.hex()})
    except socket.timeout:
        s.sendto(q, ("224.0.0.251", 5353))
print(json.dumps(out))
"""

# A query from the phone for its own SSH service's SRV and for an unknown
# printer's, from port 5353: the relay saw trusted announce PhoneShell and
# keeps that question home; the other one crosses.
OWN_QUERY = r"""
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("10.10.0.2", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
q = (struct.pack("!6H", 0, 0, 2, 0, 0, 0) + b"\x0aPhoneShell\x04_ssh\x04_tcp\x05local\x00" + struct.pack("!2H", 33, 1)
     + b"\x07Missing\x04_ipp\x04_tcp\x05local\x00" + struct.pack("!2H", 33, 1))
for _ in range(3):
    s.sendto(q, ("224.0.0.251", 5353))
"""


def name_at(data: bytes, off: int) -> tuple[str, int]:
    labels, end, jumps = [], None, 0
    while True:
        n = data[off]
        if n & 0xc0 == 0xc0:
            if end is None:
                end = off + 2
            off = ((n & 0x3f) << 8) | data[off + 1]
            jumps += 1
            assert jumps < 20
            continue
        if n == 0:
            return ".".join(labels), (end if end is not None else off + 1)
        labels.append(data[off + 1:off + 1 + n].decode())
        off += 1 + n


def decode(data: bytes) -> dict:
    """The header, questions and records of a DNS message (our own small
    decoder, independent of the daemon's)."""
    ident, flags, qd, an, ns, ar = struct.unpack("!6H", data[:12])
    off, questions, records = 12, [], []
    for _ in range(qd):
        name, off = name_at(data, off)
        qtype, qclass = struct.unpack("!2H", data[off:off + 4])
        off += 4
        questions.append((name, qtype, qclass))
    for _ in range(an + ns + ar):
        name, off = name_at(data, off)
        rtype, rclass, ttl, rdlen = struct.unpack("!HHIH", data[off:off + 10])
        off += 10 + rdlen
        records.append({"name": name, "type": rtype, "class": rclass, "ttl": ttl})
    return {"id": ident, "flags": flags, "questions": questions, "answers": an, "records": records}


def zone(status: dict, name: str) -> dict:
    return next(z for z in status["zones"] if z["name"] == name)


def pair(status: dict, src: str, dst: str) -> dict:
    return next(p for p in status["pairs"] if p["from"] == src and p["to"] == dst)


def main() -> int:
    if not require_tools("avahi-daemon", "avahi-browse", "dbus-daemon", "tcpdump"):
        return 77
    try:
        import zeroconf  # noqa: F401
    except ImportError:
        print("python3-zeroconf is missing (scripts/install-deps.sh installs it)", file=sys.stderr)
        return 1
    with Lab("m2-mdns-clients") as lab:
        router, phone, printer = two_zones(lab, ipv6=("trusted",))
        speaker = lab.netns("speaker")
        lab.veth(router, "v6lan0", speaker, "eth0")
        lab.addr(router, "v6lan0", "fd00:30::1/64")  # no IPv4 in this zone
        lab.addr(speaker, "eth0", "fd00:30::5/64")
        phone.run("ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        wait_until(lambda: "fe80" in router.run("ip", "-6", "addr", "show", "dev", "v6lan0")
                   and "fe80" in speaker.run("ip", "-6", "addr", "show", "dev", "eth0"), 10, "link-local addresses")

        capture_file = lab.tmp / "iot.pcap"
        capture = printer.spawn("tcpdump", "-i", "eth0", "-U", "-w", str(capture_file), "udp", "port", "5353",
                                stderr=subprocess.DEVNULL)
        d = Daemon(lab, router, config(lab.bpffs(), **ZONES)).start()
        wait_until(lambda: all(z["interfaces"] for z in d.cli("mdns")["zones"]), 10, "every zone in force")
        v6 = zone(d.cli("mdns"), "v6")["interfaces"][0]
        assert v6["ipv4"] is None and v6["ipv6"].startswith("fe80:"), v6

        printer_avahi = Avahi(lab, printer, "printer", ["eth0"], [
            ("Printer", "_ipp._tcp", 631, ["txtvers=1", "rp=printers/office"])])
        Avahi(lab, speaker, "speaker", ["eth0"], [("Speaker", "_raop._tcp", 7000, ["am=test"])], ipv4=False)
        phone_avahi = Avahi(lab, phone, "phone", ["eth0"], [("PhoneShell", "_ssh._tcp", 22, [])])

        log("the IPv6-only zone: the phone's avahi-browse resolves the speaker to its routable IPv6 address")
        found = []

        def speaker_found() -> bool:
            found[:] = [s for s in phone_avahi.resolved("_raop._tcp") if s["name"] == "Speaker"]
            return any(s["address"] == "fd00:30::5" for s in found)

        wait_until(speaker_found, 30, "the phone to resolve the IPv6-only speaker", interval=1)
        assert all(s["protocol"] == "IPv6" and s["address"] == "fd00:30::5" for s in found), found

        log("python3-zeroconf in unicast mode (legacy queries) resolves the printer across zones")
        r = phone.run(sys.executable, "-c", ZEROCONF, timeout=30)
        got = json.loads(r.strip().splitlines()[-1])
        assert got["ok"], got
        assert got["server"] == "printer.local." and got["port"] == 631, got
        assert got["addresses"] == ["10.20.0.5"], got
        assert got["txt"].get("rp") == "printers/office", got
        status = d.cli("mdns")
        assert zone(status, "trusted")["legacy_queries"] > 0, status
        assert pair(status, "iot", "trusted")["legacy_answers"] > 0, status

        log("a raw legacy query: a unicast reply from the router's port 5353 with its ID and question, no "
            "cache-flush bit, TTLs of at most 10 s")
        replies = json.loads(phone.run(sys.executable, "-c", RAW_LEGACY, timeout=30).strip())
        assert replies, "no reply to the legacy query"
        reply = replies[0]
        assert reply["from"] == ["10.10.0.1", 5353], reply
        m = decode(bytes.fromhex(reply["hex"]))
        assert m["id"] == 0x4a43 and m["flags"] & 0x8000, m
        assert m["questions"] == [("_ipp._tcp.local", 12, 1)], m
        assert m["answers"] >= 1 and m["records"][0]["name"] == "_ipp._tcp.local" and m["records"][0]["type"] == 12, m
        for rec in m["records"]:
            assert rec["class"] == 1, f"a cache-flush bit (or another class) in a legacy reply: {m}"
            assert rec["ttl"] <= 10, f"a TTL over 10 s in a legacy reply: {m}"
        assert b"\x07Printer" in bytes.fromhex(reply["hex"]), m

        log("the services each zone announced, as joincast mdns lists them")
        def listed() -> dict:
            return {z["name"]: z["services"] for z in d.cli("mdns")["zones"]}
        wait_until(lambda: any(s["instance"] == "PhoneShell" for s in listed()["trusted"]), 10, "trusted's services")
        services = listed()
        printer_entry = next(s for s in services["iot"] if s["instance"] == "Printer")
        # As announced on its link: its link-local IPv6 address too (it
        # does not cross, but the printer has it).
        addresses = printer_entry.pop("addresses")
        assert printer_entry == {"type": "_ipp._tcp", "instance": "Printer", "host": "printer.local", "port": 631,
                                 "zone": "iot", "source": "10.20.0.5"}, printer_entry
        assert addresses[0] == "10.20.0.5" and all(a.startswith("fe80:") for a in addresses[1:]), addresses
        speaker_entry = next(s for s in services["v6"] if s["instance"] == "Speaker")
        assert speaker_entry["addresses"] == ["fd00:30::5"], speaker_entry
        assert not any(s["instance"] == "PhoneShell" for s in services["iot"]), services
        text = subprocess.run([str(JOINCASTD).replace("daemon/joincastd", "tools/joincast"), "--socket",
                               str(d.socket), "mdns"], capture_output=True, text=True, timeout=10).stdout
        assert "Printer._ipp._tcp printer.local:631 10.20.0.5" in text, text

        log("a question of trusted about its own service stays in trusted, though _ssh._tcp may be asked in iot")
        phone.run(sys.executable, "-c", OWN_QUERY)
        wait_until(lambda: b"\x07Missing" in capture_file.read_bytes(), 10, "the query's other question in iot")
        time.sleep(0.5)
        capture.terminate()
        capture.wait(timeout=10)
        raw = capture_file.read_bytes()
        assert b"\x07Printer" in raw, "the capture on the printer's link holds no mDNS at all"
        assert b"PhoneShell" not in raw, "the phone's own instance name crossed into iot"
    return 0


if __name__ == "__main__":
    sys.exit(main())
