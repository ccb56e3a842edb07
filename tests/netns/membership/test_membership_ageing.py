"""A client whose namespace is deleted without leaving is aged out after the
listener interval (RFC 3810 §7.4); a client that answers queries is not."""

import sys
import time

from lab import Lab, log, wait_until
from membership_lab import GROUP4, GROUP6, MembershipLab


def main() -> int:
    with Lab("mage") as lab:
        ml = MembershipLab(lab)
        d = ml.start()
        watch = d.watch(["membership"])
        for group in (GROUP6, GROUP4):
            lab.join(ml.c1, group, "eth0")
            lab.join(ml.c2, group, "eth0")
        ml.wait_count(GROUP6, 2)
        ml.wait_count(GROUP4, 2)
        c2_hosts = {h for g in (GROUP6, GROUP4) for h, m in ml.groups()[g]["members"].items()
                    if h == "10.0.0.12" or ml.c2.link_local("eth0") == h}
        assert len(c2_hosts) == 2, c2_hosts

        log("c2's namespace disappears without a leave")
        t0 = time.monotonic()
        lab.delete_netns(ml.c2)
        # Listener interval = 2 × 2 s + 1 s = 5 s after the last report.
        ml.wait_count(GROUP6, 1, timeout=12)
        ml.wait_count(GROUP4, 1, timeout=12)
        elapsed = time.monotonic() - t0
        log(f"aged out after {elapsed:.1f}s")
        assert elapsed > 2.5, f"removed after {elapsed:.1f}s: sooner than any listener interval"
        leaves = [e for e in watch.poll() if e["event"] == "listener-leave"]
        assert {e["host"] for e in leaves} == c2_hosts, leaves
        assert all(e["reason"] == "timeout" for e in leaves), leaves

        log("c1 keeps answering queries and stays for three more listener intervals")
        time.sleep(15)
        groups = ml.groups()
        assert groups[GROUP6]["listeners"] == 1 and groups[GROUP4]["listeners"] == 1, groups
        assert all(m["last_report_ago_s"] < 5 for g in groups.values() for m in g["members"].values()), groups
    return 0


if __name__ == "__main__":
    sys.exit(main())
