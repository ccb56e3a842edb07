#!/usr/bin/env python3
"""test_fault_netlink_overrun.py — the rtnetlink event socket overruns
(ENOBUFS) and joincastd reads the interfaces, addresses and routes again.

The router's joincastd watches br0, gone0 and late0 for membership (late0
does not exist at start) and routes 239.1.1.1 from br0 to gone0 and late0.
l1 listens to the MP3 tone throughout; l2's wire counts its sequence
numbers. joincastd is stopped (SIGSTOP) while 200 bridges and 20 000
addresses are created and deleted in its namespace — far
more events than its 8 MiB event buffer holds — and, in the middle, late0
appears and gone0 is deleted. After SIGCONT:

  * the log says the events were lost and the interfaces were read again;
  * membership watches late0 and has dropped gone0 (`joincast status` and
    the log);
  * the route's kernel VIFs follow: late0 has a VIF, gone0 none, and the
    (S,G) entry's outputs are late0 only;
  * the tone, paused while joincastd was stopped, goes on with the same
    SSRC and without a sequence gap.
"""

import signal
import sys
import time

from e2e_lab import TONE_MP3, Headend, Lab, WireCounter, config, log, rtp_growing, sessions, wait_state, wait_until

N = 200
ADDRESSES = 20000

ROUTING = """
[routing]
[[routing.route]]
from = "br0"
source = "10.0.0.1"
group = "239.1.1.1"
to = ["gone0", "late0"]
"""


def vifs(r) -> set[str]:
    return {line.split()[1] for line in r.run("cat", "/proc/net/ip_mr_vif").splitlines()[1:]}


def bridge(r, name: str, cidr: str) -> None:
    r.run("ip", "link", "add", name, "type", "bridge")
    r.run("ip", "link", "set", name, "up")
    r.run("ip", "addr", "add", cidr, "dev", name)


def main() -> int:
    Lab.require_multicast_routing()
    with Lab("fault-nlovr") as lab:
        h = Headend(lab)
        r, l1, l2 = h.router, h.listeners["l1"], h.listeners["l2"]
        r.sysctl("net.ipv4.conf.all.rp_filter", 0)
        r.sysctl("net.ipv4.conf.default.rp_filter", 0)
        bridge(r, "gone0", "10.8.0.1/24")
        d = h.daemon(config(h.pins, ["br0", "gone0", "late0"], extra=ROUTING)).start()
        c2 = WireCounter(l2)
        good = lab.join(l1, TONE_MP3, "eth0")
        ssrc = wait_state(d, TONE_MP3, "running")["media"]["ssrc"]
        rtp_growing(c2, TONE_MP3)
        wait_until(lambda: "gone0" in vifs(r), 5, "a VIF for gone0")
        assert "late0" not in vifs(r)

        # Bridges make long link messages; addresses many short ones (and
        # local routes, for the routing module's own event socket).
        batch = lab.tmp / "batch"
        lines = [f"link add x{i} type bridge" for i in range(N)]
        lines += [f"link set x{i} up" for i in range(N)]
        lines += ["link add flood0 type bridge"]
        lines += [f"addr add 10.200.{i // 250}.{i % 250 + 1}/32 dev flood0" for i in range(ADDRESSES)]
        lines += ["link add late0 type bridge", "link set late0 up", "addr add 10.9.0.1/24 dev late0",
                  "link del gone0"]
        lines += [f"addr del 10.200.{i // 250}.{i % 250 + 1}/32 dev flood0" for i in range(ADDRESSES)]
        lines += ["link del flood0"] + [f"link del x{i}" for i in range(N)]
        batch.write_text("\n".join(lines) + "\n")

        log(f"joincastd stopped; {N} bridges and {ADDRESSES} addresses come and go, late0 appears, gone0 goes")
        d.proc.send_signal(signal.SIGSTOP)
        t0 = time.monotonic()
        try:
            r.run("ip", "-force", "-batch", str(batch), timeout=120)
        finally:
            d.proc.send_signal(signal.SIGCONT)
        log(f"... {len(lines)} changes in {time.monotonic() - t0:.1f} s; joincastd continued")

        lost = "interfaces: rtnetlink events were lost; reading the interfaces again"
        wait_until(lambda: lost in d.log(), 20, "joincastd to notice the lost events")
        wait_until(lambda: "membership: watching late0" in d.log(), 10, "membership to watch late0")
        assert "membership: gone0 went away" in d.log(), d.log()[-3000:]
        status = d.cli("status")["membership"]
        log(f"joincast status: membership interfaces {status.get('interfaces')}")
        ifs = {i["name"]: i for i in status["interfaces"]}
        assert ifs["late0"]["attached"] and not ifs["gone0"]["attached"] and ifs["br0"]["attached"], ifs
        wait_until(lambda: "late0" in vifs(r) and "gone0" not in vifs(r), 10, "the VIFs to follow")
        assert not any(line.startswith("x") for line in vifs(r)), vifs(r)
        log(f"VIFs now {sorted(vifs(r))}")
        entry = "(10.0.0.1,239.1.1.1) Iif: br0 Oifs: late0"
        wait_until(lambda: any(" ".join(x.split()).startswith(entry) for x in r.run("ip", "-4", "mroute", "show")
                               .splitlines()), 10, entry)
        log(entry)

        time.sleep(1)
        rtp_growing(c2, TONE_MP3)
        g = c2.group(TONE_MP3)
        x = g["ssrcs"][ssrc]
        log(f"{x['packets']} RTP packets, {x['gaps']} sequence gaps, longest silence {x['max_silence']:.3f}s")
        assert list(g["ssrcs"]) == [ssrc] and x["gaps"] == 0, g["ssrcs"]
        assert sessions(d)[TONE_MP3]["media"]["ssrc"] == ssrc
        good.leave()
        assert d.proc.poll() is None and d.stop() == 0, d.log()
    log("netlink overrun test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
