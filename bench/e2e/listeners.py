#!/usr/bin/env python3
"""listeners.py — what listeners and their networks see (issue 14), timed:
leave → last RTP on the departed host's bridge port, restart → RTP again,
a player's start → an announcement on the well-known SAP group, and an
Icecast title change → the SDP's `i=`.

Each figure comes from the netns test that guards the behaviour, run
--reps times (default 5) with JOINCAST_RECORD set: the test asserts its
bound and records what it measured (netlab.record), and this script
reports the medians, each beside its reference measured in the same run
(the last-member-query bound, the stream's own interruption, RFC 2974's
periodic interval, a plain ICY client of the same mount). It has no ctest
entry of its own: those four tests are ctest entries, asserting the
bounds. --write replaces the `e2e-listeners` section of BENCHMARKS.md.

    bench/e2e/run.sh --full --write    # runs this after the time to playable
    python3 bench/e2e/listeners.py [--reps N] [--write]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))
from measured_at import measured_at  # noqa: E402

TESTS = {
    "prune": "tests/netns/membership/test_membership_prune.py",
    "restart": "tests/netns/sessions/test_e2e_restart_players.py",
    "sap": "tests/netns/sessions/test_e2e_sap_join.py",
    "title": "tests/netns/sessions/test_icecast_sdp.py",
}
SKIP = 77


def run(reps: int) -> list[dict]:
    records: list[dict] = []
    env = dict(os.environ)
    env.setdefault("JOINCAST_SOURCE_DIR", str(ROOT))
    env.setdefault("JOINCAST_BUILD_DIR", str(ROOT / "build"))
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    netns = ROOT / "tests" / "netns"  # as tests/CMakeLists.txt sets it for the netns tests
    env["PYTHONPATH"] = ":".join(str(p) for p in (netns, netns / "catalogue", netns / "lan"))
    for i in range(reps):
        for name, script in TESTS.items():
            with tempfile.NamedTemporaryFile("r", suffix=".jsonl") as f:
                env["JOINCAST_RECORD"] = f.name
                p = subprocess.run([sys.executable, "-u", str(ROOT / script)], env=env, capture_output=True,
                                   text=True)
                if p.returncode != 0:
                    sys.stderr.write(p.stdout[-4000:] + p.stderr[-4000:])
                    raise SystemExit(f"listeners: {script} failed ({p.returncode}) in round {i + 1}")
                got = [json.loads(line) for line in f.read().splitlines() if line.strip()]
            if not got:
                raise SystemExit(f"listeners: {script} recorded nothing (JOINCAST_RECORD)")
            for r in got:
                r["round"] = i
            records += got
            print(f"{i + 1}/{reps} {name}: " + ", ".join(f"{r['measure']} {r['value']:.0f}" for r in got), flush=True)
    return records


def med(xs: list[float]) -> str:
    if not xs:
        return "–"
    return f"{statistics.median(xs):.0f} ms ({min(xs):.0f}–{max(xs):.0f})"


def report(records: list[dict], reps: int, command: str) -> str:
    def values(measure: str, key: str = "value", **match) -> list[float]:
        return [r[key] for r in records
                if r["measure"] == measure and all(r.get(k) == v for k, v in match.items())]

    lines = [measured_at(), "",
             f"`{command}` — {os.cpu_count()} cores, Linux {os.uname().release}, load average "
             f"{os.getloadavg()[0]:.2f} at the end (a shared machine). Medians of {reps} runs of each test "
             "(range in brackets); each figure is recorded by the netns test that asserts its bound "
             "(`netlab.record`), so the bench and the guard measure the same thing.", ""]

    lines += ["**Leave → last RTP on the departed host's port** (tests/netns/membership/test_membership_prune.py): "
              "a bridge with the kernel's default snooping between the router and three hosts, the kernel's own "
              "reports forced to each version; from h1's leave (the test's `leave()`) to the last RTP packet "
              "on h1's wire. Reference: the last-member-query time + 100 ms (2 × 300 ms + 100 ms), "
              "the bound the test asserts; without the group-specific queries the bridge forwards until its "
              "membership timer, 260 s.", "",
              "| host | leave → last RTP | bound | met |", "|---|---:|---:|---|"]
    for variant in ("IGMPv3", "MLDv2", "IGMPv2", "MLDv1"):
        xs = values("leave_to_last_rtp_ms", variant=variant)
        bound = values("leave_to_last_rtp_ms", "bound_ms", variant=variant)
        ok = xs and max(xs) <= bound[0]
        lines.append(f"| {variant} | {med(xs)} | {bound[0]:.0f} ms | {'yes' if ok else 'no'} |" if xs
                     else f"| {variant} | – | – | – |")

    lines += ["", "**Restart → RTP again** (tests/netns/sessions/test_e2e_restart_players.py): ffmpeg and "
              "GStreamer playing the MP3 tone through joincast's SDP while joincastd is restarted; the gap is "
              "the last RTP packet before the stop to the first after the start, on the listener's wire: the "
              "audio of that time is not sent (a player hears a gap of that length, then the stream goes on); it includes the test's own 0.5 s pause between the stop and the start. "
              "The same SSRC continues, its timestamp in step with the clock, and both players keep decoding "
              "(asserted by the test). Sequence numbers skipped: after SIGTERM none; after kill -9 the stream "
              "resumes from its persisted reservation (at most 512 ahead), which a receiver counts as lost "
              "packets.", "",
              "| restart | gap on the wire | sequence numbers skipped (median) |", "|---|---:|---:|"]
    for sig, what in (("SIGTERM", "SIGTERM + start (`systemctl restart`)"), ("SIGKILL", "kill -9 + start")):
        xs = values("restart_gap_ms", signal=sig)
        lost = values("restart_gap_ms", "lost_packets", signal=sig)
        lines.append(f"| {what} | {med(xs)} | {statistics.median(lost):.0f} |" if xs else f"| {what} | – | – |")

    listed = values("vlc_start_to_listed_ms")
    sap = values("vlc_start_to_well_known_sap_ms")
    lines += ["", "**A player's start → the running stream announced on the well-known SAP group** "
              "(tests/netns/sessions/test_e2e_sap_join.py): VLC (`--services-discovery sap`) started on a "
              "host while a stream has been running; it joins ff0e::2:7ffe and joincast announces the "
              "running sessions there at once. Reference: the periodic announcement there, which RFC 2974 "
              "§3.1 spaces at least 300 s (`sap_well_known_floor`), so on average 150 s after a random start: a figure "
              "computed from the floor, not measured (the test sets the floor to an hour so that only the join "
              "can explain an announcement).",
              "", "| from VLC's start | joincast | periodic only: RFC 2974 floor, mean wait (computed, not measured) "
              "| ratio (to the computed wait) |",
              "|---|---:|---:|---:|"]
    if sap:
        lines.append(f"| → first announcement on ff0e::2:7ffe | {med(sap)} | 150000 ms | "
                     f"{150000 / statistics.median(sap):.0f}× |")
    if listed:
        lines.append(f"| → VLC lists the stream (target < 2000 ms) | {med(listed)} | 150000 ms | "
                     f"{150000 / statistics.median(listed):.0f}× |")

    title = values("title_to_sdp_ms")
    icy = values("title_to_sdp_ms", "icy_client_ms")
    lines += ["", "**Icecast title change → `i=`** (tests/netns/sessions/test_icecast_sdp.py): a real Icecast2 "
              "with its default burst-size (64 kB) on the router's loopback, fed by ffmpeg; from the admin "
              "request (`/admin/metadata?mode=updinfo`, sent by a Python process the test starts) to the SAP "
              "announcement carrying the new title on the listener's wire. Baseline, the same change in the "
              "same run: a plain ICY client of the mount (Icy-MetaData: 1) reading as fast as it can, from the "
              "same request to the StreamTitle in its stream. Two title changes per run.", "",
              "| | joincast `i=` | plain ICY client (baseline) | joincast − baseline (median of the per-change "
              "differences) | target |",
              "|---|---:|---:|---:|---|"]
    if title:
        extra = statistics.median([t - c for t, c in zip(title, icy)])
        target = "< 1000 ms: " + ("met" if statistics.median(title) < 1000 else "missed")
        lines.append(f"| title change | {med(title)} | {med(icy)} | {extra:.0f} ms | {target} |")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("bench/e2e/listeners.py needs root (network namespaces)", file=sys.stderr)
        return SKIP
    records = run(args.reps)
    command = "python3 bench/e2e/listeners.py" + (f" --reps {args.reps}" if args.reps != 5 else "") + \
        (" --write" if args.write else "")
    text = "## e2e: what listeners and their networks see\n\n" + report(records, args.reps, command)
    print(text)
    if args.write:
        subprocess.run([sys.executable, str(ROOT / "bench" / "update_benchmarks.py"), "e2e-listeners"], input=text,
                       text=True, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
