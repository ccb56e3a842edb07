"""mDNS zones on Linux bridges, a flood from one host, and a second
reflector on the same links. The router's trusted and iot zones are
bridges (br-lan, br-iot) with a port per host: a phone and a flooder on
br-lan, a printer on br-iot, and a "rogue" host with a port on each. The
phone's avahi-browse resolves the printer through joincastd; the flooder
sends a thousand queries a second for printers and gets only its rate
carried into iot while the phone's discovery goes on; then an
avahi-daemon with enable-reflector=yes starts on the rogue host: it
carries the phone's services into iot (avahi-browse on the printer finds
them: what joincast never lets across), joincastd finds it by the records
it copies, reports it in `joincast mdns` and its log (once), and does not
relay its traffic. The forwarding stays at what the browsing needs; in this
lab it did so with the detection switched off too (avahi's reflector
suppresses its own repeats), so that check guards against a regression,
while `reflected` is what shows the reflector's messages held back."""

import subprocess
import sys
import time

from lab import JOINCASTD, Daemon, Lab, log, require_tools, wait_until
from avahi_fixture import Avahi
from mdns_lab import config

ZONES = dict(zones=("trusted", "iot"), interfaces={"trusted": ["br-lan"], "iot": ["br-iot"]},
             rules=(("trusted", "iot", ["_ipp._tcp"]),), mdns={"rate": 20, "burst": 40})

# Queries for _ipp._tcp.local PTR from port 5353, `rate` a second for
# `seconds`; each with a distinct known answer-free question so none is a
# duplicate of another.
FLOOD = r"""
import socket, struct, sys, time
rate, seconds = int(sys.argv[1]), float(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("10.10.0.9", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
q = struct.pack("!6H", 0, 0, 1, 0, 0, 0) + b"\x04_ipp\x04_tcp\x05local\x00" + struct.pack("!2H", 12, 1)
start, sent = time.monotonic(), 0
while time.monotonic() - start < seconds:
    s.sendto(q, ("224.0.0.251", 5353))
    sent += 1
    delay = start + sent / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(sent)
"""


def zone(status: dict, name: str) -> dict:
    return next(z for z in status["zones"] if z["name"] == name)


def pair(status: dict, src: str, dst: str) -> dict:
    return next(p for p in status["pairs"] if p["from"] == src and p["to"] == dst)


def forwarded(status: dict) -> int:
    return sum(p["forwarded"] for p in status["pairs"])


def main() -> int:
    if not require_tools("avahi-daemon", "avahi-browse", "dbus-daemon"):
        return 77
    with Lab("m2-mdns-reflector") as lab:
        router, phone, printer, flooder, rogue = (lab.netns("router"), lab.netns("phone"), lab.netns("printer"),
                                                  lab.netns("flooder"), lab.netns("rogue"))
        lab.veth(router, "lp-phone", phone, "eth0")
        lab.veth(router, "lp-flood", flooder, "eth0")
        lab.veth(router, "lp-rogue", rogue, "eth0")
        lab.veth(router, "ip-printer", printer, "eth0")
        lab.veth(router, "ip-rogue", rogue, "eth1")
        lab.bridge(router, "br-lan", ["lp-phone", "lp-flood", "lp-rogue"], mcast_snooping=0)
        lab.bridge(router, "br-iot", ["ip-printer", "ip-rogue"], mcast_snooping=0)
        lab.addr(router, "br-lan", "10.10.0.1/24")
        lab.addr(router, "br-iot", "10.20.0.1/24")
        lab.addr(phone, "eth0", "10.10.0.2/24")
        lab.addr(flooder, "eth0", "10.10.0.9/24")
        lab.addr(rogue, "eth0", "10.10.0.7/24")
        lab.addr(rogue, "eth1", "10.20.0.7/24")
        lab.addr(printer, "eth0", "10.20.0.5/24")
        flooder.run("ip", "route", "add", "224.0.0.0/4", "dev", "eth0")
        wait_until(lambda: "fe80" in router.run("ip", "-6", "addr", "show", "dev", "br-iot"), 10, "link-local addresses")

        d = Daemon(lab, router, config(lab.bpffs(), **ZONES)).start()
        wait_until(lambda: all(z["interfaces"] for z in d.cli("mdns")["zones"]), 10, "both bridges in force")
        printer_avahi = Avahi(lab, printer, "printer", ["eth0"], [
            ("Printer", "_ipp._tcp", 631, ["rp=printers/office"])], ipv6=False)
        phone_avahi = Avahi(lab, phone, "phone", ["eth0"], [("PhoneShell", "_ssh._tcp", 22, [])], ipv6=False)

        def phone_finds_printer() -> bool:
            return any(s["name"] == "Printer" and s["address"] == "10.20.0.5"
                       for s in phone_avahi.resolved("_ipp._tcp"))

        log("zones on bridges: the phone resolves the printer")
        wait_until(phone_finds_printer, 30, "the phone to resolve the printer across the bridges", interval=1)
        assert not any(s["name"] == "PhoneShell" for s in printer_avahi.resolved("_ssh._tcp"))

        log("a flood of 1000 queries a second from one host: its rate crosses, the phone still finds the printer")
        before = d.cli("mdns")
        flood = flooder.spawn(sys.executable, "-c", FLOOD, "1000", "6", stdout=subprocess.PIPE)
        time.sleep(1)
        # A fresh browse by the phone while the flood goes on.
        wait_until(phone_finds_printer, 5, "the phone to resolve the printer during the flood", interval=0.5)
        out, _ = flood.communicate(timeout=30)
        sent = int(out.strip())
        after = d.cli("mdns")
        limited = zone(after, "trusted")["rate_limited"] - zone(before, "trusted")["rate_limited"]
        crossed = (pair(after, "trusted", "iot")["queries_forwarded"]
                   - pair(before, "trusted", "iot")["queries_forwarded"])
        log(f"flood: {sent} sent, {limited} rate-limited, {crossed} queries of trusted crossed into iot")
        assert sent > 3000, sent
        assert limited >= sent - (40 + 20 * 8), (sent, limited)
        # Its burst and rate for the ~7 s, plus the phone's own browsing.
        assert crossed <= 40 + 20 * 8 + 50, crossed

        log("an avahi reflector on a host with a port on both bridges")
        assert d.cli("mdns")["reflectors"] == []
        Avahi(lab, rogue, "rogue", ["eth0", "eth1"], ipv6=False, reflector=True)
        log("avahi's reflector carries trusted's SSH into iot (joincast did not)")
        wait_until(lambda: any(s["name"] == "PhoneShell" for s in printer_avahi.resolved("_ssh._tcp", timeout=10)),
                   30, "the printer to see the phone's SSH through avahi's reflector", interval=1)

        log("joincastd finds the reflector by the records it copies, and reports it")
        wait_until(lambda: d.cli("mdns")["reflectors"], 30, "the reflector reported", interval=1)
        reflectors = d.cli("mdns")["reflectors"]
        assert {r["address"] for r in reflectors} <= {"10.10.0.7", "10.20.0.7"}, reflectors
        first = reflectors[0]
        assert {first["zone"], first["copies_from"]} == {"trusted", "iot"}, reflectors
        wait_until(lambda: "reflects mDNS of zone" in d.log(), 5, "the reflector logged")
        status_text = subprocess.run([str(JOINCASTD).replace("daemon/joincastd", "tools/joincast"), "--socket",
                                      str(d.socket), "status"], capture_output=True, text=True, timeout=10).stdout
        assert "mdns: another reflector: 10." in status_text, status_text
        assert "10.10.0.7" in d.log() or "10.20.0.7" in d.log()

        log("no loop: over 10 s the relay forwards what the browsing needs, not an echo")
        start = d.cli("mdns")
        for _ in range(3):
            phone_avahi.resolved("_ipp._tcp", timeout=10)
        time.sleep(4)
        end = d.cli("mdns")
        growth = forwarded(end) - forwarded(start)
        reflected = sum(z["reflected"] for z in end["zones"])
        log(f"forwarded {growth} in ~10 s with the reflector present; {reflected} of its messages not relayed")
        assert growth < 60, (growth, end)
        assert reflected > 0, end
        # Logged once when found; again only after a minute.
        logged = [line for line in d.log().splitlines() if "reflects mDNS of zone" in line]
        assert len(logged) == len(end["reflectors"]), logged
        assert phone_finds_printer(), "discovery through joincast stopped with the reflector present"
    return 0


if __name__ == "__main__":
    sys.exit(main())
