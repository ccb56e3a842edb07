"""mDNS between a trusted LAN and an IoT VLAN, with real avahi-daemons (each
with a private D-Bus, avahi_fixture.py): a router with lan0 (trusted) and
iot0 (iot) runs joincastd, beside an avahi-daemon of its own on the same
port; a printer on the iot side publishes _ipp._tcp and _ssh._tcp; a phone
on the trusted side publishes _ssh._tcp and _smb._tcp. The rule lets trusted
discover only _ipp._tcp in iot. Asserted with what the real clients see:
the phone's avahi-browse resolves the printer to its routable address and
finds no SSH service of the printer; the printer's avahi-browse finds none
of the phone's services, and a capture on the printer's link holds no
packet naming the phone; a malformed message is counted, not forwarded. A
guest zone, allowed the printer too, has its interface created after
joincastd started (it waits, then is joined); in stateful mode the
printer's answers to the phone's query are not sent to the guest zone,
which did not ask."""

import signal
import socket
import subprocess
import sys
import time

from lab import JOINCASTD, Daemon, Lab, log, require_tools, wait_until
from avahi_fixture import Avahi
from mdns_lab import config, link_local, two_zones

RULES = (("trusted", "iot", ["_ipp._tcp"]), ("guest", "iot", ["_ipp._tcp"]))


# A raw QU query (RFC 6762 §5.4) for _ipp._tcp.local PTR from port 5353
# beside the phone's avahi; prints the source of the first response that
# names the printer.
QU_QUERY = r"""
import socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton("10.10.0.2"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
q = struct.pack("!6H", 0, 0, 1, 0, 0, 0) + b"\x04_ipp\x04_tcp\x05local\x00" + struct.pack("!2H", 12, 0x8001)
s.sendto(q, ("224.0.0.251", 5353))
s.settimeout(1)
deadline = time.monotonic() + 8
while time.monotonic() < deadline:
    try:
        data, src = s.recvfrom(9000)
    except socket.timeout:
        s.sendto(q, ("224.0.0.251", 5353))
        continue
    if data[2] & 0x80 and b"\x07Printer" in data:
        print(src[0])
        break
"""


def pair(status: dict, src: str, dst: str) -> dict:
    return next(p for p in status["pairs"] if p["from"] == src and p["to"] == dst)


def zone(status: dict, name: str) -> dict:
    return next(z for z in status["zones"] if z["name"] == name)


def main() -> int:
    if not require_tools("avahi-daemon", "avahi-browse", "dbus-daemon", "tcpdump"):
        return 77
    with Lab("mdns-zones") as lab:
        router, phone, printer = two_zones(lab)
        phone.run("ip", "route", "add", "default", "via", "10.10.0.1")
        printer.run("ip", "route", "add", "default", "via", "10.20.0.1")
        router.sysctl("net.ipv4.ip_forward", 1)
        link_local(router, "iot0")

        capture_file = lab.tmp / "iot.pcap"
        capture = printer.spawn("tcpdump", "-i", "eth0", "-U", "-w", str(capture_file), "udp", "port", "5353",
                                stderr=subprocess.DEVNULL)

        log("an avahi-daemon on the router itself, then joincastd on the same port")
        Avahi(lab, router, "router", ["lan0", "iot0"])
        d = Daemon(lab, router, config(lab.bpffs(), rules=RULES)).start()
        wait_until(lambda: len(d.cli("mdns")["zones"][1]["interfaces"]) == 1, 10, "the iot zone in force")
        status = d.cli("mdns")
        assert status["pending"] == [{"zone": "guest", "interface": "guest0",
                                      "reason": "interface guest0 does not exist (yet)"}], status

        log("the guest interface appears after joincastd started: followed, joined")
        guest = lab.netns("guest")
        lab.veth(router, "guest0", guest, "eth0")
        lab.addr(router, "guest0", "10.30.0.1/24")
        lab.addr(guest, "eth0", "10.30.0.2/24")
        wait_until(lambda: zone(d.cli("mdns"), "guest")["interfaces"], 10, "the guest zone in force")
        assert "224.0.0.251" in router.run("ip", "maddr", "show", "dev", "guest0")
        status = d.cli("mdns")
        assert zone(status, "trusted")["interfaces"][0]["ipv4"] == "10.10.0.1", status
        assert zone(status, "iot")["interfaces"][0]["ipv6"].startswith("fe80:"), status

        printer_avahi = Avahi(lab, printer, "printer", ["eth0"], [
            ("Printer", "_ipp._tcp", 631, ["txtvers=1", "rp=printers/office"]),
            ("PrinterShell", "_ssh._tcp", 22, [])])
        phone_avahi = Avahi(lab, phone, "phone", ["eth0"], [
            ("PhoneShell", "_ssh._tcp", 22, []), ("PhoneFiles", "_smb._tcp", 445, [])])

        log("trusted browses _ipp._tcp: the printer, resolved to its routable addresses")
        found = []

        def printer_found() -> bool:
            found[:] = [s for s in phone_avahi.resolved("_ipp._tcp") if s["name"] == "Printer"]
            return any(s["address"] == "10.20.0.5" for s in found)

        wait_until(printer_found, 30, "the phone's avahi-browse to resolve the printer", interval=1)
        for s in found:
            assert s["host"] == "printer.local" and s["port"] == 631, found
            assert s["address"] in ("10.20.0.5", "fd00:20::5"), f"a non-routable address crossed: {found}"
            assert "rp=printers/office" in s["txt"], found

        log("trusted browses _ssh._tcp: its own service only, not the printer's")
        ssh = phone_avahi.resolved("_ssh._tcp")
        assert not any(s["name"] == "PrinterShell" for s in ssh), ssh
        assert any(s["name"] == "PhoneShell" for s in ssh), ssh  # the browse itself works

        log("iot browses the phone's service types: nothing of trusted")
        for stype in ("_ssh._tcp", "_smb._tcp"):
            seen = printer_avahi.resolved(stype)
            assert not any(s["name"].startswith("Phone") for s in seen), seen
        assert any(s["name"] == "PrinterShell" for s in printer_avahi.resolved("_ssh._tcp"))

        log("a QU query for printers from the phone: the router answers it by multicast on the trusted link")
        answer = phone.run("python3", "-c", QU_QUERY, timeout=20).strip()
        assert answer == "10.10.0.1", f"no answer through the relay to the QU query: {answer!r}"

        log("a malformed message from iot (a compression loop) is counted and not forwarded")
        before = zone(d.cli("mdns"), "iot")["malformed"]
        loop = bytes([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, ord("a"), 0xc0, 12, 0, 12, 0, 1])
        printer.run("python3", "-c",
                    "import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
                    "s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255); "
                    f"s.sendto(bytes.fromhex('{loop.hex()}'), ('224.0.0.251', 5353))")
        wait_until(lambda: zone(d.cli("mdns"), "iot")["malformed"] > before, 10, "the malformed message counted")
        status = d.cli("mdns")
        assert "compression loop" in zone(status, "iot")["last_malformed"], status

        trusted_to_iot, iot_to_trusted = pair(status, "trusted", "iot"), pair(status, "iot", "trusted")
        log(f"counters: trusted→iot {trusted_to_iot}, iot→trusted {iot_to_trusted}")
        assert trusted_to_iot["queries_forwarded"] > 0, status    # the browse for printers
        assert trusted_to_iot["queries_filtered"] > 0, status     # the browse for _ssh._tcp
        assert iot_to_trusted["responses_forwarded"] > 0, status  # the printer's answers
        assert iot_to_trusted["queries_forwarded"] == 0, status   # iot asks nothing of trusted
        assert trusted_to_iot["responses_forwarded"] == 0, status  # and hears nothing of it
        assert zone(status, "trusted")["own"] + zone(status, "iot")["own"] > 0, status  # the router's avahi, ignored
        # Stateful: the printer's answers to trusted's questions went to
        # trusted only; guest, which asked nothing, was left out of them.
        assert pair(status, "iot", "guest")["responses_unasked"] > 0, status
        # Its announcements (nobody asked) reached guest, which may see them.
        assert pair(status, "iot", "guest")["responses_forwarded"] > 0, status
        assert pair(status, "guest", "iot")["queries_forwarded"] == 0, status

        log("SIGHUP with the rule widened to every type: the printer's SSH is found from trusted now")
        d.config_path.write_text(d.config_path.read_text().replace(
            'to = "iot"\nservices = ["_ipp._tcp"]\n[[mdns.rule]]\nfrom = "guest"',
            'to = "iot"\nservices = ["all"]\n[[mdns.rule]]\nfrom = "guest"'))
        assert 'services = ["all"]' in d.config_path.read_text()
        d.proc.send_signal(signal.SIGHUP)
        wait_until(lambda: "reloaded" in d.log(), 10, "joincastd to reload")
        wait_until(lambda: any(s["name"] == "PrinterShell" for s in phone_avahi.resolved("_ssh._tcp")), 30,
                   "the phone to find the printer's SSH after the reload", interval=1)

        text = subprocess.run([str(JOINCASTD).replace("daemon/joincastd", "tools/joincast"), "--socket", str(d.socket),
                               "mdns"], capture_output=True, text=True, timeout=10)
        assert "zone iot (trust 1): iot0" in text.stdout, text.stdout + text.stderr

        time.sleep(1)
        capture.terminate()
        capture.wait(timeout=10)
        raw = capture_file.read_bytes()
        assert b"\x07Printer" in raw, "the capture on the printer's link holds no mDNS at all"
        for leak in (b"\x05phone", b"PhoneShell", b"PhoneFiles", b"10.10.0.2", socket.inet_aton("10.10.0.2")):
            assert leak not in raw, f"{leak!r} crossed into the iot zone"
    return 0


if __name__ == "__main__":
    sys.exit(main())
