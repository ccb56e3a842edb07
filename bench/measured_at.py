#!/usr/bin/env python3
"""measured_at.py — the line every benchmark section opens with: the
commit of the tree it measured and the day it ran,

    Commit: abc1234, 2026-12-02

The commit is `git rev-parse --short HEAD`, with `-dirty` when the tree has
changes that are not committed (BENCHMARKS.md itself excepted: the benches
rewrite it as they go). Imported by the Python benches; the shell ones run
`python3 bench/measured_at.py`.
"""
import datetime
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    try:
        head = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", ".", ":(exclude)BENCHMARKS.md")
    except (OSError, subprocess.CalledProcessError) as e:
        raise SystemExit(f"measured_at: no git commit for {ROOT}: {e}")
    return head + ("-dirty" if dirty else "")


def measured_at() -> str:
    return f"Commit: {commit()}, {datetime.datetime.now(datetime.timezone.utc).date().isoformat()}"


if __name__ == "__main__":
    print(measured_at())
    sys.exit(0)
