"""The querier: joincastd sends IGMPv3 and MLDv2 general queries on its
interfaces; a second querier with a lower address on the link (a Linux
bridge querier in another namespace) silences ours (RFC 3810 §7.6.2,
RFC 3376 §6.6.2); when it goes away, ours takes over again. Queries are
counted on the wire at a client with tcpdump."""

import re
import subprocess
import sys
import time

from lab import Lab, log, wait_until
from membership_lab import MembershipLab

OTHER_V4 = "10.0.0.2"
OTHER_V6 = "fe80::1"


def capture(lab, ns, seconds: float) -> list[str]:
    """IGMP and MLD queries seen on ns's eth0 for a while: 'v4 <src>' / 'v6 <src>'."""
    p = ns.spawn("tcpdump", "-l", "-n", "-i", "eth0", "-Q", "in",
                 # MLD queries sit behind the Hop-by-Hop header, which libpcap's
                 # "icmp6" does not look through: match the bytes instead.
                 "igmp or (ip6 and ip6[6] == 0 and ip6[40] == 58 and ip6[48] == 130)",
                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    p.terminate()
    out, _ = p.communicate(timeout=5)
    seen = []
    for line in out.splitlines():
        m4 = re.search(r"IP (\d+\.\d+\.\d+\.\d+) > 224\.0\.0\.1: igmp query v3", line)
        m6 = re.search(r"IP6 (fe80::[0-9a-f:]+) > ff02::1: HBH ICMP6, multicast listener query v2", line)
        if m4:
            seen.append(f"v4 {m4.group(1)}")
        elif m6:
            seen.append(f"v6 {m6.group(1)}")
    return seen


def main() -> int:
    with Lab("mquerier") as lab:
        ml = MembershipLab(lab)
        d = ml.start()
        ours_v6 = ml.router.link_local("br0")

        log("alone on the link, joincastd queries")
        seen = capture(lab, ml.c1, 4.5)
        assert f"v4 10.0.0.10" in seen and f"v6 {ours_v6}" in seen, seen
        roles = {(q["interface"], q["protocol"]): q["role"] for q in d.cli("status")["membership"]["querier"]}
        assert roles[("br0", "IGMPv3")] == "querier" and roles[("br0", "MLDv2")] == "querier", roles

        log("a Linux bridge querier with lower addresses joins the link")
        other = lab.netns("querier2")
        lab.veth(ml.router, "p3", other, "eth0")
        ml.router.run("ip", "link", "set", "p3", "master", "br0")
        # Querier on, queries from the bridge's own addresses, IGMPv3/MLDv2,
        # every second; no automatic link-local, so fe80::1 is its only one.
        # Addresses first, then up: its first queries must not come from
        # 0.0.0.0. A Linux bridge querier holds no election (it falls silent
        # for mcast_querier_interval whenever it hears any other querier),
        # so that interval is short: it resumes at once when we yield.
        # Hosts may answer its queries up to 10 s late (the bridge's
        # default response interval), longer than our 5 s listener
        # interval: joincastd must adopt the querier's pace, not age the
        # listeners out between its queries.
        other.run("ip", "link", "add", "qbr", "type", "bridge", "mcast_snooping", "1", "mcast_querier", "1",
                  "mcast_query_use_ifaddr", "1", "mcast_igmp_version", "3", "mcast_mld_version", "2",
                  "mcast_query_interval", "100", "mcast_startup_query_interval", "50",
                  "mcast_query_response_interval", "1000", "mcast_querier_interval", "100")
        other.run("ip", "link", "set", "qbr", "addrgenmode", "none")
        lab.addr(other, "qbr", f"{OTHER_V4}/24")
        lab.addr(other, "qbr", f"{OTHER_V6}/64")
        other.run("ip", "link", "set", "eth0", "master", "qbr")
        other.run("ip", "link", "set", "qbr", "up")

        def silenced():
            q = {(x["interface"], x["protocol"]): x for x in d.cli("status")["membership"]["querier"]}
            a, b = q[("br0", "IGMPv3")], q[("br0", "MLDv2")]
            return (a["role"] == "non-querier" and a.get("other_querier") == OTHER_V4 and
                    b["role"] == "non-querier" and b.get("other_querier") == OTHER_V6)

        wait_until(silenced, 10, "joincastd to yield to the lower-addressed querier")
        assert f"{OTHER_V4} is the querier" in d.log() and f"{OTHER_V6} is the querier" in d.log(), d.log()

        log("only the other querier's queries are on the wire now")
        seen = capture(lab, ml.c1, 5)
        assert f"v4 {OTHER_V4}" in seen and f"v6 {OTHER_V6}" in seen, seen
        assert "v4 10.0.0.10" not in seen and f"v6 {ours_v6}" not in seen, seen

        log("listeners age at the other querier's pace: 2 x 1 s + 10 s, not our 5 s")
        q = {(x["interface"], x["protocol"]): x for x in d.cli("status")["membership"]["querier"]}
        assert q[("br0", "IGMPv3")]["listener_interval_s"] == 12, q
        assert q[("br0", "MLDv2")]["listener_interval_s"] == 12, q
        assert q[("up0", "IGMPv3")]["listener_interval_s"] == 5, q
        assert "listeners age out after 12.0 s, not 5.0 s" in d.log(), d.log()
        text = d.cli("status", json_out=False).stdout
        assert f"br0 IGMPv3: non-querier ({OTHER_V4} queries), listeners age after 12 s" in text, text

        log("listeners keep being refreshed by the other querier's queries")
        m = lab.join(ml.c1, "239.255.0.9", "eth0")
        ml.wait_count("239.255.0.9", 1)
        time.sleep(13)  # beyond our 5 s and the adopted 12 s listener interval
        assert ml.count("239.255.0.9") == 1, d.log()
        assert "left 239.255.0.9" not in d.log(), d.log()

        log("the other querier goes away; joincastd takes over after the other-querier timeout (4.5 s)")
        lab.delete_netns(other)
        wait_until(lambda: all(q["role"] == "querier" for q in d.cli("status")["membership"]["querier"]
                               if q["interface"] == "br0"), 10, "joincastd to become querier again")
        seen = capture(lab, ml.c1, 4.5)
        assert "v4 10.0.0.10" in seen and f"v6 {ours_v6}" in seen, seen
        m.leave()
    return 0


if __name__ == "__main__":
    sys.exit(main())
