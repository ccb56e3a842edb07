#!/usr/bin/env python3
"""test_e2e_ipv4.py — the IPv4/IGMPv3 path end to end.

`joincast map` names the IPv4 group of the test directory's stations
(the [address_plan] ipv4_block, default 239.255.0.0/16) and maps it back.
A listener joins that group with a socket (the kernel sends IGMPv3); the
router counts it as an IGMPv3 listener and streams RTP to the IPv4 group,
announced by SAP from the router's IPv4 address with `c=IN IP4 group/ttl`.
`ffprobe sap://GROUP` on the other listener host names the codec. The last
leave stops it after the grace period with an IPv4 SAP deletion.
"""

import sys
import time

from e2e_lab import (TONE_1K, TONE_MP3, Headend, Lab, WireCounter, config, ffprobe, listeners, log, rtp_growing,
                     rtp_silent, sessions, wait_state, wait_until)


def main() -> int:
    with Lab("e2e-ipv4") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        c1, c2 = WireCounter(l1), WireCounter(l2)
        d = h.daemon(config(h.pins, ["br0"], grace="1s")).start()

        m = d.cli("map", "test/0")
        g4 = m["group_v4"]
        assert m["group"] == TONE_MP3 and g4 == "239.255.0.0", m
        back = d.cli("map", g4)
        assert back["directory"] == "test" and back["station"] == 0 and back["group"] == TONE_MP3, back
        g4_1k = d.cli("map", TONE_1K)["group_v4"]
        assert g4_1k == "239.255.0.1", g4_1k
        log(f"joincast map: test/0 is {g4} and {TONE_MP3}")

        time.sleep(1)
        assert c1.total_rtp() == 0 and c2.total_rtp() == 0, "RTP before any join"

        log(f"l1 joins {g4} (IGMPv3)")
        member = lab.join(l1, g4, "eth0")
        s = wait_state(d, g4, "running")
        groups = {g["group"]: g for g in d.cli("groups")["groups"]}
        assert groups[g4]["family"] == "ipv4" and groups[g4]["members"][0]["version"] == "IGMPv3", groups[g4]
        assert groups[g4]["members"][0]["host"] == "10.0.0.11", groups[g4]
        assert s["service"] == "Test tone 440 Hz (MP3)" and s["media"]["source_address"] == "10.0.0.1", s
        rtp_growing(c2, g4)
        assert TONE_MP3 not in sessions(d), "an IPv4 join started the IPv6 group too"
        assert c2.group(TONE_MP3)["rtp"] == 0, "RTP on the IPv6 group"
        g = c2.group(g4)
        assert list(g["ssrcs"]) == [s["media"]["ssrc"]], (g["ssrcs"], s["media"]["ssrc"])
        sap = [x for x in g["sap"] if not x["delete"]]
        assert sap and sap[0]["origin"] == "10.0.0.1", sap
        assert f"c=IN IP4 {g4}/" in sap[0]["sdp"] and "o=" in sap[0]["sdp"] and "IN IP4 10.0.0.1" in sap[0]["sdp"], \
            sap[0]["sdp"]

        log("ffprobe on l2: its own IGMPv3 join, the SAP, the codec")
        found, took, _ = ffprobe(l2, g4)
        log(f"ffprobe sap://{g4}: {sorted(found)} in {took:.2f}s")
        assert found & {"mp3", "mp2"}, found
        wait_until(lambda: listeners(d, g4) == 1, 5, "ffprobe's IGMPv3 leave")

        log("ffprobe alone starts the 1 kHz tone's IPv4 group")
        found, took, _ = ffprobe(l2, g4_1k)
        log(f"ffprobe sap://{g4_1k}: {sorted(found)} in {took:.2f}s")
        assert found & {"mp3", "mp2"}, found

        log("the last leave: grace, IPv4 SAP deletion, silence")
        member.leave()
        wait_until(lambda: listeners(d, g4) == 0, 5, "no listener")
        wait_state(d, g4, None, timeout=6)
        wait_state(d, g4_1k, None, timeout=6)
        for c in (c1, c2):
            dels = [x for x in c.group(g4)["sap"] if x["delete"]]
            assert dels and dels[0]["origin"] == "10.0.0.1", c.group(g4)["sap"][-2:]
        rtp_silent(c1)
        assert c1.total_rtp() == c1.group(g4)["rtp"] + c1.group(g4_1k)["rtp"], c1.snapshot().keys()
        assert d.stop() == 0, d.log()
    log("IPv4 test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
