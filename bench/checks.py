"""checks.py — the one failure policy of the bench ctests (ctest -L bench).

A bench run fails only on a ratio measured in that same run against its
baseline, and only when it crosses its limit; each limit leaves a wide
margin from what the bench measures, so a shared 2-core machine with other
work on it does not trip it. Absolute targets (milliseconds,
% of a core, MB) are printed, met or missed, and never fail a run: load
from other work moves them, while it moves both sides of a ratio alike.
BENCHMARKS.md states the same at its top; bench/membership (C++) applies
the same rule with its own limit.

    checks = Checks("bench.routes")
    checks.ratio("load 5000 routes, smcrouted / joincastd", 7.2, at_least=1.0)
    checks.target("load 5000 routes < 100 ms", met=False, detail="131 ms")
    return checks.verdict()
"""
from __future__ import annotations

import sys


class Checks:
    def __init__(self, bench: str):
        self.bench = bench
        self.failed: list[str] = []
        self.lines: list[str] = []

    def ratio(self, what: str, ratio: float, *, at_least: float | None = None,
              at_most: float | None = None) -> bool:
        """A same-run ratio to the baseline: the only check that fails."""
        ok = (at_least is None or ratio >= at_least) and (at_most is None or ratio <= at_most)
        limit = f"≥ {at_least:g}×" if at_least is not None else f"≤ {at_most:g}×"
        line = f"ratio {what}: {ratio:.2f}× (limit {limit}): {'ok' if ok else 'FAILED'}"
        self.lines.append(line)
        if not ok:
            self.failed.append(line)
        return ok

    def target(self, what: str, met: bool, detail: str = "") -> bool:
        """An absolute target: printed, never a failure."""
        self.lines.append(f"target {what}: {'met' if met else 'missed (printed, not a failure)'}"
                          + (f" ({detail})" if detail else ""))
        return met

    def verdict(self) -> int:
        for line in self.lines:
            print(f"{self.bench}: {line}", file=sys.stderr)
        if self.failed:
            print(f"{self.bench}: FAILED: {len(self.failed)} ratio(s) to the baseline past their limit",
                  file=sys.stderr)
            return 1
        return 0
