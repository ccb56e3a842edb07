"""The SSDP tests' shared lab: a router namespace with two bridges, int0
(the wired network, UPnP devices) and ext0 (the Wi-Fi, control points),
routing IPv4 between them, a minidlna media server on int0's side and a
searcher on ext0's side; and the small programs the tests run in those
namespaces (a searcher that reports every unicast answer it gets)."""

import json
import subprocess
import sys

from lab import Lab, Netns, wait_until

# Sends one M-SEARCH from a bound address (as a Sonos app does: broadcast
# or multicast, TTL 1) and prints every datagram that comes back to that
# socket as a JSON line: who sent it, with what TTL, its start line and
# headers; then "done".
SEARCHER = r"""
import json, socket, sys, time
src, dst, st, wait = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
s.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL (Linux; not in the socket module)
s.bind((src, 0))
s.sendto(("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\n"
          "ST: %s\r\nUSER-AGENT: Linux UPnP/1.0 Sonos/70.3-35220 (ACR_joincast)\r\n\r\n" % st).encode(), (dst, 1900))
deadline = time.monotonic() + wait
while True:
    left = deadline - time.monotonic()
    if left <= 0: break
    s.settimeout(left)
    try: data, anc, _, addr = s.recvmsg(65535, socket.CMSG_SPACE(4))
    except socket.timeout: break
    ttl = next((int.from_bytes(d[:4], sys.byteorder) for l, t, d in anc if t == socket.IP_TTL), None)
    text = data.decode("latin-1")
    head, _, _ = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {k.strip().upper(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    print(json.dumps({"src": addr[0], "sport": addr[1], "ttl": ttl, "start": lines[0], "headers": headers}), flush=True)
print("done", flush=True)
"""


def search(ns: Netns, src: str, dst: str, st: str, wait: float = 3) -> list[dict]:
    """The answers a searcher at src gets to one M-SEARCH sent to dst."""
    out = ns.run(sys.executable, "-c", SEARCHER, src, dst, st, str(wait), timeout=wait + 30)
    lines = out.strip().splitlines()
    assert lines and lines[-1] == "done", out
    return [json.loads(line) for line in lines[:-1]]


def sonos_lab(lab: Lab, net: str, more_int0: tuple[str, ...] = ()):
    """router (int0 = net.1.1/24, ext0 = net.2.1/24, forwarding IPv4 in its
    own namespace only), dev at net.1.10 on int0, ctl at net.2.10 on ext0,
    each with a default route through the router; bridge ports pi and pe.
    more_int0: further hosts on int0 (net.1.20, .21, ...), returned after
    the three."""
    router, dev, ctl = lab.netns("router"), lab.netns("dev"), lab.netns("ctl")
    more = [lab.netns(short) for short in more_int0]
    lab.veth(router, "pi", dev, "eth0")
    lab.veth(router, "pe", ctl, "eth0")
    for i, host in enumerate(more):
        lab.veth(router, f"pi{i}", host, "eth0")
    lab.bridge(router, "int0", ["pi"] + [f"pi{i}" for i in range(len(more))])
    lab.bridge(router, "ext0", ["pe"])
    lab.addr(router, "int0", f"{net}.1.1/24")
    lab.addr(router, "ext0", f"{net}.2.1/24")
    lab.addr(dev, "eth0", f"{net}.1.10/24")
    lab.addr(ctl, "eth0", f"{net}.2.10/24")
    for i, host in enumerate(more):
        lab.addr(host, "eth0", f"{net}.1.{20 + i}/24")
    for host in [dev] + more:
        host.run("ip", "route", "add", "default", "via", f"{net}.1.1")
    ctl.run("ip", "route", "add", "default", "via", f"{net}.2.1")
    router.sysctl("net.ipv4.ip_forward", 1)
    return (router, dev, ctl, *more)


def start_minidlna(lab: Lab, ns: Netns, notify_interval: int = 5) -> subprocess.Popen:
    """minidlna (a real UPnP media server) on ns's eth0, HTTP on 8200, its
    log (debug: it logs each M-SEARCH it answers) in lab.tmp/minidlna/out."""
    media = lab.tmp / "minidlna"
    for sub in ("media", "db", "log"):
        (media / sub).mkdir(parents=True, exist_ok=True)
    conf = media / "minidlna.conf"
    conf.write_text(f"media_dir=V,{media}/media\ndb_dir={media}/db\nlog_dir={media}/log\n"
                    "network_interface=eth0\nport=8200\nfriendly_name=joincast-ssdp-test\n"
                    f"inotify=no\nnotify_interval={notify_interval}\n")
    out = open(media / "out", "w")
    dlna = ns.spawn("minidlnad", "-f", str(conf), "-P", str(media / "pid"), "-S", "-d",
                    stdout=out, stderr=subprocess.STDOUT)
    wait_until(lambda: "LISTEN" in ns.run("ss", "-ltn", "sport", "= :8200") or dlna.poll() is not None, 20,
               "minidlna to listen on 8200")
    assert dlna.poll() is None, "minidlnad exited:\n" + (media / "out").read_text()
    return dlna


def minidlna_log(lab: Lab) -> str:
    path = lab.tmp / "minidlna" / "out"
    return path.read_text() if path.exists() else ""


def stop(p: subprocess.Popen) -> None:
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
