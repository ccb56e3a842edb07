#!/usr/bin/env python3
"""test_media_rtcp.py — listeners' RTCP, aggregated per session.

Two `joincast listen` receivers send receiver reports (RR + SDES CNAME) to
port 5005 of the group. The session's stats must show both, by CNAME and
address, with their loss and jitter for our stream, and — once a report
echoes one of our sender reports — a round-trip time that is only right
if the SR's NTP and RTP timestamps were stamped when it actually left.
One receiver stops: its BYE removes it at once. Garbage sent to the RTCP
port is counted as malformed and changes nothing else. The receiver itself
sees no loss.
"""

import sys
import time

from media_lab import Driver, GROUP, Lab, Listener, RX_V6, log, make_media, topology, wait_until

GARBAGE_SENDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("eth0"))
for payload in (b"\x00" * 12, b"\x81\xc9\x00\x07" + b"\x00" * 8, b"not rtcp at all!"):
    s.sendto(payload, (sys.argv[1], 5005))
"""


def main() -> int:
    with Lab("media-rtcp") as lab:
        head, rx = topology(lab)
        driver = Driver(lab, head)
        sid = driver.start(GROUP, {"type": "file", "path": str(make_media(lab, "aac", 6)), "loop": True})
        driver.wait(sid, "started")

        one = Listener(rx, GROUP, "--cname", "rx-one@lab", "--interval", "1")
        two = Listener(rx, GROUP, "--cname", "rx-two@lab", "--interval", "1")

        def receivers():
            return driver.stats(sid)["receivers"]

        def receivers_if(count):
            r = receivers()
            return r if len(r) == count else None

        rs = wait_until(lambda: receivers_if(2), 10, "two receivers in the session's stats")
        by_name = {r["cname"]: r for r in rs}
        assert set(by_name) == {"rx-one@lab", "rx-two@lab"}, by_name
        for r in rs:
            assert r["address"] == RX_V6, r
            assert r["reports_on_us"], r
            assert r["fraction_lost"] == 0 and r["cumulative_lost"] <= 0, r
            assert 0 <= r["jitter_ms"] < 50, r
        log(f"receivers: {sorted(by_name)} from {RX_V6}, no loss")

        # A report that echoes our SR gives a round-trip time (RFC 3550
        # §6.4.1). On a veth it is well under a few milliseconds; an SR
        # stamped when muxed instead of when sent would be off by up to the
        # engine's lead (half a second).
        def rtt():
            r = {x["cname"]: x for x in receivers()}.get("rx-one@lab")
            return r["rtt_ms"] if r and r["rtt_ms"] is not None else None

        rtt_ms = wait_until(rtt, 20, "a round-trip time from LSR/DLSR")
        log(f"round-trip time {rtt_ms:.3f} ms")
        assert 0 <= rtt_ms < 100, rtt_ms

        # BYE removes a receiver at once.
        byes_before = driver.stats(sid)["rtcp_in"]["byes"]
        assert two.stop() == 0
        rs = wait_until(lambda: receivers_if(1), 5, "the BYE to remove rx-two")
        assert rs[0]["cname"] == "rx-one@lab", rs
        assert driver.stats(sid)["rtcp_in"]["byes"] == byes_before + 1
        log("BYE removed rx-two")

        # Malformed RTCP is counted and ignored.
        before = driver.stats(sid)["rtcp_in"]["malformed"]
        rx.run("python3", "-c", GARBAGE_SENDER, GROUP)
        wait_until(lambda: driver.stats(sid)["rtcp_in"]["malformed"] >= before + 3, 5, "three malformed RTCP packets")
        s = driver.stats(sid)
        assert s["state"] == "running" and len(s["receivers"]) == 1, s
        log(f"malformed RTCP counted: {s['rtcp_in']}")

        # The receiver's own view: the stream, without loss.
        assert one.stop() == 0
        # The last summary is the one it prints on stop (periodic ones may
        # have been read already).
        summary = [e for e in one.drain() if e.get("event") == "summary"]
        assert summary, one.events
        rtp = summary[-1]["rtp"]
        log(f"rx-one received {rtp['packets']} RTP packets, {rtp['lost']} lost, jitter {rtp['jitter_ms']:.2f} ms, "
            f"{rtp['sender_reports']} SRs; sent {summary[-1]['rtcp']['rr_sent']} RRs")
        assert rtp["packets"] > 50 and rtp["lost"] == 0 and rtp["sender_reports"] >= 1, summary[-1]
        wait_until(lambda: not receivers(), 5, "rx-one's BYE")
        driver.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
