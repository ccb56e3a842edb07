#!/usr/bin/env python3
"""bench/footprint: the routing-only joincastd against smcrouted, in the
same run, on the same network namespace (see run.sh for the options).

  1. Files: shared libraries ldd resolves ("=>" lines, as the issue counted
     smcrouted's 8), and the stripped size of each binary (strip --strip-all
     of a copy; Debian's smcrouted is stripped already).
  2. The seed's routes: the int0/ext0 router with 512 IPv4 and 68 IPv6 (S,G)
     routes in one smcroute.conf, loaded by smcrouted and included by
     joincastd: VmRSS once the kernel holds them all, and the time from
     starting the daemon until the kernel holds the first one (the MFC in
     /proc/net/ip_mr_cache, polled every 0.2 ms). The full build's
     joincastd gives its RSS for the same routes beside it.
  3. One route added at runtime, process against process: `joincast route
     add` and `smcroutectl add`, with the seed's routes installed.
  4. Memory per route: VmRSS with N IPv4 (S,G) routes less VmRSS with none,
     over N (100 000 in --full); smcrouted's at a tenth of N, since its
     load time grows faster than linearly. Only the daemons' own memory:
     the kernel's MFC entries are not in it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("JOINCAST_SOURCE_DIR", HERE.parents[1]))
BUILD_DIR = Path(os.environ.get("JOINCAST_BUILD_DIR", SOURCE_DIR / "build"))
ROUTING_DIR = Path(os.environ.get("JOINCAST_ROUTING_BUILD_DIR", SOURCE_DIR / "build-routing"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "netns"))
from lab import stop_smcrouted  # noqa: E402
sys.path.insert(0, str(HERE.parent))
from checks import Checks  # noqa: E402
from measured_at import measured_at  # noqa: E402

ROUTING_JOINCASTD = ROUTING_DIR / "daemon" / "joincastd"
ROUTING_JOINCAST = ROUTING_DIR / "tools" / "joincast"
FULL_JOINCASTD = BUILD_DIR / "daemon" / "joincastd"
SMCROUTED = shutil.which("smcrouted") or "/usr/sbin/smcrouted"
SMCROUTECTL = shutil.which("smcroutectl") or "/usr/sbin/smcroutectl"

# The targets of issue 15.
TARGET_LIBRARIES = 12
TARGET_STRIPPED_BYTES = 1_000_000
TARGET_RSS_RATIO = 2.0        # joincastd / smcrouted, the seed's routes
TARGET_START_RATIO = 2.0      # start -> first route, joincastd / smcrouted
TARGET_ADD_RATIO = 1.0        # joincast route add / smcroutectl add
TARGET_BYTES_PER_ROUTE = 300  # at 100 000 routes

SEED_V4, SEED_V6 = 512, 68


def v4_group(i: int) -> str:
    return f"239.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"


def seed_conf() -> str:
    """The seed's router: int0 (wired) to ext0 (wireless), 512 IPv4 and 68
    IPv6 (S,G) routes."""
    lines = ["phyint int0 enable", "phyint ext0 enable"]
    lines += [f"mroute from int0 source 192.168.1.{2 + i % 200} group 239.255.{i >> 8}.{i & 255} to ext0"
              for i in range(SEED_V4)]
    lines += [f"mroute from int0 source 2001:db8:1::{2 + i:x} group ff3e::1:{i:x} to ext0" for i in range(SEED_V6)]
    return "\n".join(lines) + "\n"


def many_conf(n: int) -> str:
    lines = ["phyint int0 enable", "phyint ext0 enable"]
    lines += [f"mroute from int0 source 10.1.0.2 group {v4_group(i)} to ext0" for i in range(n)]
    return "\n".join(lines) + "\n"


def mfc_counts() -> tuple[int, int]:
    def count(path: str) -> int:
        with open(path) as f:
            return sum(1 for _ in f) - 1
    return count("/proc/net/ip_mr_cache"), count("/proc/net/ip6_mr_cache")


def wait_until(pred, timeout: float, what: str, interval: float = 0.0002,
               daemon: subprocess.Popen | None = None) -> float:
    start = time.perf_counter()
    while True:
        if pred():
            return time.perf_counter() - start
        if daemon is not None and daemon.poll() is not None:
            raise RuntimeError(f"waiting for {what}: the daemon exited with {daemon.returncode}")
        if time.perf_counter() - start > timeout:
            raise RuntimeError(f"timed out waiting for {what} (MFC holds {mfc_counts()})")
        time.sleep(interval)


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if "=>" in line]


def stripped_size(binary: str, tmp: Path) -> int:
    copy = tmp / (Path(binary).name + ".stripped")
    subprocess.run(["strip", "--strip-all", "-o", str(copy), binary], check=True)
    size = copy.stat().st_size
    copy.unlink()
    return size


def median(xs: list[float]) -> float:
    return statistics.median(xs)


class Daemons:
    """Starts and stops smcrouted and joincastd in the router namespace."""

    def __init__(self, tmp: Path):
        self.tmp = tmp

    def smcrouted(self, conf_text: str) -> subprocess.Popen:
        conf = self.tmp / "smcrouted.conf"
        conf.write_text(conf_text)
        (self.tmp / "smc.sock").unlink(missing_ok=True)
        return subprocess.Popen([SMCROUTED, "-n", "-N", "-f", str(conf), "-u", str(self.tmp / "smc.sock"), "-P",
                                 str(self.tmp / "smc.pid"), "-l", "err"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def joincastd(self, binary: Path, conf_text: str) -> subprocess.Popen:
        # joincastd gives every interface a VIF a route names; smcrouted -N
        # needs the phyint lines. Without them 100 000 routes stay within
        # joincastd's cap of 100 000 smcroute.conf lines.
        lines = [line for line in conf_text.splitlines() if not line.startswith("phyint ")]
        # The cap counts the empty line after the last newline, so routes
        # beyond 99 000 go into joincast.toml as [[routing.route]] tables.
        (self.tmp / "routes.conf").write_text("".join(line + "\n" for line in lines[:99_000]))
        extra = []
        for line in lines[99_000:]:
            w = line.split()  # mroute from IF source S group G to IF
            extra.append(f'[[routing.route]]\nfrom = "{w[2]}"\nsource = "{w[4]}"\ngroup = "{w[6]}"\nto = ["{w[8]}"]\n')
        toml = self.tmp / "joincast.toml"
        toml.write_text(f'[daemon]\ncontrol_socket = "{self.tmp}/jc.sock"\nstate_dir = "{self.tmp}/state"\n'
                        f'log_level = "notice"\n\n[routing]\nsmcroute_conf = "{self.tmp}/routes.conf"\n\n'
                        + "\n".join(extra))
        (self.tmp / "jc.sock").unlink(missing_ok=True)
        return subprocess.Popen([str(binary), "--config", str(toml)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    @staticmethod
    def stop(p: subprocess.Popen) -> None:
        stop_smcrouted(p, timeout=120)
        wait_until(lambda: mfc_counts() == (0, 0), 60, "the routes to go", interval=0.005)


def measure(args) -> dict:
    tmp = Path(args.tmp)
    d = Daemons(tmp)
    r: dict = {}
    seed, seed_total = seed_conf(), (SEED_V4, SEED_V6)
    all_in = lambda: mfc_counts() == seed_total  # noqa: E731
    first = lambda: sum(mfc_counts()) > 0  # noqa: E731

    # 2. The seed's routes: start -> first route, then RSS with all of them.
    starts = {"smcrouted": [], "joincastd": []}
    rss = {"smcrouted": [], "joincastd": [], "joincastd_full": []}
    for _ in range(args.reps):
        for name in ("smcrouted", "joincastd", "joincastd_full"):
            t = time.perf_counter()
            if name == "smcrouted":
                p = d.smcrouted(seed)
            else:
                p = d.joincastd(ROUTING_JOINCASTD if name == "joincastd" else FULL_JOINCASTD, seed)
            wait_until(first, 60, f"{name}'s first route", daemon=p)
            if name in starts:
                starts[name].append(time.perf_counter() - t)
            wait_until(all_in, 120, f"{name}'s {seed_total} routes", interval=0.002, daemon=p)
            time.sleep(1.0)  # let start-up settle (threads, buffers freed)
            rss[name].append(rss_kib(p.pid))
            d.stop(p)
    r["start_ms"] = {k: median(v) * 1000 for k, v in starts.items()}
    r["start_samples_ms"] = {k: [round(x * 1000, 2) for x in v] for k, v in starts.items()}
    r["rss_kib"] = {k: median(v) for k, v in rss.items()}

    # 3. One runtime add, a process each, the seed's routes installed.
    adds = {}
    p = d.smcrouted(seed)
    wait_until(lambda: all_in() and (tmp / "smc.sock").exists(), 120, "smcrouted ready", interval=0.002)
    times = []
    for i in range(args.adds):
        t = time.perf_counter()
        subprocess.run([SMCROUTECTL, "-u", str(tmp / "smc.sock"), "add", "int0", "10.1.0.3", f"239.254.0.{i}", "ext0"],
                       check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    adds["smcroutectl"] = median(times) * 1000
    d.stop(p)
    p = d.joincastd(ROUTING_JOINCASTD, seed)
    wait_until(lambda: all_in() and (tmp / "jc.sock").exists(), 120, "joincastd ready", interval=0.002)
    time.sleep(0.2)
    times = []
    for i in range(args.adds):
        t = time.perf_counter()
        subprocess.run([str(ROUTING_JOINCAST), "--socket", str(tmp / "jc.sock"), "route", "add", "int0", "10.1.0.4",
                        f"239.253.0.{i}", "ext0"], check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    adds["joincast"] = median(times) * 1000
    d.stop(p)
    r["add_ms"] = adds

    # 4. Memory per route: N routes against none.
    per_route = {}
    for name, n in (("joincastd", args.n), ("smcrouted", args.n_smcrouted)):
        base_conf, big_conf = many_conf(0), many_conf(n)
        start = (lambda c: d.smcrouted(c)) if name == "smcrouted" else (lambda c: d.joincastd(ROUTING_JOINCASTD, c))
        p = start(base_conf)
        sock = tmp / ("smc.sock" if name == "smcrouted" else "jc.sock")
        wait_until(sock.exists, 60, f"{name} ready", interval=0.002, daemon=p)
        time.sleep(1.0)
        empty = rss_kib(p.pid)
        d.stop(p)
        t = time.perf_counter()
        p = start(big_conf)
        wait_until(lambda: mfc_counts()[0] >= n, 1800, f"{name}'s {n} routes", interval=0.05, daemon=p)
        load_s = time.perf_counter() - t
        time.sleep(1.0)
        full = rss_kib(p.pid)
        d.stop(p)
        per_route[name] = {"n": n, "empty_kib": empty, "full_kib": full, "load_s": load_s,
                           "bytes_per_route": (full - empty) * 1024 / n}
    r["per_route"] = per_route
    return r


def inside(args) -> int:
    print(json.dumps(measure(args)))
    return 0


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    where = " (QEMU VM of scripts/vm.sh, TCG: times are slowed alike on both sides)" if os.environ.get(
        "JOINCAST_IN_VM") else ""
    return f"{cpu}, {os.cpu_count()} CPUs, Linux {platform.release()}{where}"


def smcroute_version() -> str:
    out = subprocess.run([SMCROUTED, "-v"], capture_output=True, text=True)
    m = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", out.stdout + out.stderr)
    return m.group(1) if m else "(version unknown)"


def files(tmp: Path) -> dict:
    out = {}
    for name, path in (("joincastd", ROUTING_JOINCASTD), ("joincast", ROUTING_JOINCAST),
                       ("joincastd_full", FULL_JOINCASTD), ("smcrouted", Path(SMCROUTED)),
                       ("smcroutectl", Path(SMCROUTECTL))):
        out[name] = {"libraries": libraries(str(path)), "stripped": stripped_size(str(path), tmp)}
    return out


def markdown(r: dict, command: str) -> str:
    f, rss, start, add, per = r["files"], r["rss_kib"], r["start_ms"], r["add_ms"], r["per_route"]
    met = lambda ok: "met" if ok else "**missed**"  # noqa: E731
    jl, sl = len(f["joincastd"]["libraries"]), len(f["smcrouted"]["libraries"])
    js, ss = f["joincastd"]["stripped"], f["smcrouted"]["stripped"]
    rss_ratio = rss["joincastd"] / rss["smcrouted"]
    start_ratio = start["joincastd"] / start["smcrouted"]
    add_ratio = add["joincast"] / add["smcroutectl"]
    bpr = per["joincastd"]["bytes_per_route"]
    out = ["## Footprint of the routing-only build (bench/footprint)", "", measured_at(), "",
           f"The routing-only joincastd (`-DJOINCAST_MEDIA=OFF`, build-routing/, docs/building.md) against "
           f"smcrouted {r['smcroute_version']} (Debian's package), measured in the same run on the same network "
           f"namespace: the seed's router, int0 to ext0 with {SEED_V4} IPv4 and {SEED_V6} IPv6 (S,G) routes in "
           f"one smcroute.conf (joincastd includes it). \"ratio\" is joincast's figure over smcrouted's (below "
           f"1: joincast is smaller or faster). Times are medians of {r['reps']} starts and {r['adds']} adds.", "",
           "| what | smcrouted | joincast (routing-only) | ratio | target |", "|---|---|---|---|---|",
           f"| shared libraries (ldd) of the daemon | {sl} | {jl} | {jl / sl:.2f}× | ≤ {TARGET_LIBRARIES}: "
           f"{met(jl <= TARGET_LIBRARIES)} |",
           f"| stripped daemon | {ss / 1000:.0f} kB | {js / 1000:.0f} kB | {js / ss:.1f}× | ≤ 1 MB: "
           f"{met(js <= TARGET_STRIPPED_BYTES)} |",
           f"| RSS with the seed's {SEED_V4 + SEED_V6} routes installed | {rss['smcrouted'] / 1024:.1f} MB | "
           f"{rss['joincastd'] / 1024:.1f} MB | {rss_ratio:.2f}× | ≤ {TARGET_RSS_RATIO:g}×: "
           f"{met(rss_ratio <= TARGET_RSS_RATIO)} |",
           f"| start until the kernel holds the first route | {start['smcrouted']:.1f} ms | "
           f"{start['joincastd']:.1f} ms | {start_ratio:.2f}× | ≤ {TARGET_START_RATIO:g}×: "
           f"{met(start_ratio <= TARGET_START_RATIO)} |",
           f"| one runtime add as a process: `smcroutectl add` / `joincast route add` | {add['smcroutectl']:.2f} ms | "
           f"{add['joincast']:.2f} ms | {add_ratio:.2f}× | ≤ {TARGET_ADD_RATIO:g}×: "
           f"{met(add_ratio <= TARGET_ADD_RATIO)} |",
           f"| memory per route: RSS with {per['joincastd']['n']:,} IPv4 routes less RSS with none | "
           f"{per['smcrouted']['bytes_per_route']:.0f} B (at {per['smcrouted']['n']:,} routes) | {bpr:.0f} B | "
           f"{bpr / max(per['smcrouted']['bytes_per_route'], 1):.2f}× (not at the same count) | ≤ "
           f"{TARGET_BYTES_PER_ROUTE} B: {met(bpr <= TARGET_BYTES_PER_ROUTE)} |",
           "",
           f"The full build (media included, build/) for comparison: {len(f['joincastd_full']['libraries'])} shared "
           f"libraries, {f['joincastd_full']['stripped'] / 1e6:.1f} MB stripped, "
           f"{rss['joincastd_full'] / 1024:.1f} MB RSS idle with the same seed routes (no sessions). The routing-only "
           f"`joincast` CLI: {len(f['joincast']['libraries'])} shared libraries, "
           f"{f['joincast']['stripped'] / 1000:.0f} kB stripped (smcroutectl: "
           f"{len(f['smcroutectl']['libraries'])}, {f['smcroutectl']['stripped'] / 1000:.0f} kB).", "",
           f"Notes. Shared libraries are ldd's \"=>\" lines (the vDSO and the loader not counted); joincastd's: "
           f"{', '.join(f['joincastd']['libraries'])}. Start samples (ms): smcrouted "
           f"{r['start_samples_ms']['smcrouted']}, joincastd {r['start_samples_ms']['joincastd']}. "
           f"Loading {per['joincastd']['n']:,} routes took joincastd {per['joincastd']['load_s']:.1f} s "
           f"(RSS {per['joincastd']['empty_kib'] / 1024:.1f} → {per['joincastd']['full_kib'] / 1024:.1f} MB) and "
           f"smcrouted {per['smcrouted']['load_s']:.1f} s for {per['smcrouted']['n']:,} "
           f"(RSS {per['smcrouted']['empty_kib'] / 1024:.1f} → {per['smcrouted']['full_kib'] / 1024:.1f} MB); the "
           f"kernel's own MFC memory is in neither.", "",
           f"Command: `{command}`", "", f"Machine: {machine()}. Shared with other work while measured; the ratios "
           f"are what to compare."]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="5 repetitions, 100 000 routes (default: 3, 20 000)")
    ap.add_argument("--write", action="store_true", help="rewrite this benchmark's section of BENCHMARKS.md")
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--tmp", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--n-smcrouted", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--reps", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--adds", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        return inside(args)

    from lab import Lab
    Lab.require_multicast_routing()
    for path in (ROUTING_JOINCASTD, ROUTING_JOINCAST, FULL_JOINCASTD, Path(SMCROUTED), Path(SMCROUTECTL)):
        if not path.exists():
            print(f"bench/footprint: {path} is missing (scripts/build-routing.sh, scripts/build.sh, Debian's "
                  f"smcroute)", file=sys.stderr)
            return 1
    n, reps, adds = (100_000, 5, 50) if args.full else (20_000, 3, 20)
    with tempfile.TemporaryDirectory() as t:
        file_figures = files(Path(t))
    with Lab(os.environ.get("JOINCAST_BENCH_LAB", "footprint")) as lab:
        router = lab.netns("router")
        lab.veth(router, "int0", lab.netns("lan"), "l0")
        lab.veth(router, "ext0", lab.netns("wlan"), "w0")
        out = router.run(sys.executable, str(Path(__file__).resolve()), "--inside", "--tmp", str(lab.tmp), "--n",
                         str(n), "--n-smcrouted", str(n // 10), "--reps", str(reps), "--adds", str(adds),
                         timeout=3600)
    r = json.loads(out.strip().splitlines()[-1])
    r.update(files=file_figures, reps=reps, adds=adds, smcroute_version=smcroute_version())
    command = "bench/footprint/run.sh --full --write" if args.full else "bench/footprint/run.sh"
    md = markdown(r, command)
    print(md)
    if args.write:
        subprocess.run([sys.executable, str(SOURCE_DIR / "bench" / "update_benchmarks.py"), "footprint"], input=md,
                       text=True, check=True)
    checks = Checks("bench.footprint")
    checks.ratio("RSS with the seed's routes, joincastd / smcrouted", r["rss_kib"]["joincastd"] /
                 r["rss_kib"]["smcrouted"], at_most=4.0)
    checks.target(f"≤ {TARGET_LIBRARIES} shared libraries", len(r["files"]["joincastd"]["libraries"]) <=
                  TARGET_LIBRARIES, str(len(r["files"]["joincastd"]["libraries"])))
    checks.target("stripped ≤ 1 MB", r["files"]["joincastd"]["stripped"] <= TARGET_STRIPPED_BYTES,
                  f"{r['files']['joincastd']['stripped']} bytes")
    checks.target(f"≤ {TARGET_BYTES_PER_ROUTE} bytes per route", r["per_route"]["joincastd"]["bytes_per_route"] <=
                  TARGET_BYTES_PER_ROUTE, f"{r['per_route']['joincastd']['bytes_per_route']:.0f} B")
    return checks.verdict()


if __name__ == "__main__":
    sys.exit(main())
