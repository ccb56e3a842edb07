"""e2e_lab.py — shared pieces of the end-to-end tests (test_e2e_*.py): a
router running the whole joincastd (membership, catalogue, media, routing)
with listener hosts on the ports of its bridge, a wire counter that decodes
what reaches each listener (RTP, RTCP, SAP with its deletion flag), and
helpers for `joincast sessions` and real clients.

    l1 ──eth0──p1─┐
                  br0 (router: joincastd, [sessions] interface = "br0")
    l2 ──eth0──p2─┘

    router br0  2001:db8:1::1/64  10.0.0.1/24
    lN   eth0   2001:db8:1::1N/64 10.0.0.1N/24

The bridge floods multicast (snooping off) unless a test asks otherwise,
so every listener's wire shows everything the router sends: a stream that
runs when it should not is seen, whoever joined. Listener hosts have one
interface, so clients that cannot name one (FFmpeg's sap://) use it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lab import JOINCAST, JOINCASTD, Daemon, Lab, Netns, log, wait_until  # noqa: E402

PREFIX = "2001:db8:d0be:f00d"


def group6(slot: int, station: int) -> str:
    """The IPv6 group of a station with the default address plan."""
    gid = 0x80000000 | (slot << 28) | station
    return f"ff3e:40:{PREFIX}:{gid >> 16:x}:{gid & 0xffff:x}"


# The test directory in slot 0 (docs/configuration.md, `type = "test"`).
TONE_MP3 = group6(0, 0)    # Test tone 440 Hz (MP3)
TONE_1K = group6(0, 1)     # Test tone 1 kHz (MP3)
TONE_AAC = group6(0, 2)    # Test tone 440 Hz (AAC)
TONE_OPUS = group6(0, 3)   # Test tone 440 Hz (Opus)

TIMERS = """
[membership.timers]
query_interval = "2s"
query_response_interval = "1s"
last_listener_query_interval = "300ms"
startup_query_interval = "500ms"
"""

SESSIONS = """
[sessions]
interface = "{interface}"
grace = "{grace}"
retry_initial = "500ms"
retry_max = "4s"
start_timeout = "5s"
sap_interval = "1s"
"""


def with_static_directory(stations: dict[str, str], name: str = "local", slot: int = 1) -> str:
    """The [[directory]] sections of config()'s default (the test
    directory in slot 0) plus a static directory of stations (name -> URL)."""
    text = ('[[directory]]\nname = "test"\ntype = "test"\nslot = 0\n\n'
            f'[[directory]]\nname = "{name}"\ntype = "static"\nslot = {slot}\n')
    for station, url in stations.items():
        text += f'[[directory.station]]\nname = "{station}"\nurl = "{url}"\n'
    return text


def config(pins: Path, interfaces: list[str], sessions: str | None = None, extra: str = "",
           interface: str = "br0", grace: str = "1500ms", directories: str | None = None) -> str:
    """A joincastd configuration: membership on `interfaces`, the address
    plan's prefix, the test directory in slot 0 (unless `directories` says
    otherwise), [sessions] leaving by `interface` with short timers, and
    `extra` appended (more sections)."""
    ifs = ", ".join(f'"{i}"' for i in interfaces)
    if directories is None:
        directories = '[[directory]]\nname = "test"\ntype = "test"\nslot = 0\n'
    if sessions is None:
        sessions = SESSIONS.format(interface=interface, grace=grace)
    return f"""
[daemon]
control_socket = "@SOCKET@"
state_dir = "@STATE@"

[membership]
interfaces = [{ifs}]
bpf_pin_root = "{pins}"
{TIMERS}
[address_plan]
ipv6_prefix = "{PREFIX}::/64"

{directories}
{sessions}
{extra}
"""


# Runs on the flooding host: MLDv2 reports (type 143), CHANGE_TO_EXCLUDE
# records with no sources (a join), 60 records a report, to ff02::16 with
# hop limit 1 and a Router Alert; the kernel fills in the checksum.
MLD_FLOODER = r"""
import socket, struct, sys
ifname, groups_file = sys.argv[1], sys.argv[2]
groups = [socket.inet_pton(socket.AF_INET6, g) for g in open(groups_file).read().split()]
s = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex(ifname))
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 1)
# Hop-by-hop: next header (filled by the kernel), length 0, Router Alert
# (type 5, length 2, value 0 = MLD), PadN of 0.
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_HOPOPTS, bytes([0, 0, 5, 2, 0, 0, 1, 0]))
sent = 0
for i in range(0, len(groups), 60):
    chunk = groups[i:i + 60]
    body = b"".join(struct.pack("!BBH", 4, 0, 0) + g for g in chunk)
    s.sendto(struct.pack("!BBHHH", 143, 0, 0, 0, len(chunk)) + body, ("ff02::16", 0, 0, socket.if_nametoindex(ifname)))
    sent += len(chunk)
print(sent, flush=True)
"""


class Headend:
    """The router with joincastd and listener hosts on its bridge."""

    def __init__(self, lab: Lab, listeners: tuple[str, ...] = ("l1", "l2"), snooping: int = 0):
        self.lab = lab
        self.router = lab.netns("router")
        self.listeners: dict[str, Netns] = {}
        ports = []
        for i, name in enumerate(listeners, start=1):
            ns = lab.netns(name)
            lab.veth(self.router, f"p{i}", ns, "eth0")
            ports.append(f"p{i}")
            self.listeners[name] = ns
        lab.bridge(self.router, "br0", ports, mcast_snooping=snooping)
        lab.addr(self.router, "br0", "2001:db8:1::1/64")
        lab.addr(self.router, "br0", "10.0.0.1/24")
        for i, ns in enumerate(self.listeners.values(), start=1):
            self.host(ns, "eth0", 10 + i)
        self.pins = lab.bpffs() / "joincast"

    @staticmethod
    def host(ns: Netns, ifname: str, n: int, net6: str = "2001:db8:1", net4: str = "10.0.0") -> None:
        """Addresses for a listener host; IPv4 multicast it sends (RTCP
        receiver reports) needs a route, IPv6 has ff00::/8 already."""
        ns.lab.addr(ns, ifname, f"{net6}::{n}/64")
        ns.lab.addr(ns, ifname, f"{net4}.{n}/24")
        ns.run("ip", "route", "add", "224.0.0.0/4", "dev", ifname)

    def daemon(self, cfg: str, name: str = "joincastd") -> Daemon:
        return Daemon(self.lab, self.router, cfg, name=name)


# Runs in a namespace: decodes what arrives on an interface (AF_PACKET, so
# whoever joined what) and keeps, per multicast group: RTP to 5004 (count,
# per SSRC: packets, sequence gaps, first/last arrival, largest silence,
# and each break — a gap in sequence numbers or of over 300 ms — with how far
# the sequence number, the timestamp and the clock moved across it),
# RTCP to 5005, and each SAP message to 9875 (time, deletion flag, message
# id hash, origin, SDP). Prints a JSON object on "dump\n", stops on
# anything else. Times are time.monotonic(), the same clock as the test's.
_COUNTER_CODE = r"""
import json, select, socket, struct, sys, time
ifname = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
s.bind((ifname, 0))
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
groups = {}
def entry(dst):
    return groups.setdefault(dst, {"rtp": 0, "rtcp": 0, "ssrcs": {}, "sap": [], "rtp_first": None, "rtp_last": None})
def rtp(e, body, now):
    if len(body) < 12 or body[0] >> 6 != 2:
        return
    pt = body[1] & 0x7f
    if 72 <= pt <= 76:  # RTCP on the RTP port: not media
        return
    seq, ts, ssrc = struct.unpack("!HII", body[2:12])
    e["rtp"] += 1
    e["rtp_first"] = e["rtp_first"] or now
    e["rtp_last"] = now
    k = "%08x" % ssrc
    x = e["ssrcs"].get(k)
    if x is None:
        e["ssrcs"][k] = {"packets": 1, "pt": pt, "gaps": 0, "first": now, "last": now, "max_silence": 0.0, "seq": seq,
                         "ts": ts, "breaks": []}
        return
    x["packets"] += 1
    if seq != (x["seq"] + 1) & 0xffff:
        x["gaps"] += 1
    if (seq != (x["seq"] + 1) & 0xffff or now - x["last"] > 0.3) and len(x["breaks"]) < 32:
        # A gap in numbers or in time: how far each moved.
        x["breaks"].append({"t": now, "dseq": (seq - x["seq"]) & 0xffff, "dts": (ts - x["ts"]) & 0xffffffff,
                            "dt": now - x["last"]})
    x["seq"] = seq
    x["ts"] = ts
    x["max_silence"] = max(x["max_silence"], now - x["last"])
    x["last"] = now
def sap(e, body, now, v6):
    if len(body) < 4:
        return
    flags, auth = body[0], body[1]
    a = bool(flags & 0x10)
    olen = 16 if a else 4
    origin = socket.inet_ntop(socket.AF_INET6 if a else socket.AF_INET, body[4:4 + olen])
    rest = body[4 + olen + auth * 4:]
    if rest.startswith(b"application/sdp\0"):
        rest = rest[16:]
    e["sap"].append({"t": now, "delete": bool(flags & 0x04), "hash": struct.unpack("!H", body[2:4])[0],
                     "origin": origin, "sdp": rest.decode("utf-8", "replace")})
print("ready", flush=True)
while True:
    r, _, _ = select.select([s, sys.stdin], [], [])
    if s in r:
        data, addr = s.recvfrom(65535)
        now = time.monotonic()
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        etype = struct.unpack("!H", data[12:14])[0]
        off = 14
        if etype == 0x8100:
            etype = struct.unpack("!H", data[16:18])[0]
            off = 18
        if etype == 0x0800:
            ihl = (data[off] & 15) * 4
            if data[off + 9] != 17:
                continue
            dst = socket.inet_ntop(socket.AF_INET, data[off + 16:off + 20])
            udp = data[off + ihl:]
            v6 = False
        elif etype == 0x86dd:
            if data[off + 6] != 17:
                continue
            dst = socket.inet_ntop(socket.AF_INET6, data[off + 24:off + 40])
            udp = data[off + 40:]
            v6 = True
        else:
            continue
        if len(udp) < 8:
            continue
        dport = struct.unpack("!H", udp[2:4])[0]
        body = udp[8:]
        if dport == 5004:
            rtp(entry(dst), body, now)
        elif dport == 5005:
            entry(dst)["rtcp"] += 1
        elif dport == 9875:
            sap(entry(dst), body, now, v6)
    if sys.stdin in r:
        line = sys.stdin.readline()
        print(json.dumps(groups), flush=True)
        if line.strip() != "dump":
            break
"""


class WireCounter:
    """What reaches one interface of a namespace, decoded (see above)."""

    def __init__(self, ns: Netns, ifname: str = "eth0"):
        self.ns = ns
        self.ifname = ifname
        self.proc = ns.spawn(sys.executable, "-c", _COUNTER_CODE, ifname, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        line = self.proc.stdout.readline()
        if line.strip() != "ready":
            raise AssertionError(f"wire counter on {ns.short}/{ifname} failed: {line!r} {self.proc.stderr.read()}")

    def snapshot(self) -> dict:
        if self.proc.poll() is not None:
            raise AssertionError(f"wire counter on {self.ns.short} exited: {self.proc.stderr.read()}")
        self.proc.stdin.write("dump\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def group(self, group: str) -> dict:
        return self.snapshot().get(group, {"rtp": 0, "rtcp": 0, "ssrcs": {}, "sap": [], "rtp_first": None,
                                           "rtp_last": None})

    def rtp(self, group: str) -> int:
        return self.group(group)["rtp"]

    def total_rtp(self) -> int:
        return sum(g["rtp"] for g in self.snapshot().values())

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("stop\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)


def restart_jumps_only(x: dict, restarts: int) -> bool:
    """An SSRC's record (WireCounter) whose every sequence gap is one a
    kill -9 restart makes: the stream keeps its SSRC and continues from its
    sequence reservation, so it jumps ahead by more than half and at most
    all of the reserved 512 numbers (docs/sessions.md). A lost packet
    would be a small jump; at most one jump per restart."""
    jumps = [b for b in x["breaks"] if b["dseq"] != 1]
    return (x["gaps"] == len(jumps) <= restarts and all(256 < b["dseq"] <= 513 for b in jumps))


def rtp_growing(counter: WireCounter, group: str, timeout: float = 10, what: str = "") -> int:
    """Waits until RTP for group keeps arriving (the count grows); returns it."""
    first = counter.rtp(group)
    wait_until(lambda: counter.rtp(group) > first + 5, timeout,
               what or f"RTP for {group} at {counter.ns.short}", interval=0.1)
    return counter.rtp(group)


def rtp_silent(counter: WireCounter, group: str | None = None, seconds: float = 1.5) -> None:
    """Asserts that no RTP (for group, or for any group) arrives for a while."""
    count = (lambda: counter.rtp(group)) if group else counter.total_rtp
    before = count()
    time.sleep(seconds)
    after = count()
    assert after == before, f"{after - before} RTP packets reached {counter.ns.short} in {seconds}s " \
                            f"({group or 'any group'}): the stream still runs"


def start(d: Daemon) -> Daemon:
    """Starts joincastd and waits until it answers on its control socket
    (Daemon.start waits for the socket file, which a killed daemon leaves
    behind)."""
    d.start(wait=False)

    def answers():
        if d.proc.poll() is not None:
            raise AssertionError(f"joincastd exited with {d.proc.returncode}:\n{d.log()[-3000:]}")
        try:
            return d.request({"cmd": "status"}).get("ok")
        except (OSError, ValueError):
            return False
    wait_until(answers, 20, "joincastd to answer on its control socket", interval=0.05)
    return d


def sessions(d: Daemon) -> dict[str, dict]:
    """`joincast sessions --json`, by group."""
    return {s["group"]: s for s in d.cli("sessions")["sessions"]}


def wait_state(d: Daemon, group: str, state: str | None, timeout: float = 10) -> dict | None:
    """Waits until the group's session has `state` (None: no session at all)."""
    def check():
        s = sessions(d).get(group)
        if state is None:
            return ("gone",) if s is None else None
        return s if s and s["state"] == state else None
    got = wait_until(check, timeout, f"session {group} to be {state or 'gone'}", interval=0.1)
    return None if state is None else got


def listeners(d: Daemon, group: str) -> int:
    for g in d.cli("groups")["groups"]:
        if g["group"] == group:
            return g["listeners"]
    return 0


def ffprobe(ns: Netns, group: str, timeout: float = 30) -> tuple[set[str], float, str]:
    """A real client: `ffprobe sap://GROUP` joins the group (that join is a
    listener like any other), waits for the SAP announcement and probes the
    RTP it describes. Returns the codec names, the seconds it took, and the
    stream's JSON."""
    url = f"sap://[{group}]" if ":" in group else f"sap://{group}"
    t0 = time.monotonic()
    p = ns.spawn("ffprobe", "-v", "error", "-show_streams", "-of", "json", url, stdout=subprocess.PIPE,
                 stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        raise AssertionError(f"ffprobe {url} found nothing in {timeout}s: {err.strip()}")
    took = time.monotonic() - t0
    if p.returncode != 0:
        raise AssertionError(f"ffprobe {url} failed ({p.returncode}): {err.strip()}")
    streams = json.loads(out).get("streams", [])
    return {s.get("codec_name") for s in streams}, took, out


def metrics_text(d: Daemon, address: str) -> str:
    """GET /metrics from inside the daemon's namespace."""
    return d.ns.run(sys.executable, "-c",
                    f"import urllib.request;print(urllib.request.urlopen('http://{address}/metrics', timeout=5)"
                    ".read().decode())")


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample of a Prometheus text exposition; labels as written, e.g.
    'kind="limit"'."""
    want = f"{name}{{{labels}}}" if labels else name
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        key, _, value = line.rpartition(" ")
        if key == want:
            return float(value)
    raise AssertionError(f"metric {want} not found in:\n{text}")


__all__ = ["Lab", "Daemon", "Netns", "log", "wait_until", "JOINCAST", "JOINCASTD", "PREFIX", "group6", "TONE_MP3",
           "TONE_1K", "TONE_AAC", "TONE_OPUS", "config", "Headend", "WireCounter", "rtp_growing", "rtp_silent",
           "start", "sessions", "wait_state", "listeners", "ffprobe", "metrics_text", "metric"]
