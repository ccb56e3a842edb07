#!/usr/bin/env python3
"""test_e2e_quota.py — one host flooding joins cannot deny another's.

l2 sends MLDv2 reports joining 6000 random groups of the managed block,
more than the group table holds (4096). With the default
membership.max_groups_per_host (256) the membership program records 256 of
them and refuses the rest; then l1 joins the test directory's MP3 tone:

  * its session starts and l1 receives RTP (without the quota the group
    table is full and l1's join is not recorded: test_e2e_flood.py shows
    that with the quota off);
  * l2 holds exactly max_groups_per_host listener entries, the counters say
    how many joins the quota refused (host_quota) and that no join met a
    full table (groups_full 0);
  * the log says once that a host reached membership.max_groups_per_host.
"""

import random
import sys

from e2e_lab import (MLD_FLOODER, TONE_MP3, Headend, Lab, WireCounter, config, group6, log, metric, metrics_text,
                     rtp_growing, sessions, wait_until)

METRICS = "127.0.0.1:9186"
FLOOD_GROUPS = 6000
QUOTA = 256


def main() -> int:
    with Lab("e2e-quota") as lab:
        h = Headend(lab)
        l1, l2 = h.listeners["l1"], h.listeners["l2"]
        d = h.daemon(config(h.pins, ["br0"], extra=f'[metrics]\nlisten = "{METRICS}"\n')).start()

        rng = random.Random(7)
        flood = set()
        while len(flood) < FLOOD_GROUPS:
            flood.add(group6(0, rng.randrange(64, 1 << 28)))
        path = lab.tmp / "flood-groups.txt"
        path.write_text("\n".join(sorted(flood)))
        log(f"l2 floods reports joining {len(flood)} groups")
        sent = int(l2.run(sys.executable, "-c", MLD_FLOODER, "eth0", str(path), timeout=60).strip())
        assert sent == len(flood), sent

        def refused():
            s = d.cli("status")["membership"]["counters"]
            return s if s["records"] + s["host_quota"] >= FLOOD_GROUPS else None
        c = wait_until(refused, 20, "the flood to be counted", interval=0.2)
        log(f"counters after the flood: records {c['records']}, host_quota {c['host_quota']}, "
            f"groups_full {c['groups_full']}")
        assert c["groups_full"] == 0 and c["listeners_full"] == 0, c
        assert c["host_quota"] >= FLOOD_GROUPS - QUOTA, c
        held = [g for g in d.cli("groups")["groups"] if g["listeners"] > 0]
        assert len(held) == QUOTA, len(held)

        log("l1 joins the MP3 tone after the flood")
        c1 = WireCounter(l1)
        m1 = lab.join(l1, TONE_MP3, "eth0")
        wait_until(lambda: sessions(d).get(TONE_MP3, {}).get("state") == "running", 10, "the MP3 tone's session")
        rtp_growing(c1, TONE_MP3)

        text = metrics_text(d, METRICS)
        assert metric(text, "joincast_membership_messages_total", 'kind="host_quota"') >= FLOOD_GROUPS - QUOTA, text
        assert metric(text, "joincast_membership_messages_total", 'kind="groups_full"') == 0, text
        # Counters are checked at every ageing pass (once a second here).
        wait_until(lambda: "membership.max_groups_per_host" in d.log(), 10, "the quota's warning in the log")
        assert d.log().count("membership.max_groups_per_host") == 1, d.log()[-3000:]
        m1.leave()
        assert d.stop() == 0, d.log()[-3000:]
    log("quota test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
