#!/usr/bin/env python3
"""update_benchmarks.py — replaces one benchmark's section of BENCHMARKS.md.

Each benchmark owns the text between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; running it rewrites only that section (appending it
if new), so benchmarks never overwrite each other's results. The text before
the first section is rewritten from HEADER (the failure policy); a section
must name the commit it measured.

    python3 bench/update_benchmarks.py NAME < section.md
"""
import re
import sys
from pathlib import Path

HEADER = """# Benchmarks

Every figure here is measured against a baseline run in the same
invocation, on the same machine, and reported as a ratio; absolute numbers
are given for context only. Each section names the command that produced it
and opens with the commit and the day it was measured at (`Commit: abc1234,
YYYY-MM-DD`; `-dirty` if the tree had uncommitted changes).
`scripts/bench.sh` reruns all of them.

**Failure policy** (every `ctest -L bench` entry, which runs a bench's short
mode): a bench fails only on a ratio measured in that same run against its
baseline, when the ratio crosses its limit; each limit leaves a wide margin
from what the bench measures (see its section), so a shared 2-core machine
under other work does not trip it. Absolute targets (ms, % of a core, MB) are printed, met or
missed, and never fail a run. The limits (bench/checks.py,
bench/membership/membership_bench.cpp):

| bench | ratio that fails the ctest | limit |
|---|---|---|
| membership | membership program / empty program, each packet that is not membership | ≤ 2× (target 1.5×) |
| routes | smcrouted / joincastd, loading the routes of a 5,000-line smcroute.conf | ≥ 1× |
| media | ffmpeg / joincast at 10 sessions: CPU, PSS; start to first packet, ffmpeg spawn / joincast file source | ≥ 1× each |
| e2e | FFmpeg SAP muxer / joincast, time to playable, each source and way of joining | ≥ 1× each |
| mdns | avahi reflector / joincastd: query→answer latency; CPU per carried question | ≥ 0.5×; ≥ 0.75× |
| ssdp | SSDP program / empty program, each packet that is not SSDP; per relayed packet, joincastd / nft dup; userspace relay / joincastd | ≤ 2× (target 1.1×); ≤ 3× (target 1.5×); ≥ 1.2× |
"""


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    name = sys.argv[1]
    body = sys.stdin.read().strip("\n")
    if not re.search(r"Commit: [0-9a-f]{7,}", body):
        print(f"update_benchmarks: the {name} section names no commit (`Commit: abc1234, date`, "
              "bench/measured_at.py)", file=sys.stderr)
        return 1
    path = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else HEADER
    # The header (what the figures are, the failure policy) is this file's:
    # everything before the first section is rewritten from it.
    first = text.find("<!-- bench:")
    text = HEADER + ("\n" + text[first:] if first >= 0 else "")
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    section = f"{begin}\n{body}\n{end}"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = head + section + tail
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
