"""Older hosts: MLDv1 and IGMPv2 clients (the kernel forced to those
versions) are counted; their Done/Leave does not remove them at once but
starts last-listener queries (RFC 2710 §4, RFC 2236 §3, RFC 3810 §7.6.2):
group-specific queries go on the wire, and the host is forgotten only when
no report answers them. Another host of the same group answers and stays."""

import re
import subprocess
import sys
import time

from lab import Lab, log, wait_until
from membership_lab import MembershipLab, events_for

G6 = "ff3e:40:2001:db8:d0be:f00d:8000:1"
G4 = "239.255.0.2"


def main() -> int:
    with Lab("mv1") as lab:
        ml = MembershipLab(lab)
        for ns in (ml.c1, ml.c2):
            ns.sysctl("net.ipv6.conf.eth0.force_mld_version", 1)
            ns.sysctl("net.ipv4.conf.eth0.force_igmp_version", 2)
        d = ml.start()
        watch = d.watch(["membership"])
        # v1 hosts suppress their reports when they hear another host's, and
        # then send no Done (RFC 2710 §4). A snooping bridge forwards reports
        # only to routers once it knows a querier: give it our first queries.
        wait_until(lambda: all(q["queries_sent"] >= 1 for q in d.cli("status")["membership"]["querier"]), 5,
                   "the first general queries")
        time.sleep(0.5)

        for group, version in ((G6, "MLDv1"), (G4, "IGMPv2")):
            log(f"{version}: c1 and c2 join {group}")
            m2 = lab.join(ml.c2, group, "eth0")
            m1 = lab.join(ml.c1, group, "eth0")
            ml.wait_count(group, 2)
            members = ml.groups()[group]["members"]
            assert {m["version"] for m in members.values()} == {version}, members

            log(f"{version}: c1 leaves; group-specific queries verify the leave")
            cap = ml.c2.spawn("tcpdump", "-l", "-n", "-i", "eth0", "-Q", "in",
                              "igmp or (ip6 and ip6[6] == 0 and ip6[40] == 58 and ip6[48] == 130)",
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            time.sleep(0.5)
            t0 = time.monotonic()
            m1.leave()
            pending = watch.wait_for(lambda e: e["event"] == "leave-pending" and e.get("group") == group, 5,
                                     "leave-pending")
            # Right after the leave the host is still counted, marked leaving.
            assert ml.count(group) == 2 or ml.count(group) == 1
            ml.wait_count(group, 1, timeout=5)
            elapsed = time.monotonic() - t0
            time.sleep(0.5)
            cap.terminate()
            out = cap.communicate(timeout=5)[0]
            if group == G4:
                gsq = re.findall(rf"10\.0\.0\.10 > {re.escape(group)}: igmp query v3 \[max resp time 0\.5s\] "
                                 rf"\[gaddr {re.escape(group)}\]", out)
            else:
                gsq = re.findall(rf"> {re.escape(group)}: HBH ICMP6, multicast listener query v2 "
                                 rf"\[gaddr {re.escape(group)}\]", out)
            assert len(gsq) == 2, f"expected 2 group-specific queries (last listener query count), saw:\n{out}"
            # Last listener query time: 2 × 500 ms.
            assert elapsed >= 0.9, f"{version} host forgotten after {elapsed:.2f}s, before the queries were answered"
            left = watch.wait_for(lambda e: e["event"] == "listener-leave" and e.get("group") == group, 3, "leave")
            assert left["host"] == pending["host"] and left["reason"] == "no answer to query", left
            remaining = ml.groups()[group]["members"]
            assert list(remaining) != [pending["host"]] and len(remaining) == 1, remaining

            log(f"{version}: the last host leaves; the group goes down")
            m2.leave()
            ml.wait_count(group, 0, timeout=5)
            seq = events_for(watch.poll(), group)
            assert seq[-2:] == [("listener-leave", 0), ("group-down", 0)], seq
    return 0


if __name__ == "__main__":
    sys.exit(main())
