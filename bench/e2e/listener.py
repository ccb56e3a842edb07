#!/usr/bin/env python3
"""listener.py — the listener host of the end-to-end benchmark.

Runs inside the listener's namespace and takes JSON lines on stdin:

  {"cmd": "probe", "group": G, "args": [...], "hold": true}
      starts `ffprobe ARGS sap://[G]` (its SAP socket's join is the
      listener's join: the kernel sends the MLD report when ffprobe opens
      it) and waits for it to exit. With "hold", a second socket joins G
      as soon as the kernel shows the group joined (/proc/net/igmp6), so
      the host stays a listener after ffprobe exits, without a join of its
      own (the kernel reports a group once per interface).
      With "join_first", a socket joins G first and ffprobe is started
      right after it: the join and the player start at the same moment,
      and ffprobe's own socket joins a group the host is in already (no
      report of its own).
      -> {"t_start", "t_spawn", "t_joined", "t_exit" (CLOCK_REALTIME ns), "rc", "out", "err"}
  {"cmd": "leave"}  closes the held socket (the kernel sends the leave)
      -> {"t_leave"}
  {"cmd": "quit"}

Times are taken right before the fork and right after the exit, on the
same clock as wire.py's kernel timestamps.
"""

import json
import socket
import struct
import subprocess
import sys
import time


def igmp6_has(group: str) -> bool:
    want = socket.inet_pton(socket.AF_INET6, group).hex()
    with open("/proc/net/igmp6") as f:
        return any(line.split()[2] == want for line in f if len(line.split()) > 2)


def join(group: str) -> socket.socket:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    mreq = socket.inet_pton(socket.AF_INET6, group) + struct.pack("@I", 0)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq)
    return s


def main() -> int:
    held = None
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "probe":
            group = req["group"]
            t_start = time.time_ns()
            if req.get("join_first"):
                if held:
                    held.close()
                held = join(group)
            t_spawn = time.time_ns()
            p = subprocess.Popen(["ffprobe", *req["args"], f"sap://[{group}]"], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            t_joined = None
            if req.get("hold") and not req.get("join_first"):
                while p.poll() is None and not igmp6_has(group):
                    time.sleep(0.0005)
                t_joined = time.time_ns()
                if held:
                    held.close()
                held = join(group)
            try:
                out, err = p.communicate(timeout=req.get("timeout", 30))
            except subprocess.TimeoutExpired:
                p.kill()
                out, err = p.communicate()
                err += "\n(ffprobe killed: no answer within the timeout)"
            t_exit = time.time_ns()
            print(json.dumps({"t_start": t_start, "t_spawn": t_spawn, "t_joined": t_joined, "t_exit": t_exit, "rc": p.returncode,
                              "out": out, "err": err[-4000:]}), flush=True)
        elif req["cmd"] == "leave":
            t = time.time_ns()
            if held:
                held.close()
                held = None
            print(json.dumps({"t_leave": t}), flush=True)
        elif req["cmd"] == "quit":
            break
    return 0


if __name__ == "__main__":
    sys.exit(main())
