#!/usr/bin/env python3
"""Guards the test suite against entries that run nothing.

doctest_discover_tests() makes one ctest entry per doctest case, selected by
--test-case=NAME. A name that CMake splits (a ';' in it) or that doctest reads
as a pattern matches no case, doctest then runs zero cases and exits 0, and
ctest counts a pass. This check fails when, for any doctest binary:
  - an entry's filter selects no case, or more than one;
  - a case has no entry, or the binary's case list and the entries disagree.

Usage: check_entries.py BUILD_DIR BINARY...  (run by ctest as guard.entries)
"""

import json
import subprocess
import sys
from pathlib import Path


def cases(binary, *filters):
    out = subprocess.run([binary, *filters, "--list-test-cases"], capture_output=True, text=True, check=True).stdout
    return [l for l in out.splitlines() if l and not l.startswith("[doctest]") and not set(l) <= {"="}]


def main():
    build = Path(sys.argv[1])
    binaries = [str(Path(b).resolve()) for b in sys.argv[2:]]
    listing = json.loads(subprocess.run(["ctest", "--show-only=json-v1"], cwd=build, capture_output=True, text=True,
                                        check=True).stdout)
    problems = []
    checked = 0
    for binary in binaries:
        names = cases(binary)
        entries = []
        for t in listing["tests"]:
            command = t.get("command") or []
            if not command or str(Path(command[0]).resolve()) != binary:
                continue
            spec = [a for a in command[1:] if a.startswith("--test-case=")]
            if len(spec) != 1:
                problems.append(f"{t['name']}: runs {binary} without exactly one --test-case filter")
                continue
            entries.append((t["name"], spec[0]))
        for name, spec in entries:
            matched = cases(binary, spec)
            checked += 1
            if len(matched) != 1:
                problems.append(f"{name}: its filter {spec!r} selects {len(matched)} test cases, not 1 "
                                f"(a ';', '*', '?' or '\\' in a TEST_CASE name?)")
        if len(entries) != len(names):
            problems.append(f"{Path(binary).name}: {len(names)} test cases but {len(entries)} ctest entries")
    if checked == 0:
        problems.append("no ctest entry runs any of " + ", ".join(binaries))
    for p in problems:
        print("entry check:", p)
    print(f"entry check: {checked} entries checked, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
