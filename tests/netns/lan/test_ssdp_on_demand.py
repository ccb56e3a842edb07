#!/usr/bin/env python3
"""SSDP relayed into a network only while a host there listens
(`on_demand`): a joincastd router between int0 (a device announcing with
NOTIFY, TTL 1) and ext0 (a host that joins 239.255.255.250 with a real
socket, so its kernel sends the IGMP reports), ext0 on demand and in
membership.interfaces.

  * before any host on ext0 has joined, the NOTIFY does not reach ext0
    (captured on the wire there) and is counted as `no_listeners`;
  * once the host has joined (the membership module saw its IGMP report),
    the next NOTIFY arrives on ext0's side with its bytes and TTL 1;
  * after the host left (its kernel sends the leave; the querier confirms
    it), the NOTIFY stops arriving again;
  * a host that joins ff05::c (MLD) makes ext0 listening for IPv6, and IPv4
    copies stay held back."""

import sys
import time

from lab import Daemon, Lab, log, wait_until
from test_ssdp_relay import BROADCAST, capture, captured

CONFIG = """[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

[membership]
bpf_pin_root = "{pins}/joincast"
interfaces = ["ext0"]

[[ssdp.zone]]
name = "demand"
interfaces = ["int0", "ext0"]
relay = ["int0 -> ext0 announcements"]
on_demand = ["ext0"]
"""


def notify(marker: str) -> bytes:
    return (b"NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
            b"NT: upnp:rootdevice\r\nNTS: ssdp:alive\r\nUSN: uuid:joincast-on-demand::upnp:rootdevice\r\n"
            b"X-JOINCAST-TEST: " + marker.encode() + b"\r\n\r\n")


def main() -> int:
    with Lab("ss11-ondemand") as lab:
        router, dev, ctl = lab.netns("router"), lab.netns("dev"), lab.netns("ctl")
        lab.veth(router, "int0", dev, "eth0")
        lab.veth(router, "ext0", ctl, "eth0")
        lab.addr(router, "int0", "10.52.1.1/24")
        lab.addr(router, "ext0", "10.52.2.1/24")
        lab.addr(dev, "eth0", "10.52.1.10/24")
        lab.addr(ctl, "eth0", "10.52.2.10/24")
        dev.run("ethtool", "-K", "eth0", "tx", "off")
        d = Daemon(lab, router, CONFIG.format(pins=lab.bpffs())).start()

        def ext0():
            zone = d.cli("ssdp")["zones"][0]
            return {i["name"]: i for i in zone["interfaces"]}["ext0"]

        def crosses(marker: str, timeout: float = 3):
            cap = capture(ctl, "eth0", marker, timeout=timeout)
            dev.run(sys.executable, "-c", BROADCAST, "eth0", "239.255.255.250", "1900", notify(marker).hex())
            return captured(cap)

        try:
            wait_until(lambda: d.log().count("ssdp: ext0 joined zone"), 10, "ext0 in the zone")
            state = ext0()
            assert state["on_demand"] is True and state["listening"] == [], state
            assert crosses("before-join") is None, "a NOTIFY reached ext0 with nobody listening there"
            held = ext0()["out"]["no_listeners"]
            assert held >= 1, ext0()
            log(f"nobody listens on ext0: the NOTIFY stayed on int0 (no_listeners={held})")

            member = lab.join(ctl, "239.255.255.250", "eth0")
            wait_until(lambda: ext0()["listening"] == ["239.255.255.250"], 10,
                       "membership to see the host's join on ext0")
            assert "ext0: a host listens to SSDP (239.255.255.250)" in d.log(), d.log()
            got = crosses("after-join", timeout=5)
            assert got, f"no NOTIFY on ext0 while a host listens there: {ext0()}"
            assert bytes.fromhex(got["payload"]) == notify("after-join") and got["ttl"] == 1, got
            assert got["dst"] == "239.255.255.250" and got["src"] == "10.52.1.10", got
            assert got["ip_csum_ok"] and got["udp_csum_ok"], got
            log("a host joined 239.255.255.250 on ext0: the NOTIFY crosses, unchanged, TTL 1")

            t0 = time.monotonic()
            member.leave()
            wait_until(lambda: ext0()["listening"] == [], 20, "membership to see the host leave ext0")
            log(f"the host left: ext0 has no SSDP listener after {time.monotonic() - t0:.1f} s")
            assert "ext0: no host listens to SSDP any more" in d.log(), d.log()
            before = ext0()["out"]["no_listeners"]
            assert crosses("after-leave") is None, "a NOTIFY reached ext0 after its last listener left"
            assert ext0()["out"]["no_listeners"] > before, ext0()
            state = ext0()
            assert state["out"]["relayed"] >= 1 and state["out"]["errors"] == 0, state
            log("after the leave the NOTIFY stays on int0 again")

            # A host listening to IPv6 SSDP only (ff05::c: site scope,
            # tracked without track_link_local) does not bring IPv4 copies.
            member6 = lab.join(ctl, "ff05::c", "eth0")
            wait_until(lambda: ext0()["listening"] == ["ff02::c/ff05::c"], 10,
                       "membership to see the host's MLD join of ff05::c on ext0")
            text = d.cli("ssdp", json_out=False).stdout
            assert "on demand, listening: ff02::c/ff05::c" in text, text
            assert crosses("v6-listener") is None, "an IPv4 NOTIFY crossed to a host listening to IPv6 SSDP only"
            member6.leave()
            log("a host listening to ff05::c only: IPv4 copies stay held back")
        except AssertionError:
            print(d.log(), file=sys.stderr)
            raise
        d.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
