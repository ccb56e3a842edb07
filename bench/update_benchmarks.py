#!/usr/bin/env python3
"""update_benchmarks.py — replaces one benchmark's section of BENCHMARKS.md.

Each benchmark owns the text between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; running it rewrites only that section (appending it
if new), so benchmarks never overwrite each other's results.

    python3 bench/update_benchmarks.py NAME < section.md
"""
import sys
from pathlib import Path

HEADER = """# Benchmarks

Every figure here is measured against a baseline run in the same
invocation, on the same machine, and reported as a ratio; absolute numbers
are given for context only. Each section names the command that produced it.
`scripts/bench.sh` reruns all of them.
"""


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    name = sys.argv[1]
    body = sys.stdin.read().strip("\n")
    path = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"
    text = path.read_text() if path.exists() else HEADER
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
