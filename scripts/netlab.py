"""netlab.py — network-namespace labs for joincast's tests, demo and
benchmarks (tests import it as `lab`, through tests/netns/lab.py).

A Lab creates namespaces with unique names (prefix + pid), veth pairs and
bridges inside them, runs and tracks processes in them, and removes all of
it on every exit path: normal return, exception, SIGTERM/SIGINT (ctest's
timeout), and interpreter exit. It never touches the host's own interfaces,
routes or sysctls; sysctls are set only inside the lab's namespaces.

    with Lab("membership") as lab:
        router = lab.netns("router")
        client = lab.netns("c1")
        lab.veth(router, "p1", client, "eth0")
        ...

Tests exit 77 (ctest SKIP_RETURN_CODE) only when the kernel lacks a
feature, via Lab.require_*; anything else that goes wrong is a failure.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SKIP = 77

SOURCE_DIR = Path(os.environ.get("JOINCAST_SOURCE_DIR", Path(__file__).resolve().parents[1]))
BUILD_DIR = Path(os.environ.get("JOINCAST_BUILD_DIR", SOURCE_DIR / "build"))
JOINCASTD = BUILD_DIR / "daemon" / "joincastd"
JOINCAST = BUILD_DIR / "tools" / "joincast"

_live_labs: list["Lab"] = []


def _cleanup_all(*_args):
    for lab in list(_live_labs):
        lab.close()


def _on_signal(signo, _frame):
    _cleanup_all()
    sys.exit(128 + signo)


atexit.register(_cleanup_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def record(measure: str, value: float, **labels) -> None:
    """A figure a test measured, for a benchmark that runs the test (e.g.
    bench/e2e/listener.sh): appended as one JSON line to the file that
    JOINCAST_RECORD names; nothing when it is unset. The test asserts its
    bound either way."""
    path = os.environ.get("JOINCAST_RECORD")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({"measure": measure, "value": value, **labels}) + "\n")


def require_tools(*tools: str) -> bool:
    """True when every tool is on PATH; otherwise says which are missing."""
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        print(f"not installed: {', '.join(missing)} (scripts/install-deps.sh installs them)", file=sys.stderr)
    return not missing


def stop_smcrouted(p: subprocess.Popen, timeout: float = 30) -> None:
    """SIGTERM smcrouted and wait for it. smcrouted checks its 'running'
    flag only before it sleeps in select(), so a SIGTERM that lands while
    it is busy (a reload, a kernel upcall) is noticed at its next timer, up
    to 20 s later. The signal is repeated until it exits; a second one
    interrupts the select()."""
    deadline = time.monotonic() + timeout
    while p.poll() is None and time.monotonic() < deadline:
        p.terminate()
        try:
            p.wait(0.5)
        except subprocess.TimeoutExpired:
            pass
    if p.poll() is None:
        p.kill()
        p.wait(10)


def wait_until(predicate, timeout: float, what: str, interval: float = 0.05):
    """Polls predicate until it returns a truthy value; fails with what."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Netns:
    def __init__(self, lab: "Lab", short: str, name: str):
        self.lab = lab
        self.short = short
        self.name = name

    def run(self, *cmd: str, check: bool = True, timeout: float = 60, input: str | None = None) -> str:
        return self.lab.run(["ip", "netns", "exec", self.name, *cmd], check=check, timeout=timeout, input=input)

    def spawn(self, *cmd: str, **kw) -> subprocess.Popen:
        return self.lab.spawn(["ip", "netns", "exec", self.name, *cmd], **kw)

    def sysctl(self, key: str, value) -> None:
        self.run("sysctl", "-qw", f"{key}={value}")

    def ifindex(self, ifname: str) -> int:
        return int(self.run("cat", f"/sys/class/net/{ifname}/ifindex").strip())

    def link_local(self, ifname: str) -> str:
        out = json.loads(self.run("ip", "-j", "-6", "addr", "show", "dev", ifname, "scope", "link"))
        for iface in out:
            for a in iface.get("addr_info", []):
                if a.get("family") == "inet6" and a.get("local", "").startswith("fe80:"):
                    return a["local"]
        raise AssertionError(f"{self.short}/{ifname} has no link-local address")

    def __repr__(self) -> str:
        return self.name


class Member:
    """A host's membership of a group, held by a real socket: the kernel
    sends the MLD/IGMP reports. leave() closes the socket (the kernel sends
    the leave); kill() ends the process without leaving."""

    def __init__(self, proc: subprocess.Popen, group: str):
        self.proc = proc
        self.group = group
        line = proc.stdout.readline()
        if line.strip() != "joined":
            raise AssertionError(f"join {group} failed: {line!r} {proc.stderr.read() if proc.stderr else ''}")

    def leave(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write("leave\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=10)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


# Runs inside a namespace: joins a group on an interface and holds it until
# told to leave on stdin (or stdin closes).
_MEMBER_CODE = r"""
import socket, struct, sys
group, ifname = sys.argv[1], sys.argv[2]
ifindex = socket.if_nametoindex(ifname)
if ":" in group:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", ifindex)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    # struct ip_mreqn: group, local address, ifindex
    mreq = socket.inet_aton(group) + socket.inet_aton("0.0.0.0") + struct.pack("@i", ifindex)
    s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
print("joined", flush=True)
sys.stdin.readline()
s.close()
"""


class Lab:
    def __init__(self, name: str):
        if os.geteuid() != 0:
            print("netns tests need root", file=sys.stderr)
            sys.exit(SKIP)
        self.prefix = f"jc-{name}-{os.getpid()}"
        self.namespaces: list[Netns] = []
        self.procs: list[subprocess.Popen] = []
        self.mounts: list[Path] = []
        self.tmp = Path(tempfile.mkdtemp(prefix=f"{self.prefix}-"))
        self.closed = False
        self.daemons: list["Daemon"] = []
        _live_labs.append(self)

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> "Lab":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            # What the daemons said is usually the explanation: show it
            # before the lab (and its logs) are removed.
            for d in self.daemons:
                lines = d.log().splitlines()
                print(f"--- last lines of {d.log_path.name} ({d.dir.name}) ---", file=sys.stderr)
                print("\n".join(lines[-80:]), file=sys.stderr)
        self.close()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    p.terminate()
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait(timeout=5)
                except Exception:
                    pass
        for ns in reversed(self.namespaces):
            subprocess.run(["ip", "netns", "del", ns.name], stderr=subprocess.DEVNULL)
        for m in reversed(self.mounts):
            subprocess.run(["umount", "-l", str(m)], stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self in _live_labs:
            _live_labs.remove(self)

    # -- processes ---------------------------------------------------------
    def run(self, cmd: list[str], check: bool = True, timeout: float = 60, input: str | None = None) -> str:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def spawn(self, cmd: list[str], stdout=None, stderr=None, stdin=None, text=True, env=None) -> subprocess.Popen:
        p = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, stdin=stdin, text=text, env=env)
        self.procs.append(p)
        return p

    # -- topology ----------------------------------------------------------
    def netns(self, short: str) -> Netns:
        name = f"{self.prefix}-{short}"
        self.run(["ip", "netns", "add", name])
        ns = Netns(self, short, name)
        self.namespaces.append(ns)
        ns.run("ip", "link", "set", "lo", "up")
        # Addresses usable at once: no duplicate address detection, so MLD
        # reports leave with a link-local source, not ::.
        ns.sysctl("net.ipv6.conf.all.accept_dad", 0)
        ns.sysctl("net.ipv6.conf.default.accept_dad", 0)
        # Quick unsolicited reports (defaults are 1 s apart).
        ns.sysctl("net.ipv6.conf.default.mldv2_unsolicited_report_interval", 100)
        ns.sysctl("net.ipv4.conf.default.igmpv3_unsolicited_report_interval", 100)
        ns.sysctl("net.ipv6.conf.all.mldv2_unsolicited_report_interval", 100)
        ns.sysctl("net.ipv4.conf.all.igmpv3_unsolicited_report_interval", 100)
        ns.sysctl("net.ipv6.conf.default.mldv1_unsolicited_report_interval", 100)
        ns.sysctl("net.ipv4.conf.default.igmpv2_unsolicited_report_interval", 100)
        return ns

    def delete_netns(self, ns: Netns) -> None:
        """Deletes a namespace the way a host vanishes: its links go first
        (a veth takes its peer with it), so nothing it does afterwards can
        reach the network; then its processes; then the namespace. A
        namespace is only destroyed once no process holds it, and a process
        that closes a member socket while the link is up would send a leave,
        which is not what a vanished host does."""
        links = json.loads(ns.run("ip", "-j", "link", "show"))
        for link in links:
            if link["ifname"] != "lo":
                ns.run("ip", "link", "del", link["ifname"], check=False)
        pids = ns.lab.run(["ip", "netns", "pids", ns.name], check=False).split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.run(["ip", "netns", "del", ns.name])
        self.namespaces.remove(ns)

    def veth(self, a: Netns, a_if: str, b: Netns, b_if: str, up: bool = True) -> None:
        a.run("ip", "link", "add", a_if, "type", "veth", "peer", "name", b_if, "netns", b.name)
        if up:
            a.run("ip", "link", "set", a_if, "up")
            b.run("ip", "link", "set", b_if, "up")

    def bridge(self, ns: Netns, name: str, ports: list[str], **options) -> None:
        """A Linux bridge; options are `ip link ... type bridge` settings,
        e.g. mcast_snooping=0, mcast_querier=1, mcast_mld_version=2."""
        args = ["ip", "link", "add", name, "type", "bridge"]
        for k, v in options.items():
            args += [k, str(v)]
        ns.run(*args)
        for p in ports:
            ns.run("ip", "link", "set", p, "master", name)
        ns.run("ip", "link", "set", name, "up")

    def addr(self, ns: Netns, ifname: str, cidr: str) -> None:
        extra = ["nodad"] if ":" in cidr else []
        ns.run("ip", "addr", "add", cidr, "dev", ifname, *extra)

    # -- bpffs -------------------------------------------------------------
    def bpffs(self) -> Path:
        """A private bpffs for this lab's pinned maps, in the host's mount
        namespace so that pins outlive the processes that made them."""
        path = self.tmp / "bpffs"
        path.mkdir(exist_ok=True)
        self.run(["mount", "-t", "bpf", "bpf", str(path)])
        self.mounts.append(path)
        return path

    # -- membership ----------------------------------------------------------
    def join(self, ns: Netns, group: str, ifname: str) -> Member:
        p = ns.spawn(sys.executable, "-c", _MEMBER_CODE, group, ifname,
                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        return Member(p, group)

    # -- feature checks ----------------------------------------------------
    @staticmethod
    def require_file(path: str, feature: str) -> None:
        if not os.path.exists(path):
            print(f"kernel lacks {feature} ({path} missing)", file=sys.stderr)
            sys.exit(SKIP)

    @staticmethod
    def require_multicast_routing() -> None:
        """For tests of what the kernel's multicast routing does (MFC, VIFs,
        upcalls, the mroute socket): a kernel built without CONFIG_IP_MROUTE
        and CONFIG_IPV6_MROUTE (some cloud and microVM kernels) cannot run
        them, and joincastd refuses a [routing] section there, saying so.
        On such a kernel the test runs again, whole, on Debian's kernel in
        a VM (scripts/vm.sh) when the machine can start one; else it skips.
        Call it before the test makes anything: the process is replaced."""
        if not Lab.has_multicast_routing() and not os.environ.get("JOINCAST_IN_VM"):
            vm = SOURCE_DIR / "scripts" / "vm.sh"
            if subprocess.run(["bash", str(vm), "--available"]).returncode == 0:
                print("kernel lacks multicast routing: running this test on Debian's kernel "
                      "in a VM (scripts/vm.sh)", file=sys.stderr, flush=True)
                sys.stdout.flush()
                os.execvp("bash", ["bash", str(vm), "--", sys.executable, *sys.orig_argv[1:]])
        Lab.require_file("/proc/net/ip_mr_vif", "IPv4 multicast routing (CONFIG_IP_MROUTE)")
        Lab.require_file("/proc/net/ip6_mr_vif", "IPv6 multicast routing (CONFIG_IPV6_MROUTE)")

    @staticmethod
    def has_multicast_routing() -> bool:
        return os.path.exists("/proc/net/ip_mr_vif") and os.path.exists("/proc/net/ip6_mr_vif")


class Daemon:
    """A joincastd in a namespace, with its own config, control socket and
    log file."""

    def __init__(self, lab: Lab, ns: Netns, config: str, name: str = "joincastd"):
        self.lab = lab
        self.ns = ns
        self.dir = lab.tmp / name
        self.dir.mkdir(exist_ok=True)
        self.socket = self.dir / "control.sock"
        self.config_path = self.dir / "joincast.toml"
        self.log_path = self.dir / "joincastd.log"
        self.config_path.write_text(
            config.replace("@SOCKET@", str(self.socket)).replace("@STATE@", str(self.dir / "state")))
        self.proc: subprocess.Popen | None = None
        self._log = None
        lab.daemons.append(self)

    def start(self, wait: bool = True, extra: tuple[str, ...] = (), log_level: str | None = "debug") -> "Daemon":
        """log_level None: no --log-level, daemon.log_level decides."""
        self._started_lines = self.log().count(" started, control socket ")
        self._log = open(self.log_path, "a")
        level = ("--log-level", log_level) if log_level else ()
        self.proc = self.ns.spawn(str(JOINCASTD), "--config", str(self.config_path), *level, *extra,
                                  stdout=self._log, stderr=subprocess.STDOUT)
        if wait:
            self.wait_started()
        return self

    def wait_started(self, timeout: float = 30) -> None:
        """Until joincastd says every module is up (the control socket opens
        before the modules start), or fails if it exits first."""
        lines_before = self._started_lines
        wait_until(lambda: self.proc.poll() is not None or self.log().count(" started, control socket ") > lines_before,
                   timeout, "joincastd to start")
        if self.proc.poll() is not None:
            raise AssertionError(f"joincastd exited with {self.proc.returncode}:\n{self.log()}")
        self._started_lines += 1

    def stop(self, sig=signal.SIGTERM, timeout: float = 10) -> int:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        rc = self.proc.returncode if self.proc else 0
        if self._log:
            self._log.close()
            self._log = None
        return rc

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def cli(self, *args: str, check: bool = True, json_out: bool = True, extra_env: dict | None = None):
        cmd = [str(JOINCAST), "--socket", str(self.socket)]
        if json_out:
            cmd.append("--json")
        cmd += list(args)
        r = subprocess.run(["ip", "netns", "exec", self.ns.name, *cmd], capture_output=True, text=True, timeout=30,
                           env={**os.environ, **(extra_env or {})})
        if check and r.returncode != 0:
            raise AssertionError(f"joincast {' '.join(args)} failed ({r.returncode}): {r.stderr.strip()}")
        if json_out and r.returncode == 0:
            return json.loads(r.stdout)
        return r

    def request(self, request: dict) -> dict:
        """One raw control-protocol request (docs/control-protocol.md)."""
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(str(self.socket))
        s.sendall((json.dumps(request) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
        s.close()
        return json.loads(buf)

    def watch(self, topics: list[str] | None = None) -> "Watch":
        return Watch(self.socket, topics)


class Watch:
    """A control-socket connection in watch mode: collects published events."""

    def __init__(self, path: Path, topics: list[str] | None):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(str(path))
        req = {"cmd": "watch"}
        if topics is not None:
            req["topics"] = topics
        self.sock.sendall((json.dumps(req) + "\n").encode())
        self.buf = b""
        self.events: list[dict] = []
        first = self._line(10)
        if not first or not first.get("ok"):
            raise AssertionError(f"watch refused: {first}")

    def _line(self, timeout: float):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return None
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def poll(self, timeout: float = 0.05) -> list[dict]:
        while True:
            e = self._line(timeout)
            if e is None:
                return self.events
            self.events.append(e)
            timeout = 0.01

    def mark(self) -> int:
        """Where the events received so far end: pass it as wait_for's since."""
        self.poll(0.01)
        return len(self.events)

    def wait_for(self, predicate, timeout: float, what: str, since: int | None = None) -> dict:
        """The first event matching predicate among those received after since
        (default: after this call starts). Pass since=mark() when several
        events are awaited in turn: one poll may read the later ones too."""
        deadline = time.monotonic() + timeout
        seen = len(self.events) if since is None else since
        while time.monotonic() < deadline:
            self.poll(min(0.2, max(0.01, deadline - time.monotonic())))
            for e in self.events[seen:]:
                if predicate(e):
                    return e
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; events: {self.events[seen:]}")

    def close(self) -> None:
        self.sock.close()
