"""Where the BPF program cannot load, membership reports are read from the
multicast routing socket instead, with the same counts, events and
querier behaviour, and the log says which path is in use. Both ways in: the
backend forced to "socket", and "auto" meeting pinned maps it cannot reuse."""

import subprocess
import sys
import time

from lab import JOINCASTD, Lab, log, wait_until
from membership_lab import GROUP4, GROUP6, MembershipLab, events_for


def sequence(ml: MembershipLab, watch, group: str) -> None:
    m1 = ml.lab.join(ml.c1, group, "eth0")
    ml.wait_count(group, 1)
    m2 = ml.lab.join(ml.c2, group, "eth0")
    ml.wait_count(group, 2)
    m1.leave()
    ml.wait_count(group, 1)
    m2.leave()
    ml.wait_count(group, 0)
    watch.wait_for(lambda e: e.get("event") == "group-down" and e.get("group") == group, 5, "group-down")
    seq = events_for(watch.events, group)
    assert seq == [("listener-join", 1), ("group-up", 1), ("listener-join", 2), ("listener-leave", 1),
                   ("listener-leave", 0), ("group-down", 0)], seq


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("mfallback") as lab:
        log('backend = "socket"')
        ml = MembershipLab(lab, membership_extra='backend = "socket"')
        d = ml.start()
        watch = d.watch(["membership"])
        status = d.cli("status")["membership"]
        assert status["backend"] == "socket", status
        assert "reading MLD/IGMP reports from the multicast routing socket" in d.log(), d.log()
        for group in (GROUP6, GROUP4):
            log(f"{group}: 0-1-2-1-0 from the routing socket")
            sequence(ml, watch, group)

        log("IGMPv2 hosts: a leave is verified with group-specific queries")
        ml.c1.sysctl("net.ipv4.conf.eth0.force_igmp_version", 2)
        # An IGMPv3 general query heard before the switch may still have
        # its answer pending (up to the 1 s response delay): that IGMPv3
        # report lists every group, the one joined next included. Let it
        # go out first.
        time.sleep(1.2)
        m = lab.join(ml.c1, "239.255.0.7", "eth0")
        ml.wait_count("239.255.0.7", 1)
        g7 = ml.groups()["239.255.0.7"]
        assert g7["members"]["10.0.0.11"]["version"] == "IGMPv2", g7
        m.leave()
        left = watch.wait_for(lambda e: e["event"] == "listener-leave" and e.get("group") == "239.255.0.7", 5,
                              "the v2 leave to complete")
        assert left["reason"] == "no answer to query", left
        counters = d.cli("status")["membership"]["counters"]
        assert counters["reports"] > 0 and counters["bad_checksum"] == 0, counters
        d.stop()

    with Lab("mfallback2") as lab:
        log("pinned maps that do not match are replaced, not a reason to leave BPF")
        ml = MembershipLab(lab)
        ml.pin_root.mkdir(parents=True)
        # A "groups" map of another shape where ours would be pinned.
        subprocess.run(["bpftool", "map", "create", str(ml.pin_root / "groups"), "type", "array", "key", "4",
                        "value", "8", "entries", "1", "name", "not_ours"], check=True)
        d = ml.start()
        assert "did not match this configuration or build (groups: another map type)" in d.log(), d.log()
        assert d.cli("status")["membership"]["backend"] == "bpf"
        m = lab.join(ml.c1, GROUP6, "eth0")
        ml.wait_count(GROUP6, 1)
        m.leave()
        ml.wait_count(GROUP6, 0)
        d.stop()

        log('backend = "auto" without CAP_BPF: the routing socket takes over')
        caps = "--bounding-set=-all,+net_admin,+net_raw"
        d._started_lines = d.log().count(" started, control socket ")
        d._log = open(d.log_path, "a")
        d.proc = ml.router.spawn("setpriv", caps, "--inh-caps=-all", str(JOINCASTD), "--config", str(d.config_path),
                                 stdout=d._log, stderr=subprocess.STDOUT)
        d.wait_started()
        log_text = d.log()
        assert "the eBPF program could not be loaded" in log_text and "Operation not permitted" in log_text, log_text
        assert "reading MLD/IGMP reports from the multicast routing socket (eBPF unavailable" in log_text, log_text
        assert d.cli("status")["membership"]["backend"] == "socket"
        m = lab.join(ml.c1, GROUP6, "eth0")
        ml.wait_count(GROUP6, 1)
        m.leave()
        ml.wait_count(GROUP6, 0)
        d.stop()

        log('backend = "bpf" without CAP_BPF refuses to start instead')
        d.config_path.write_text(d.config_path.read_text().replace('interfaces = ["br0", "up0"]',
                                                                     'interfaces = ["br0", "up0"]\nbackend = "bpf"'))
        d._log = open(d.log_path, "a")
        d.proc = ml.router.spawn("setpriv", caps, "--inh-caps=-all", str(JOINCASTD), "--config", str(d.config_path),
                                 stdout=d._log, stderr=subprocess.STDOUT)
        assert d.proc.wait(timeout=20) == 1, d.log()
        assert d.log().rstrip().endswith("Operation not permitted"), d.log()[-500:]
    return 0


if __name__ == "__main__":
    sys.exit(main())
