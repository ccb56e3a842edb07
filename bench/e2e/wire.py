#!/usr/bin/env python3
"""wire.py — what the end-to-end benchmark sees on the wire.

Runs inside a namespace with an AF_PACKET socket on one interface and
prints one JSON line per packet of interest, stamped by the kernel
(SO_TIMESTAMPNS, CLOCK_REALTIME nanoseconds) when the packet passed the
interface:

  {"t": ns, "kind": "mld", "src": "fe80::…", "records": [[type, group], …]}
  {"t": ns, "kind": "sap", "group": G, "deletion": false, "hash": 1234, "sdp": "v=0…"}
  {"t": ns, "kind": "rtp", "group": G, "first": true}

MLDv2 reports (ICMPv6 143, behind the Hop-by-Hop header) with their
records; SAP (UDP 9875) with the T bit, the message id hash and the SDP;
RTP (UDP 5004) only for the first packet of a burst (none to that group
for a quarter of a second before), so a stream's start is visible without a line
per packet.

With --tcp-port P (IPv4, e.g. on lo towards a local HTTP server), also
each connection to port P: its SYN and the server's first two segments
that carry data (the response head, then the first body bytes):

  {"t": ns, "kind": "tcp", "conn": "127.0.0.1:40000", "what": "syn"}
  {"t": ns, "kind": "tcp", "conn": "…", "what": "data", "n": 1, "len": 299, "head": "HTTP/1.0 200 OK"}

    wire.py [--tcp-port P] IFNAME...
"""

import json
import select
import socket
import struct
import sys

ETH_P_ALL = 0x0003
SO_TIMESTAMPNS = 35
RTP_GAP_NS = 250_000_000


def ip6(b: bytes) -> str:
    return socket.inet_ntop(socket.AF_INET6, b)


def mld_records(p: bytes, off: int):
    # RFC 3810 §5.2: type 143, reserved, checksum, reserved, number of
    # records; each record: type, aux data len, number of sources, group,
    # sources, aux data.
    n = struct.unpack_from("!H", p, off + 6)[0]
    off += 8
    out = []
    for _ in range(n):
        if off + 20 > len(p):
            break
        rtype, aux, nsrc = struct.unpack_from("!BBH", p, off)
        out.append([rtype, ip6(p[off + 4:off + 20])])
        off += 20 + 16 * nsrc + 4 * aux
    return out


def sap(p: bytes):
    # RFC 2974 §3: V A R T E C, auth len, hash, origin, [auth], type\0, payload.
    if len(p) < 8 or (p[0] >> 5) != 1:
        return None
    deletion = bool(p[0] & 0x04)
    off = 4 + (16 if p[0] & 0x10 else 4) + 4 * p[1]
    body = p[off:]
    if body.startswith(b"application/sdp\0"):
        body = body[len(b"application/sdp\0"):]
    return deletion, struct.unpack_from("!H", p, 2)[0], body.decode("utf-8", "replace")


def tcp4(data: bytes, port: int, conns: dict):
    # Ethernet (lo has a zero one), IPv4, TCP towards or from port.
    ihl = (data[14] & 0x0F) * 4
    if data[23] != 6 or len(data) < 14 + ihl + 20:
        return None
    off = 14 + ihl
    sport, dport = struct.unpack_from("!HH", data, off)
    flags = data[off + 13]
    payload = data[off + (data[off + 12] >> 4) * 4:14 + struct.unpack_from("!H", data, 16)[0]]
    src = socket.inet_ntop(socket.AF_INET, data[26:30])
    dst = socket.inet_ntop(socket.AF_INET, data[30:34])
    if dport == port and flags & 0x02 and not flags & 0x10:  # SYN
        conn = f"{src}:{sport}"
        conns[conn] = 0
        return {"kind": "tcp", "conn": conn, "what": "syn"}
    conn = f"{dst}:{dport}"
    if sport == port and payload and conn in conns and conns[conn] < 2:
        conns[conn] += 1
        event = {"kind": "tcp", "conn": conn, "what": "data", "n": conns[conn], "len": len(payload)}
        if conns[conn] == 1:
            event["head"] = payload[:40].decode("latin-1").split("\r")[0]
        return event
    return None


def main() -> int:
    args = sys.argv[1:]
    tcp_port = None
    if args[:1] == ["--tcp-port"]:
        tcp_port, args = int(args[1]), args[2:]
    socks = []
    for ifname in args:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.bind((ifname, 0))
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        socks.append(s)
    last_rtp: dict[str, int] = {}
    conns: dict[str, int] = {}
    print(json.dumps({"ready": True}), flush=True)
    while True:
        ready, _, _ = select.select(socks, [], [])
        for s in ready:
            data, anc, _flags, addr = s.recvmsg(65536, 256)
            if addr[2] == socket.PACKET_OUTGOING and addr[0] == "lo":
                continue  # lo shows every packet twice: leaving and arriving
            t = 0
            for level, typ, value in anc:
                if level == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", value[:16])
                    t = sec * 1_000_000_000 + nsec
            event = None
            if tcp_port and len(data) >= 34 and data[12:14] == b"\x08\x00":
                event = tcp4(data, tcp_port, conns)
            elif len(data) >= 54 and data[12:14] == b"\x86\xdd":
                event = ipv6(data, t, last_rtp)
            if event:
                event["t"] = t
                print(json.dumps(event), flush=True)


def ipv6(data: bytes, t: int, last_rtp: dict):
    nh, off = data[20], 54
    src, dst = ip6(data[22:38]), ip6(data[38:54])
    if nh == 0 and off + 2 <= len(data):  # Hop-by-Hop (Router Alert)
        nh, off = data[off], off + (data[off + 1] + 1) * 8
    if nh == 58 and off < len(data) and data[off] == 143:
        return {"kind": "mld", "src": src, "records": mld_records(data, off)}
    if nh == 17 and off + 8 <= len(data):
        dport = struct.unpack_from("!H", data, off + 2)[0]
        payload = data[off + 8:]
        if dport == 9875:
            parsed = sap(payload)
            if parsed:
                return {"kind": "sap", "group": dst, "deletion": parsed[0], "hash": parsed[1], "sdp": parsed[2]}
        elif dport == 5004:
            before = last_rtp.get(dst)
            last_rtp[dst] = t
            if before is None or t - before > RTP_GAP_NS:
                return {"kind": "rtp", "group": dst, "first": True}
    return None


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (KeyboardInterrupt, BrokenPipeError):
        sys.exit(0)
