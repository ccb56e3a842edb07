"""routing_lab.py — shared pieces of the multicast routing tests
(test_routing_*.py): the source → router → two receivers topology, a
multicast sender, and a counter that reads packets off the wire (AF_PACKET)
in a namespace, so a test sees exactly which packets reached which link,
whoever joined what.

    with Lab("routing") as lab:
        t = Topology(lab)
        ...
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

from lab import JOINCASTD, Daemon, Lab, Netns, log, wait_until

# Runs in a namespace: counts packets to multicast destinations seen on an
# interface (incoming only), by destination; UDP payloads "JC <seq>" give
# sequence numbers and arrival times. Prints one JSON object when told to
# stop on stdin, or on request ("dump\n"), and keeps counting.
_COUNTER_CODE = r"""
import json, select, socket, struct, sys, time
ifname = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
stats = {}
def note(dst, kind, seq):
    e = stats.setdefault(dst, {"packets": 0, "udp": 0, "echo": 0, "seq": [], "t": []})
    e["packets"] += 1
    if kind:
        e[kind] += 1
    if seq is not None:
        e["seq"].append(seq)
        e["t"].append(time.monotonic())
print("ready", flush=True)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [])
    if s in r:
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        etype = struct.unpack("!H", data[12:14])[0]
        off = 14
        if etype == 0x8100:
            etype = struct.unpack("!H", data[16:18])[0]
            off = 18
        kind = None
        seq = None
        if etype == 0x0800:
            ihl = (data[off] & 15) * 4
            proto = data[off + 9]
            dst = socket.inet_ntop(socket.AF_INET, data[off + 16:off + 20])
            payload = data[off + ihl:]
            if proto == 17:
                kind = "udp"
                body = payload[8:]
            elif proto == 1 and payload[:1] == b"\x08":
                kind = "echo"
        elif etype == 0x86dd:
            nh = data[off + 6]
            dst = socket.inet_ntop(socket.AF_INET6, data[off + 24:off + 40])
            payload = data[off + 40:]
            if nh == 17:
                kind = "udp"
                body = payload[8:]
            elif nh == 58 and payload[:1] == b"\x80":
                kind = "echo"
        else:
            continue
        first = int(dst.split(".")[0]) if "." in dst else None
        if not (dst.startswith("ff") or (first is not None and 224 <= first <= 239)):
            continue
        if kind == "udp" and body[:3] == b"JC ":
            try:
                seq = int(body[3:].split(b" ")[0])
            except ValueError:
                pass
        note(dst, kind, seq)
    if sys.stdin in r:
        line = sys.stdin.readline()
        print(json.dumps(stats), flush=True)
        if line.strip() != "dump":
            break
"""

# Runs in a namespace: sends UDP packets "JC <seq>" to a group, out of a
# named interface, `count` of them (0: until stdin closes) every
# `interval` seconds.
_SENDER_CODE = r"""
import socket, struct, sys, time, select
ifname, group, port, count, interval, ttl = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])
ifindex = socket.if_nametoindex(ifname)
if ":" in group:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
    dest = (group, port, 0, 0)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, struct.pack("@4s4si", b"\0" * 4, b"\0" * 4, ifindex))
    s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
    dest = (group, port)
print("sending", flush=True)
seq = 0
next_at = time.monotonic()
while count == 0 or seq < count:
    s.sendto(b"JC %d " % seq + b"x" * 100, dest)
    seq += 1
    next_at += interval
    delay = max(0.0, next_at - time.monotonic())
    if count == 0:
        r, _, _ = select.select([sys.stdin], [], [], delay)
        if r:
            break
    else:
        time.sleep(delay)
print(seq, flush=True)
"""


class Counter:
    """Packets to multicast destinations arriving on one interface."""

    def __init__(self, ns: Netns, ifname: str):
        self.ns = ns
        self.ifname = ifname
        self.proc = ns.spawn(sys.executable, "-c", _COUNTER_CODE, ifname, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"counter on {ns.short}/{ifname} failed: {line!r} {self.proc.stderr.read()}")

    def snapshot(self) -> dict:
        self.proc.stdin.write("dump\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def stop(self) -> dict:
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        result = json.loads(self.proc.stdout.readline())
        self.proc.wait(timeout=10)
        return result

    def packets(self, group: str, kind: str = "udp") -> int:
        return self.snapshot().get(group, {}).get(kind, 0)


def send(ns: Netns, ifname: str, group: str, count: int, interval: float = 0.01, ttl: int = 16,
         port: int = 5000) -> int:
    """Sends count packets and waits; returns how many were sent."""
    out = ns.run(sys.executable, "-c", _SENDER_CODE, ifname, group, str(port), str(count), str(interval), str(ttl),
                 timeout=60 + count * interval)
    return int(out.split()[-1])


class Stream:
    """A sender that runs until stopped."""

    def __init__(self, ns: Netns, ifname: str, group: str, interval: float = 0.01, ttl: int = 16, port: int = 5000):
        self.proc = ns.spawn(sys.executable, "-c", _SENDER_CODE, ifname, group, str(port), "0", str(interval), str(ttl),
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != "sending":
            raise AssertionError(f"sender failed: {line!r} {self.proc.stderr.read()}")

    def stop(self) -> int:
        self.proc.stdin.write("stop\n")
        self.proc.stdin.flush()
        sent = int(self.proc.stdout.readline())
        self.proc.wait(timeout=10)
        return sent


class Topology:
    """src ── router ── rcv1
                  └──── rcv2

    src: s0 10.1.0.2/24 2001:db8:1::2/64     router: up0 10.1.0.1 2001:db8:1::1
    rcv1: a0 10.2.0.2/24 2001:db8:2::2/64    router: down1 10.2.0.1 2001:db8:2::1
    rcv2: b0 10.3.0.2/24 2001:db8:3::2/64    router: down2 10.3.0.1 2001:db8:3::1
    """

    SRC4, SRC6 = "10.1.0.2", "2001:db8:1::2"

    def __init__(self, lab: Lab):
        self.lab = lab
        self.router = lab.netns("router")
        self.src = lab.netns("src")
        self.rcv1 = lab.netns("rcv1")
        self.rcv2 = lab.netns("rcv2")
        lab.veth(self.router, "up0", self.src, "s0")
        lab.veth(self.router, "down1", self.rcv1, "a0")
        lab.veth(self.router, "down2", self.rcv2, "b0")
        for ns, ifname, n, host in ((self.router, "up0", 1, 1), (self.src, "s0", 1, 2), (self.router, "down1", 2, 1),
                                    (self.rcv1, "a0", 2, 2), (self.router, "down2", 3, 1), (self.rcv2, "b0", 3, 2)):
            lab.addr(ns, ifname, f"10.{n}.0.{host}/24")
            lab.addr(ns, ifname, f"2001:db8:{n}::{host}/64")
        # No reverse-path surprises: the sources are on-link anyway.
        self.router.sysctl("net.ipv4.conf.all.rp_filter", 0)
        self.router.sysctl("net.ipv4.conf.default.rp_filter", 0)

    def counters(self) -> tuple[Counter, Counter]:
        return Counter(self.rcv1, "a0"), Counter(self.rcv2, "b0")


def mroute_lines(ns: Netns, family: str = "-4", table: str | None = None) -> list[str]:
    """`ip mroute show` as sorted lines, whitespace normalised."""
    args = ["ip", family, "mroute", "show"]
    if table:
        args += ["table", table]
    out = ns.run(*args)
    return sorted(" ".join(line.split()) for line in out.splitlines() if line.strip())


def daemon_config(body: str) -> str:
    return f"""[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

{body}
"""


def start_daemon(lab: Lab, ns: Netns, body: str, name: str = "joincastd") -> Daemon:
    return Daemon(lab, ns, daemon_config(body), name=name).start()


def check_config(lab: Lab, ns: Netns, body: str, name: str = "check") -> subprocess.CompletedProcess:
    """`joincastd --check` on the [routing] body, run inside `ns` (so it
    sees that namespace's interfaces)."""
    d = Daemon(lab, ns, daemon_config(body), name=name)
    return subprocess.run(["ip", "netns", "exec", ns.name, str(JOINCASTD), "--check", "--config", str(d.config_path)],
                          capture_output=True, text=True, timeout=30)


def reload(d: Daemon, body: str, expect: str = "reloaded") -> None:
    """Rewrites the config, sends SIGHUP and waits for the log to say so."""
    before = d.log().count(expect)
    d.config_path.write_text(daemon_config(body).replace("@SOCKET@", str(d.socket)).replace(
        "@STATE@", str(d.dir / "state")))
    import signal
    d.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: d.log().count(expect) > before, 10, f"joincastd to log {expect!r} after SIGHUP")


def mfc(d: Daemon, family: str = "ipv4") -> list[dict]:
    """The MFC entries `joincast routes --json` reports for a family."""
    for f in d.cli("routes")["families"]:
        if f["family"] == family:
            return f["mfc"]
    return []
