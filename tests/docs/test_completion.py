#!/usr/bin/env python3
"""test_completion.py — bash completion of `joincast` (tools/completion),
run in a real bash with bash-completion loaded: commands, a command's
options, route's verbs; the words come from the built program's --help."""

import os
import subprocess
import sys
from pathlib import Path

SOURCE = Path(os.environ["JOINCAST_SOURCE_DIR"])
BUILD = Path(os.environ["JOINCAST_BUILD_DIR"])
JOINCAST = BUILD / "tools" / "joincast"


def complete(line: str) -> list[str]:
    words = line.split(" ")
    script = f"""
source /usr/share/bash-completion/bash_completion
source {SOURCE}/tools/completion/joincast.bash
COMP_WORDS=({" ".join(f"'{w}'" for w in words)})
COMP_CWORD={len(words) - 1}
COMP_LINE='{line}'
COMP_POINT=${{#COMP_LINE}}
_joincast
printf '%s\\n' "${{COMPREPLY[@]}}"
"""
    env = {**os.environ, "PATH": f"{JOINCAST.parent}:{os.environ.get('PATH', '')}"}
    r = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, r.stderr
    return sorted(w for w in r.stdout.split("\n") if w)


def main() -> int:
    cases = {
        "joincast st": ["status"],
        "joincast s": ["sdp", "sessions", "status"],
        "joincast listen --du": ["--duration"],
        "joincast route ": ["add", "del"],
        "joincast --js": ["--json"],
        "joincast watch me": ["membership"],
    }
    failed = 0
    for line, want in cases.items():
        got = complete(line)
        ok = all(w in got for w in want) and (line != "joincast st" or got == want)
        print(f"{line!r} -> {got} {'ok' if ok else f'(wanted {want})'}")
        failed += 0 if ok else 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
