#!/usr/bin/env python3
"""soak.py — joincastd under an hour of churn: does anything grow?

A namespace lab: "router" runs joincastd with membership on br0, a real
Icecast2 on its loopback (fed by ffmpeg) listed 50 times in a static
directory (50 groups, one station each), and a [routing] section that is
rewritten and reloaded (SIGHUP) every minute. Four hosts on br0 churn:
every 0.5-2 s one of them joins a random one of the 50 groups or leaves one
it holds (at most 8 held by all of them together, within Icecast's client
limit), with the kernel's own MLD. Two more hosts hold one group for the
whole run with `joincast listen`, which sends RTCP receiver reports.

Every minute: joincastd's RSS, open file descriptors and CPU time
(/proc/PID). After a warm-up (the first 10 minutes, or a sixth of a
shorter run) the figures are the RSS and fd growth per hour (least squares
over the samples; the fd count also moves with the sessions on air at each
sample, so its range is shown, not judged). Targets (issue 17): no fd growth,
RSS growth < 1 MB/hour. Not a ctest: it takes an hour.

    bench/soak/run.sh [--minutes 60] [--write]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT / "tests" / "netns"))
from lab import JOINCAST, Lab, log, wait_until  # noqa: E402
from e2e_lab import Headend, config, group6  # noqa: E402
from icecast_fixture import Icecast  # noqa: E402
sys.path.insert(0, str(HERE.parent))
from measured_at import measured_at  # noqa: E402

GROUPS = 50
MAX_HELD = 8


def proc_sample(pid: int) -> dict:
    status = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        status[k] = v.strip()
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return {"rss_kb": int(status["VmRSS"].split()[0]), "fds": len(os.listdir(f"/proc/{pid}/fd")),
            "cpu_s": (int(stat[11]) + int(stat[12])) / ticks}


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    n = len(points)
    if n < 2:
        return 0.0
    mx = sum(t for t, _ in points) / n
    my = sum(v for _, v in points) / n
    den = sum((t - mx) ** 2 for t, _ in points)
    return 0.0 if den == 0 else sum((t - mx) * (v - my) for t, v in points) / den * 3600


def routing_section(n: int) -> str:
    # Alternates between two route sets, so each reload changes something.
    groups = [f"ff3e::{0x100 + (n % 2) * 16 + i:x}" for i in range(8)]
    return "[routing]\n" + "".join(f'[[routing.route]]\nfrom = "br0"\ngroup = "{g}"\nto = ["out0"]\n' for g in groups)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    at = measured_at()
    seconds = args.minutes * 60
    warmup = min(600.0, seconds / 6)
    with Lab("soak") as lab:
        names = ("c1", "c2", "c3", "c4", "r1", "r2")
        h = Headend(lab, listeners=names, snooping=1)
        r = h.router
        # The routes' output: a veth pair inside the router.
        r.run("ip", "link", "add", "out0", "type", "veth", "peer", "name", "out1")
        r.run("ip", "link", "set", "out1", "up")
        r.run("ip", "link", "set", "out0", "multicast", "on", "up")
        ice = Icecast(lab, r, port=8765).start()
        ice.feed("/soak.mp3", name="Soak Radio")
        stations = "".join(f'[[directory.station]]\nid = "soak-{i}"\nname = "Soak {i}"\nurl = "{ice.url("/soak.mp3")}"\n'
                           for i in range(GROUPS))
        directories = ('[[directory]]\nname = "test"\ntype = "test"\nslot = 0\n\n'
                       f'[[directory]]\nname = "soak"\ntype = "static"\nslot = 1\n{stations}')
        base = config(h.pins, ["br0"], grace="2s", directories=directories)
        d = h.daemon(base + routing_section(0)).start(log_level="info")
        pid = d.proc.pid
        groups = [group6(1, i) for i in range(GROUPS)]
        rtcp_group = groups[0]
        receivers = [h.listeners[n].spawn(str(JOINCAST), "listen", rtcp_group, "--interface", "eth0",
                                          "--interval", "30", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                     for n in ("r1", "r2")]
        wait_until(lambda: any(s["group"] == rtcp_group and s["state"] == "running"
                               for s in d.cli("sessions")["sessions"]), 30, "the RTCP receivers' stream")

        rng = random.Random(17)
        churners = [h.listeners[n] for n in ("c1", "c2", "c3", "c4")]
        held: dict[tuple[int, str], object] = {}
        samples = []
        joins = leaves = reloads = 0
        t0 = time.monotonic()
        next_sample = t0
        next_reload = t0 + 60
        while time.monotonic() - t0 < seconds:
            now = time.monotonic()
            if now >= next_sample:
                s = proc_sample(pid)
                s["t"] = now - t0
                samples.append(s)
                log(f"{s['t'] / 60:5.1f} min: RSS {s['rss_kb'] / 1024:.1f} MiB, {s['fds']} fds, "
                    f"CPU {s['cpu_s']:.1f} s; {joins} joins, {leaves} leaves, {reloads} reloads")
                next_sample += 60
            if now >= next_reload:
                reloads += 1
                d.config_path.write_text(d.config_path.read_text().split("[routing]")[0] + routing_section(reloads))
                d.proc.send_signal(signal.SIGHUP)
                next_reload += 60
            if held and (len(held) >= MAX_HELD or rng.random() < 0.5):
                key = rng.choice(list(held))
                held.pop(key).leave()
                leaves += 1
            else:
                i = rng.randrange(len(churners))
                g = rng.choice(groups[1:])
                if (i, g) not in held:
                    held[(i, g)] = lab.join(churners[i], g, "eth0")
                    joins += 1
            assert d.proc.poll() is None, d.log()[-3000:]
            time.sleep(rng.uniform(0.5, 2.0))
        for m in held.values():
            m.leave()
        for p in receivers:
            p.terminate()
        final = proc_sample(pid)
        assert d.stop() == 0, d.log()[-3000:]

    after = [s for s in samples if s["t"] >= warmup]
    rss_growth_mb = slope_per_hour([(s["t"], s["rss_kb"] / 1024) for s in after])
    fds = [s["fds"] for s in after]
    cpu_share = (final["cpu_s"] - samples[0]["cpu_s"]) / max(1.0, samples[-1]["t"]) * 100
    # The fd count moves with the sessions on air at each sample (each holds
    # its sockets), so growth is the trend, not the range.
    fd_growth = slope_per_hour([(s["t"], s["fds"]) for s in after])
    ok_fd = abs(fd_growth) < 3
    ok_rss = rss_growth_mb < 1.0
    extrapolated = args.minutes < 60
    lines = [
        "## soak: an hour of churn (bench/soak)",
        "",
        at,
        "",
        f"`bench/soak/run.sh --minutes {args.minutes:g}`: joincastd with a real Icecast2 station listed as "
        f"{GROUPS} groups, four hosts joining and leaving them every 0.5-2 s (kernel MLD, at most {MAX_HELD} "
        "held), two `joincast listen` receivers sending RTCP throughout, a `[routing]` reload (SIGHUP) every "
        f"minute; samples every minute, the first {warmup / 60:.0f} minutes excluded as warm-up. No baseline: "
        "the figure is growth against the process itself.",
        "",
        "| measure | result | target |",
        "|---|---|---|",
        f"| run | {args.minutes:g} min: {joins} joins, {leaves} leaves, {reloads} reloads | 60 min |",
        f"| RSS growth after warm-up | {rss_growth_mb:+.2f} MB/hour{' (extrapolated from a shorter run)' if extrapolated else ''}"
        f" (RSS {after[0]['rss_kb'] / 1024 if after else 0:.1f} → {after[-1]['rss_kb'] / 1024 if after else 0:.1f} MiB)"
        f" | < 1 MB/hour {'met' if ok_rss else 'missed'} |",
        f"| open fds after warm-up | {fd_growth:+.1f} per hour (least squares; the count ranges "
        f"{min(fds) if fds else '?'}–{max(fds) if fds else '?'} with the sessions on air at each sample) | no growth "
        f"(trend under 3 per hour) {'met' if ok_fd else 'missed'} |",
        f"| CPU | {cpu_share:.1f} % of a core on average | — |",
    ]
    text = "\n".join(lines)
    print(text)
    if args.write:
        subprocess.run([sys.executable, str(HERE.parent / "update_benchmarks.py"), "soak"], input=text, text=True,
                       check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
