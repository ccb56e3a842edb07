"""Listeners counted 0→1→2→1→0 from real kernel reports, IPv6 (MLDv2) and
IPv4 (IGMPv3), with events in order, on a bridge and an uplink; the CLI's
table and JSON agree with the maps."""

import sys

from lab import Lab, log, wait_until
from membership_lab import GROUP4, GROUP6, MembershipLab, events_for


def check_sequence(ml: MembershipLab, group: str, watch) -> None:
    log(f"{group}: c1 joins")
    m1 = ml.lab.join(ml.c1, group, "eth0")
    ml.wait_count(group, 1)
    log(f"{group}: c2 joins")
    m2 = ml.lab.join(ml.c2, group, "eth0")
    ml.wait_count(group, 2)
    members = ml.groups()[group]["members"]
    assert len(members) == 2, members
    assert all(m["interface"] == "br0" for m in members.values()), members
    log(f"{group}: c1 leaves")
    m1.leave()
    ml.wait_count(group, 1)
    log(f"{group}: c2 leaves")
    m2.leave()
    ml.wait_count(group, 0)
    watch.wait_for(lambda e: e.get("event") == "group-down" and e.get("group") == group, 5, "group-down")
    seq = events_for(watch.events, group)
    expected = [("listener-join", 1), ("group-up", 1), ("listener-join", 2),
                ("listener-leave", 1), ("listener-leave", 0), ("group-down", 0)]
    assert seq == expected, f"{group}: events {seq}, expected {expected}"
    leaves = [e for e in watch.events if e.get("group") == group and e["event"] == "listener-leave"]
    assert all(e["reason"] == "report" for e in leaves), leaves


def main() -> int:
    with Lab("mcount") as lab:
        ml = MembershipLab(lab, '\n[metrics]\nlisten = "127.0.0.1:9185"\n')
        d = ml.start()
        watch = d.watch(["membership"])

        check_sequence(ml, GROUP6, watch)
        v6 = [e for e in watch.events if e.get("group") == GROUP6 and e["event"] == "listener-join"]
        assert all(e["version"] == "MLDv2" and e["host"].startswith("fe80:") for e in v6), v6

        check_sequence(ml, GROUP4, watch)
        v4 = [e for e in watch.events if e.get("group") == GROUP4 and e["event"] == "listener-join"]
        assert {e["host"] for e in v4} == {"10.0.0.11", "10.0.0.12"}, v4
        assert all(e["version"] == "IGMPv3" for e in v4), v4

        log("listeners on the bridge and the uplink add up")
        a = lab.join(ml.c1, GROUP6, "eth0")
        b = lab.join(ml.uplink, GROUP6, "eth0")
        ml.wait_count(GROUP6, 2)
        ifaces = sorted(m["interface"] for m in ml.groups()[GROUP6]["members"].values())
        assert ifaces == ["br0", "up0"], ifaces

        log("the human table names the group, count and members")
        table = d.cli("groups", json_out=False).stdout
        assert GROUP6 in table and "2 listeners" in table and "up0" in table and "MLDv2" in table, table

        log("counters: reports parsed, nothing malformed")
        counters = d.cli("status")["membership"]["counters"]
        assert counters["reports"] > 0 and counters["records"] > 0, counters
        for bad in ("malformed", "truncated", "bad_checksum", "bad_source", "events_lost"):
            assert counters[bad] == 0, counters
        log("Prometheus metrics agree")
        scrape = ml.router.run(sys.executable, "-c",
                               "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:9185/metrics')"
                               ".read().decode())")
        assert "joincast_groups 1\n" in scrape, scrape
        assert 'joincast_listeners{interface="br0"} 1\n' in scrape, scrape
        assert 'joincast_listeners{interface="up0"} 1\n' in scrape, scrape
        assert 'joincast_querier{interface="br0",protocol="MLDv2"} 1\n' in scrape, scrape
        assert "# TYPE joincast_membership_messages_total counter" in scrape, scrape
        a.leave()
        b.leave()
        ml.wait_count(GROUP6, 0)
        assert "error" not in d.log().lower(), d.log()
    return 0


if __name__ == "__main__":
    sys.exit(main())
