"""Restarting joincastd keeps every listener: the maps stay pinned, the CLI
reads them while the daemon is down, the TC filter is detached cleanly on
exit, and a restarted daemon neither forgets nor re-announces anyone."""

import json
import sys
import time

from lab import Lab, log, wait_until
from membership_lab import GROUP4, GROUP6, MembershipLab


def tc_filters(ns, dev: str) -> str:
    return ns.run("tc", "filter", "show", "dev", dev, "ingress")


def main() -> int:
    with Lab("mrestart") as lab:
        ml = MembershipLab(lab)
        d = ml.start()
        m6 = lab.join(ml.c1, GROUP6, "eth0")
        m4 = lab.join(ml.c2, GROUP4, "eth0")
        ml.wait_count(GROUP6, 1)
        ml.wait_count(GROUP4, 1)
        before = ml.groups()
        assert "jc_membership" in tc_filters(ml.router, "br0"), tc_filters(ml.router, "br0")

        log("stop joincastd")
        assert d.stop() == 0, d.log()
        assert "jc_membership" not in tc_filters(ml.router, "br0"), "filter left attached after exit"
        assert "jc_membership" not in tc_filters(ml.router, "up0"), "filter left attached after exit"

        log("joincast groups reads the pinned maps while the daemon is down")
        r = d.cli("groups", extra_env={"JOINCAST_BPF_ROOT": str(ml.pin_root)})
        assert r["source"].startswith("pinned maps"), r
        down = {g["group"]: g["listeners"] for g in r["groups"]}
        assert down == {GROUP6: 1, GROUP4: 1}, down
        human = d.cli("groups", json_out=False, extra_env={"JOINCAST_BPF_ROOT": str(ml.pin_root)}).stdout
        assert "not running" in human and GROUP6 in human, human

        log("down for longer than the listener interval (5 s)")
        time.sleep(6)
        log("start joincastd again")
        d.start()
        watch = d.watch(["membership"])
        status = d.cli("status")["membership"]
        assert status["note"].startswith("maps reused"), status
        assert "2 listeners in 2 groups kept" in d.log(), d.log()
        after = ml.groups()
        assert {g: v["listeners"] for g, v in after.items()} == {g: v["listeners"] for g, v in before.items()}
        for g in before:
            assert after[g]["members"].keys() == before[g]["members"].keys(), (before, after)

        log("nothing forgotten, nothing re-announced while the clients answer the startup queries")
        time.sleep(4)
        churn = [e for e in watch.poll() if e["event"] in ("listener-join", "listener-leave", "group-up", "group-down")]
        assert churn == [], churn
        assert ml.count(GROUP6) == 1 and ml.count(GROUP4) == 1

        log("tracking goes on after the restart")
        m6.leave()
        m4.leave()
        ml.wait_count(GROUP6, 0)
        ml.wait_count(GROUP4, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
