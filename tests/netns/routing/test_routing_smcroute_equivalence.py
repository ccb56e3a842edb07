#!/usr/bin/env python3
"""The same smcroute.conf gives the same kernel routes under joincastd as
under the real smcrouted (Debian's smcroute 2.5). Both run in the same
router namespace, one after the other, with the same traffic; compared are
`ip mroute show`, `ip -6 mroute show` (static (S,G) entries, (*,G)
templates resolved by traffic, the stop filter for unrouted traffic), the
group memberships mgroup asks for, and what each receiver got."""

import shutil
import sys
import time

from lab import SKIP, Lab, log, stop_smcrouted, wait_until
from routing_lab import Topology, mroute_lines, send, start_daemon

SMCROUTE_CONF = """\
# phyints first, as smcroute.conf(5) asks
phyint up0 enable
phyint down1 enable ttl-threshold 3
phyint down2 enable

mgroup from up0 group 239.255.255.250
mgroup from up0 source 10.1.0.2 group 232.1.1.1
mgroup from up0 source 2001:db8:1::2 group ff3e::5

mroute from up0 source 10.1.0.2 group 239.1.1.1 to down1 down2
mroute from up0 source 10.1.0.2 group 239.1.1.2 to down2
mroute from up0 group 239.2.0.0/16 to down1
mroute from up0 source 10.1.0.0/24 group 239.3.3.3 to down2
mroute from up0 source 2001:db8:1::2 group ff3e::1:1 to down1 down2
mroute from up0 group ff3e::2:0/112 to down2
mroute from up0 group ff05::42 to down1 down2

include smcroute.d/*.conf
"""

MORE_CONF = "mroute from up0 source 10.1.0.2 group 239.1.1.3 to down1\n"

TRAFFIC = ["239.1.1.1", "239.2.3.4", "239.2.200.1", "239.3.3.3", "239.9.9.9", "ff3e::1:1", "ff3e::2:5", "ff05::42",
           "ff3e::9:9"]
N = 5


def memberships(router) -> set:
    """(device, group, source) joined in the router namespace."""
    out = set()
    dev = None
    for line in router.run("cat", "/proc/net/igmp").splitlines()[1:]:
        if not line.startswith("\t"):
            dev = line.split()[1]
        else:
            group = line.split()[0]
            out.add((dev, "igmp", group))
    for line in router.run("cat", "/proc/net/igmp6").splitlines():
        f = line.split()
        out.add((f[1], "mld", f[2]))
    for name in ("mcfilter", "mcfilter6"):
        for line in router.run("cat", f"/proc/net/{name}").splitlines()[1:]:
            f = line.split()
            out.add((f[1], name, f[2], f[3]))
    return out


def run_traffic(t):
    c1, c2 = t.counters()
    for g in TRAFFIC:
        send(t.src, "s0", g, N)
    time.sleep(0.3)
    got = {}
    for name, c in (("rcv1", c1), ("rcv2", c2)):
        stats = c.stop()
        got[name] = {g: stats.get(g, {}).get("udp", 0) for g in TRAFFIC}
    return got


def snapshot(t):
    return {"ipv4": mroute_lines(t.router, "-4"), "ipv6": mroute_lines(t.router, "-6"),
            "joins": memberships(t.router)}


def main() -> int:
    Lab.require_multicast_routing()
    if not shutil.which("smcrouted"):
        print("smcrouted is not installed (Debian package smcroute; scripts/install-deps.sh installs it)",
              file=sys.stderr)
        return 1
    with Lab("rt-smc") as lab:
        t = Topology(lab)
        conf_dir = lab.tmp / "etc"
        (conf_dir / "smcroute.d").mkdir(parents=True)
        conf = conf_dir / "smcroute.conf"
        conf.write_text(SMCROUTE_CONF)
        (conf_dir / "smcroute.d" / "10-more.conf").write_text(MORE_CONF)
        baseline = memberships(t.router)

        # 1. The real smcrouted. smcroute.conf's include is relative to the
        # working directory for smcrouted, so it gets an absolute one.
        (conf_dir / "smcrouted.conf").write_text(
            SMCROUTE_CONF.replace("include smcroute.d/*.conf", f"include {conf_dir}/smcroute.d/*.conf"))
        log_file = open(lab.tmp / "smcrouted.log", "w")
        smc = t.router.spawn("smcrouted", "-n", "-N", "-f", str(conf_dir / "smcrouted.conf"), "-u",
                             str(lab.tmp / "smcroute.sock"), "-P", str(lab.tmp / "smcroute.pid"), "-l", "debug",
                             stdout=log_file, stderr=log_file)
        wait_until(lambda: len(mroute_lines(t.router, "-4")) >= 3 and len(mroute_lines(t.router, "-6")) >= 1, 10,
                   "smcrouted's static routes")
        smc_traffic = run_traffic(t)
        smc_state = snapshot(t)
        stop_smcrouted(smc)
        log_file.close()
        wait_until(lambda: not mroute_lines(t.router, "-4") and not mroute_lines(t.router, "-6"), 10,
                   "the kernel to flush smcrouted's routes")
        assert memberships(t.router) == baseline, "smcrouted left memberships behind"

        # 2. joincastd with the same file.
        d = start_daemon(lab, t.router, f'[routing]\nsmcroute_conf = "{conf}"\n')
        wait_until(lambda: len(mroute_lines(t.router, "-4")) >= 3, 10, "joincastd's static routes")
        jc_traffic = run_traffic(t)
        jc_state = snapshot(t)

        log("smcrouted:\n  " + "\n  ".join(smc_state["ipv4"] + smc_state["ipv6"]))
        log("joincastd:\n  " + "\n  ".join(jc_state["ipv4"] + jc_state["ipv6"]))
        failures = []
        for key in ("ipv4", "ipv6"):
            if smc_state[key] != jc_state[key]:
                failures.append(f"{key} MFC differs:\n smcrouted {smc_state[key]}\n joincastd {jc_state[key]}")
        if smc_state["joins"] != jc_state["joins"]:
            failures.append(f"memberships differ:\n smcrouted only {sorted(smc_state['joins'] - jc_state['joins'])}"
                            f"\n joincastd only {sorted(jc_state['joins'] - smc_state['joins'])}")
        if smc_traffic != jc_traffic:
            failures.append(f"receivers differ:\n smcrouted {smc_traffic}\n joincastd {jc_traffic}")
        # The comparison must be about something.
        v4, v6 = set(jc_state["ipv4"]), set(jc_state["ipv6"])
        for line in ("(10.1.0.2,239.1.1.1) Iif: up0 Oifs: down1(ttl 3) down2 State: resolved",
                     "(10.1.0.2,239.1.1.3) Iif: up0 Oifs: down1(ttl 3) State: resolved",
                     "(10.1.0.2,239.2.3.4) Iif: up0 Oifs: down1(ttl 3) State: resolved",
                     "(10.1.0.2,239.3.3.3) Iif: up0 Oifs: down2 State: resolved",
                     "(10.1.0.2,239.9.9.9) Iif: up0 State: resolved"):
            if line not in v4:
                failures.append(f"expected {line!r} in ip mroute show")
        if "(2001:db8:1::2,ff05::42) Iif: up0 Oifs: down1 down2 State: resolved" not in v6:
            failures.append("expected the resolved (2001:db8:1::2,ff05::42) entry")
        if jc_traffic["rcv1"]["239.1.1.1"] != N or jc_traffic["rcv2"]["ff3e::2:5"] != N:
            failures.append(f"traffic did not flow: {jc_traffic}")
        if not any(j[2].upper() in ("FAFFFFEF",) for j in jc_state["joins"] - baseline):
            failures.append(f"mgroup 239.255.255.250 not joined: {sorted(jc_state['joins'] - baseline)}")
        if failures:
            print("\n".join(failures), file=sys.stderr)
            print((lab.tmp / "smcrouted.log").read_text()[-3000:], file=sys.stderr)
            print(d.log(), file=sys.stderr)
            return 1
        d.stop()
        assert memberships(t.router) == baseline, "joincastd left memberships behind"
        log(f"identical: {len(v4)} IPv4 and {len(v6)} IPv6 MFC entries, {len(jc_state['joins'] - baseline)} joins, "
            f"same packets at both receivers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
