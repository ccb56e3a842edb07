#!/usr/bin/env python3
"""test_man.py — the man pages are complete and well-formed.

  * every key documented in docs/configuration.md's tables is in
    joincast.toml(5);
  * every command of `joincast --help` has its section in joincast(8), and
    every option of `joincastd --help` is in joincastd(8);
  * groff reads each page without a warning, and man renders it;
  * `cmake --install` puts them where man finds them.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE = Path(os.environ["JOINCAST_SOURCE_DIR"])
BUILD = Path(os.environ["JOINCAST_BUILD_DIR"])
MAN = BUILD / "man"


def documented_keys() -> set[str]:
    keys, in_table = set(), False
    for line in (SOURCE / "docs" / "configuration.md").read_text().splitlines():
        if line.startswith("| key"):
            in_table = True
            continue
        if not line.startswith("|"):
            in_table = False
            continue
        if in_table and not line.startswith("|---"):
            first = line.strip("|").split("|")[0]
            keys.update(re.findall(r"`([^`]+)`", first))
    return keys


def main() -> int:
    failures = []
    pages = {"joincast.toml.5": MAN / "joincast.toml.5", "joincastd.8": MAN / "joincastd.8",
             "joincast.8": MAN / "joincast.8"}
    for name, path in pages.items():
        if not path.is_file():
            print(f"{path} was not built", file=sys.stderr)
            return 1

    toml5 = pages["joincast.toml.5"].read_text()
    keys = documented_keys()
    assert len(keys) > 100, f"only {len(keys)} keys found in docs/configuration.md: the table parser is broken"
    missing = sorted(k for k in keys if "\\fB" + k.replace("-", "\\-") + "\\fR" not in toml5)
    if missing:
        failures.append(f"joincast.toml(5) lacks {len(missing)} documented keys: {', '.join(missing[:20])}")

    cli_help = subprocess.run([str(BUILD / "tools" / "joincast"), "--help"], capture_output=True, text=True).stdout
    commands = re.findall(r"^  ([a-z]+)\s{2,}", cli_help.split("Commands:", 1)[1].split("Options:", 1)[0], re.M)
    assert len(commands) >= 10, commands
    page = pages["joincast.8"].read_text()
    for c in commands:
        if f".SS {c}\n" not in page:
            failures.append(f"joincast(8) has no section for the command {c}")
    daemon_help = subprocess.run([str(BUILD / "daemon" / "joincastd"), "--help"], capture_output=True,
                                 text=True).stdout
    page = pages["joincastd.8"].read_text()
    for opt in set(re.findall(r"(--[a-z-]+)", daemon_help)):
        if opt.replace("-", "\\-") not in page:
            failures.append(f"joincastd(8) does not mention {opt}")

    for name, path in pages.items():
        r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z", str(path)], capture_output=True, text=True)
        if r.returncode != 0 or r.stderr.strip():
            failures.append(f"groff warns about {name}: {r.stderr.strip()[:500]}")
        r = subprocess.run(["man", "-l", str(path)], capture_output=True, text=True, env={**os.environ, "MANWIDTH": "80"})
        if r.returncode != 0 or "NAME" not in r.stdout:
            failures.append(f"man -l {name} failed: {r.stderr[:300]}")

    with tempfile.TemporaryDirectory(prefix="jc-man-") as prefix:
        subprocess.run(["cmake", "--install", str(BUILD), "--prefix", prefix], check=True, capture_output=True)
        for section, name in (("5", "joincast.toml"), ("8", "joincastd"), ("8", "joincast")):
            r = subprocess.run(["man", "-M", f"{prefix}/share/man", "-w", section, name], capture_output=True, text=True)
            if r.returncode != 0 or not r.stdout.strip().startswith(prefix):
                failures.append(f"after cmake --install, man does not find {name}({section}): {r.stderr.strip()}")

    for f in failures:
        print(f, file=sys.stderr)
    if not failures:
        print(f"man pages: {len(keys)} keys, {len(commands)} commands, 3 pages well-formed and installed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
