#!/usr/bin/env python3
"""bench/mdns: carrying mDNS between two zones, joincastd against
avahi-daemon's reflector (enable-reflector=yes), one after the other on the
same lab in the same run (see run.sh for the options).

A router joins a trusted link (a client) and an iot link (a responder).
The responder is a small script that answers an SRV question for
`<name>._bench._tcp.local` at once, by multicast, as a responder does for a
unique record; the client asks for a new name each time (so no cache and no
duplicate suppression plays a part) and waits for the answer on its link.

  1. Latency: the time from the client's query to the answer arriving on
     its link, through the router, one query at a time.
  2. CPU: the client sends N queries (distinct names) at a steady rate the
     responder does not answer; the router daemon's CPU time (utime+stime
     from /proc) over the flood, per 10 000 questions that reached the iot
     link (counted there).
  3. Memory: with a third zone (guest) added and each relay started afresh
     on the three links, 1 000 services announced across the zones; the
     growth of the daemon's resident memory (VmRSS).

joincastd runs with trusted allowed every type in iot and no rate limit;
the reflector is avahi-daemon with a private D-Bus (as the tests run it)
and its per-source rate limit raised out of the way. Both run alone on the
router when measured.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_DIR = Path(os.environ.get("JOINCAST_SOURCE_DIR", HERE.parents[1]))
BUILD_DIR = Path(os.environ.get("JOINCAST_BUILD_DIR", SOURCE_DIR / "build"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "netns"))
sys.path.insert(0, str(SOURCE_DIR / "tests" / "netns" / "lan"))
sys.path.insert(0, str(HERE.parent))
from checks import Checks  # noqa: E402
from measured_at import measured_at  # noqa: E402


RESPONDER = r"""
import os, socket, struct, sys
answer, counter = sys.argv[1] == "answer", sys.argv[2]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton("10.20.0.5"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.20.0.5"))
count = 0
print("ready", flush=True)
while True:
    data, src = s.recvfrom(9000)
    if len(data) < 12 or data[2] & 0x80:
        continue
    qd = struct.unpack("!H", data[4:6])[0]
    off = 12
    for _ in range(qd):
        start = off
        labels = []
        while off < len(data) and data[off] and data[off] < 64:
            labels.append(data[off + 1:off + 1 + data[off]])
            off += 1 + data[off]
        off += 1
        qtype = struct.unpack("!H", data[off:off + 2])[0]
        off += 4
        if len(labels) == 4 and labels[1:] == [b"_bench", b"_tcp", b"local"]:
            if labels[0].startswith(b"flood"):
                count += 1
                if count % 50 == 0:
                    with open(counter + ".new", "w") as f:
                        f.write(str(count))
                    os.replace(counter + ".new", counter)
            elif answer and qtype == 33:
                name = data[start:off - 4]
                rdata = struct.pack("!3H", 0, 0, 9) + b"\x05bench\x05local\x00"
                r = (struct.pack("!6H", 0, 0x8400, 0, 1, 0, 0) + name + struct.pack("!HHIH", 33, 0x8001, 120, len(rdata))
                     + rdata)
                s.sendto(r, ("224.0.0.251", 5353))
"""

CLIENT = r"""
import json, socket, struct, sys, time, os
mode, n = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, socket.inet_aton("224.0.0.251") + socket.inet_aton("10.10.0.2"))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("10.10.0.2"))
tag = os.urandom(3).hex()
def query(label):
    l = label.encode()
    return (struct.pack("!6H", 0, 0, 1, 0, 0, 0) + bytes([len(l)]) + l + b"\x06_bench\x04_tcp\x05local\x00"
            + struct.pack("!2H", 33, 1)), l
if mode == "latency":
    samples, lost = [], 0
    for i in range(n):
        q, l = query(f"q{tag}{i}")
        t0 = time.perf_counter()
        s.sendto(q, ("224.0.0.251", 5353))
        s.settimeout(2)
        try:
            while True:
                data, src = s.recvfrom(9000)
                if data[2] & 0x80 and l in data:
                    samples.append((time.perf_counter() - t0) * 1000)
                    break
        except socket.timeout:
            lost += 1
        time.sleep(0.02)
    print(json.dumps({"samples": samples, "lost": lost}))
else:
    rate = float(sys.argv[3])
    start = time.perf_counter()
    for i in range(n):
        s.sendto(query(f"flood{tag}{i}")[0], ("224.0.0.251", 5353))
        delay = start + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": n, "seconds": time.perf_counter() - start}))
"""


# Announces `n` services from `address` at `rate` a second, as a responder
# does when it starts (RFC 6762 §8.3): per service a response with the PTR
# of _bench._tcp.local, the instance's SRV and TXT and its host's A record
# (the cache-flush bit on the unique ones), each twice a second apart.
ANNOUNCER = r"""
import socket, struct, sys, time
address, zone, n, rate = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
s.bind((address, 5353))
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 255)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(address))
def name(*labels):
    return b"".join(bytes([len(l)]) + l for l in labels) + b"\x00"
def rr(owner, rtype, flush, ttl, rdata):
    return owner + struct.pack("!HHIH", rtype, 0x8001 if flush else 1, ttl, len(rdata)) + rdata
def announcement(i):
    inst = f"{zone} service {i}".encode()
    host = f"{zone}-host{i}".encode()
    full = name(inst, b"_bench", b"_tcp", b"local")
    records = [rr(name(b"_bench", b"_tcp", b"local"), 12, False, 4500, full),
               rr(full, 33, True, 120, struct.pack("!3H", 0, 0, 8000 + i) + name(host, b"local")),
               rr(full, 16, True, 4500, b"\x09txtvers=1\x0bpath=/bench\x06" + f"n={i:04d}".encode()),
               rr(name(host, b"local"), 1, True, 120, socket.inet_aton(f"10.99.{i // 250}.{i % 250 + 1}"))]
    return struct.pack("!6H", 0, 0x8400, 0, len(records), 0, 0) + b"".join(records)
start = time.monotonic()
for k in range(2 * n):
    s.sendto(announcement(k % n), ("224.0.0.251", 5353))
    delay = start + (k + 1) / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)
print(2 * n)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def measure(lab, router, client, responder_ns, pid: int, timed: int, carried: int, rate: float) -> dict:
    counter = lab.tmp / f"carried-{pid}"
    # Latency, with the responder answering.
    resp = responder_ns.spawn(sys.executable, "-c", RESPONDER, "answer", str(counter), stdout=subprocess.PIPE,
                              text=True)
    assert resp.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    out = client.run(sys.executable, "-c", CLIENT, "latency", str(timed), timeout=600)
    lat = json.loads(out.strip().splitlines()[-1])
    resp.terminate()
    resp.wait(timeout=5)
    # CPU over a flood the responder only counts.
    resp = responder_ns.spawn(sys.executable, "-c", RESPONDER, "count", str(counter), stdout=subprocess.PIPE,
                              text=True)
    assert resp.stdout.readline().strip() == "ready"
    time.sleep(0.3)
    cpu0 = cpu_seconds(pid)
    client.run(sys.executable, "-c", CLIENT, "flood", str(carried), str(rate), timeout=600)
    # Let what is queued or deferred come out.
    counted, quiet_since = 0, time.monotonic()
    while time.monotonic() - quiet_since < 2:
        time.sleep(0.2)
        now = int(counter.read_text()) if counter.exists() else 0
        if now != counted:
            counted, quiet_since = now, time.monotonic()
    cpu1 = cpu_seconds(pid)
    resp.terminate()
    resp.wait(timeout=5)
    return {"latency_ms": lat["samples"], "lost": lat["lost"], "cpu_s": cpu1 - cpu0, "carried": counted,
            "sent": carried, "rss_kb": rss_kb(pid)}


# Services announced per zone for the memory figure: 1 000 in all.
SERVICES = {"iot": ("10.20.0.5", 400), "guest": ("10.30.0.5", 300), "trusted": ("10.10.0.2", 300)}


def memory(hosts: dict, pid: int, rate: float = 400.0) -> dict:
    """RSS of `pid` before and after SERVICES are announced in their zones
    (each host announcing its share at once, every service twice)."""
    time.sleep(1)
    before = rss_kb(pid)
    procs = [hosts[z].spawn(sys.executable, "-c", ANNOUNCER, address, z, str(n), str(rate), stdout=subprocess.PIPE,
                            text=True) for z, (address, n) in SERVICES.items()]
    for p in procs:
        p.communicate(timeout=120)
    time.sleep(2)
    return {"before_kb": before, "after_kb": rss_kb(pid), "services": sum(n for _, n in SERVICES.values())}


def stats(samples: list[float]) -> dict:
    s = sorted(samples)
    return {"median": statistics.median(s), "p95": s[int(0.95 * (len(s) - 1))], "n": len(s)} if s else \
        {"median": float("nan"), "p95": float("nan"), "n": 0}


def machine() -> str:
    cpu = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return (f"a shared {os.cpu_count()}-core machine ({cpu}, Linux {platform.release()}), load average "
            f"{os.getloadavg()[0]:.2f} at the start")


def avahi_version() -> str:
    r = subprocess.run(["avahi-daemon", "--version"], capture_output=True, text=True)
    return (r.stdout or r.stderr).strip().split()[-1] if r.returncode == 0 else "?"


def markdown(r: dict, command: str) -> str:
    j, a = r["joincastd"], r["avahi"]
    jm, am = r["joincastd_memory"], r["avahi_memory"]
    grow = lambda m: m["after_kb"] - m["before_kb"]
    jl, al = stats(j["latency_ms"]), stats(a["latency_ms"])
    per = lambda m: m["cpu_s"] * 1000 * 10_000 / m["carried"] if m["carried"] else float("nan")
    jc, ac = per(j), per(a)
    out = ["## mDNS between zones (bench/mdns)", "", measured_at(), "",
           f"One query at a time across a router, from a client on the trusted link to a responder on the iot "
           f"link that answers at once, and {j['sent']:,} queries for distinct names at {r['rate']:.0f} a second: "
           f"joincastd (policy in force: trusted may discover every type in iot, no rate limit) against "
           f"avahi-daemon {r['avahi_version']}'s reflector (`enable-reflector=yes`, the baseline, reflecting "
           f"everything with no policy), each alone on the same router, in the same run. \"ratio\" is the "
           f"baseline's figure over joincast's (above 1: joincast is faster or cheaper).", "",
           "| what | avahi reflector | joincastd | ratio |", "|---|---:|---:|---:|",
           f"| query→answer through the router, median ({jl['n']} answered of {r['timed']}; avahi "
           f"{al['n']}) | {al['median']:.2f} ms | {jl['median']:.2f} ms | {al['median'] / jl['median']:.1f}× |",
           f"| the same, 95th percentile | {al['p95']:.2f} ms | {jl['p95']:.2f} ms | "
           f"{al['p95'] / jl['p95']:.1f}× |",
           f"| CPU per 10 000 questions carried into iot (carried: avahi {a['carried']:,}, joincastd "
           f"{j['carried']:,} of {j['sent']:,}) | {ac:.0f} ms | {jc:.0f} ms | {ac / jc:.1f}× |",
           f"| resident memory after the run | {a['rss_kb'] / 1024:.1f} MB | {j['rss_kb'] / 1024:.1f} MB | "
           f"{a['rss_kb'] / j['rss_kb']:.1f}× |",
           f"| growth of resident memory with {jm['services']:,} services announced across 3 zones (joincastd "
           f"lists {jm['listed']:,}) | {grow(am):,} kB | {grow(jm):,} kB | "
           f"{grow(am) / grow(jm) if grow(jm) > 0 else float('nan'):.1f}× |",
           f"| resident memory with those services | {am['after_kb'] / 1024:.1f} MB | {jm['after_kb'] / 1024:.1f} MB "
           f"| {am['after_kb'] / jm['after_kb']:.1f}× |",
           "", "Notes. The latency includes the client's and responder's own Python and the veth hops, the same "
           "for both; the carried count is the questions the responder saw (counted in fifties). The resident "
           "memory is the whole process: joincastd's includes every module's code and libraries (FFmpeg among "
           "them), not only the relay's state. For the memory rows each relay starts afresh on three links (trusted, "
           "iot and a guest zone), and hosts announce 400 services in iot, 300 in guest and 300 in trusted (PTR, SRV, "
           "TXT and an A record each, every announcement twice): the growth is what holding them costs; joincastd "
           "lists the services each zone announced (`joincast mdns`) and keeps what stateful relaying needs, avahi "
           "caches every record it receives.",
           "", f"Command: `{command}`", "", f"Machine: {machine()}. Shared with other work while measured; the "
           f"ratios are what to compare."]
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="500 timed queries, 10 000 carried (default: 200, 3 000)")
    ap.add_argument("--write", action="store_true", help="rewrite this benchmark's section of BENCHMARKS.md")
    args = ap.parse_args()
    from lab import Daemon, Lab, require_tools
    from avahi_fixture import Avahi
    from mdns_lab import config, two_zones
    if not require_tools("avahi-daemon", "dbus-daemon"):
        return 77
    timed, carried, rate = (500, 10_000, 1000.0) if args.full else (200, 3_000, 1000.0)
    r = {"timed": timed, "rate": rate, "avahi_version": avahi_version()}
    with Lab("m2-bench-mdns") as lab:
        router, client, responder = two_zones(lab, trusted="client", iot="resp", ipv6=())

        pins = lab.bpffs()
        d = Daemon(lab, router, config(pins, zones=("trusted", "iot"), mdns={"rate": 0})).start(log_level="info")
        time.sleep(0.5)
        r["joincastd"] = measure(lab, router, client, responder, d.proc.pid, timed, carried, rate)
        d.stop()

        avahi = Avahi(lab, router, "router", ["lan0", "iot0"], ipv6=False, reflector=True)
        cfg = avahi.dir / "avahi-daemon.conf"
        assert "ratelimit-burst=1000" in cfg.read_text()
        time.sleep(1)
        r["avahi"] = measure(lab, router, client, responder, avahi.daemon.pid, timed, carried, rate)
        avahi.stop()

        # Memory: a third zone (guest), 1 000 services announced across the
        # three, each relay started afresh on all three links.
        guest = lab.netns("guest")
        lab.veth(router, "guest0", guest, "eth0")
        lab.addr(router, "guest0", "10.30.0.1/24")
        lab.addr(guest, "eth0", "10.30.0.5/24")
        hosts = {"trusted": client, "iot": responder, "guest": guest}
        d = Daemon(lab, router, config(pins, mdns={"rate": 0}), name="joincastd-memory").start(log_level="info")
        r["joincastd_memory"] = memory(hosts, d.proc.pid)
        status = d.cli("mdns")
        r["joincastd_memory"]["listed"] = sum(len(z["services"]) for z in status["zones"])
        d.stop()
        avahi = Avahi(lab, router, "router-memory", ["lan0", "iot0", "guest0"], ipv6=False, reflector=True)
        r["avahi_memory"] = memory(hosts, avahi.daemon.pid)
        avahi.stop()
    command = "bench/mdns/run.sh --full --write" if args.full else "bench/mdns/run.sh"
    md = markdown(r, command)
    print(md)
    checks = Checks("bench.mdns")
    jl, al = stats(r["joincastd"]["latency_ms"]), stats(r["avahi"]["latency_ms"])
    checks.ratio("query→answer latency, avahi reflector / joincastd", al["median"] / jl["median"], at_least=0.5)
    per = lambda m: m["cpu_s"] / m["carried"] if m["carried"] else float("inf")
    if r["avahi"]["carried"] and r["joincastd"]["carried"]:
        checks.ratio("CPU per carried question, avahi reflector / joincastd",
                     per(r["avahi"]) / max(per(r["joincastd"]), 1e-9), at_least=0.75)
    # The target: below avahi on both (printed, not a failure).
    checks.target("latency below the avahi reflector's", jl["median"] < al["median"],
                  f"{jl['median']:.2f} against {al['median']:.2f} ms")
    checks.target("CPU per carried question below the avahi reflector's",
                  per(r["joincastd"]) < per(r["avahi"]),
                  f"{per(r['joincastd']) * 1e7:.0f} against {per(r['avahi']) * 1e7:.0f} ms per 10 000")
    checks.target("every timed query answered through joincastd", r["joincastd"]["lost"] == 0,
                  f"{r['joincastd']['lost']} lost")
    if args.write:
        subprocess.run([sys.executable, str(SOURCE_DIR / "bench" / "update_benchmarks.py"), "mdns"], input=md,
                       text=True, check=True)
    return checks.verdict()


if __name__ == "__main__":
    sys.exit(main())
