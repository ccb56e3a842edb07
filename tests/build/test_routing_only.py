#!/usr/bin/env python3
"""tests/build: the routing-only build (-DJOINCAST_MEDIA=OFF,
docs/building.md) stays routing-only.

Builds build-routing/ with scripts/build-routing.sh (a no-op when
scripts/test.sh's background build has done it), then:
  - joincastd and joincast of that build, and joincast of the full build,
    load no FFmpeg (libav*, libsw*), liburing or OpenSSL library: neither
    as a direct NEEDED entry (readelf) nor anywhere in what ldd resolves;
  - its joincastd --check refuses a configuration with [sessions], and one
    with [[directory]], naming the section and saying this build has no
    media; it accepts a routing-only configuration (membership, routing,
    SSDP, mDNS) and says "ok";
  - its unit tests pass.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("JOINCAST_SOURCE_DIR", Path(__file__).resolve().parents[2]))
BUILD_DIR = Path(os.environ.get("JOINCAST_BUILD_DIR", SOURCE_DIR / "build"))
ROUTING_DIR = Path(os.environ.get("JOINCAST_ROUTING_BUILD_DIR", SOURCE_DIR / "build-routing"))

# What a routing box must not carry.
FORBIDDEN = re.compile(r"^(libav(format|codec|util|device|filter)|libsw(resample|scale)|liburing|libssl|libcrypto)\b")

failures: list[str] = []


def fail(message: str) -> None:
    print(f"FAIL: {message}")
    failures.append(message)


def needed(binary: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(binary)], check=True, capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def resolved(binary: Path) -> list[str]:
    out = subprocess.run(["ldd", str(binary)], check=True, capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip() and "=>" in line]


def check_libraries(binary: Path) -> None:
    if not binary.exists():
        fail(f"{binary} was not built")
        return
    direct, closure = needed(binary), resolved(binary)
    bad = sorted({name for name in direct + closure if FORBIDDEN.match(name)})
    if bad:
        fail(f"{binary} loads {', '.join(bad)}")
    if not bad:
        print(f"{binary}: {len(direct)} NEEDED, {len(closure)} shared libraries in all, none of FFmpeg, liburing "
              f"or OpenSSL")


def check(config: str, tmp: Path, name: str) -> subprocess.CompletedProcess:
    path = tmp / name
    path.write_text(config)
    return subprocess.run([str(ROUTING_DIR / "daemon" / "joincastd"), "--check", "--config", str(path)],
                          capture_output=True, text=True, timeout=60)


def check_configs() -> None:
    with tempfile.TemporaryDirectory(prefix="joincast-routing-only.") as t:
        tmp = Path(t)
        daemon = f'[daemon]\ncontrol_socket = "{tmp}/jc.sock"\nstate_dir = "{tmp}/state"\n\n'
        refused = {
            "[sessions]": daemon + "[sessions]\ngrace = \"10s\"\n",
            "[[directory]]": daemon + '[[directory]]\nname = "test"\nkind = "test"\nslot = 0\n',
        }
        for section, text in refused.items():
            r = check(text, tmp, "media.toml")
            said = r.stdout + r.stderr
            if r.returncode != 1:
                fail(f"--check of a config with {section} exited {r.returncode}, not 1:\n{said}")
            if section not in said or "without media" not in said:
                fail(f"--check of a config with {section} does not name it and say the build has no media:\n{said}")
            else:
                print(f"refused {section}: {said.strip().splitlines()[0]}")
        routing_only = daemon + """[membership]
interfaces = ["int0", "ext0"]

[routing]
[[routing.route]]
from = "int0"
source = "192.0.2.1"
group = "239.1.2.3"
to = ["ext0"]

[[ssdp.zone]]
name = "home"
interfaces = ["int0", "ext0"]

[[mdns.zone]]
name = "trusted"
interfaces = ["int0"]
trust = 10

[[mdns.zone]]
name = "guests"
interfaces = ["ext0"]
"""
        r = check(routing_only, tmp, "routing.toml")
        if r.returncode != 0 or "ok" not in r.stdout:
            fail(f"--check of a routing-only config exited {r.returncode}:\n{r.stdout}{r.stderr}")
        else:
            print(f"accepted a routing-only config: {r.stdout.strip()}")


def main() -> int:
    build = subprocess.run(["bash", str(SOURCE_DIR / "scripts" / "build-routing.sh")], capture_output=True, text=True,
                           env={**os.environ, "JOINCAST_ROUTING_BUILD_DIR": str(ROUTING_DIR)})
    if build.returncode != 0:
        print(build.stdout[-6000:], build.stderr[-6000:])
        print("FAIL: scripts/build-routing.sh failed")
        return 1
    for binary in (ROUTING_DIR / "daemon" / "joincastd", ROUTING_DIR / "tools" / "joincast",
                   BUILD_DIR / "tools" / "joincast"):
        check_libraries(binary)
    check_configs()
    version = subprocess.run([str(ROUTING_DIR / "daemon" / "joincastd"), "--version"], capture_output=True,
                             text=True).stdout
    if "routing-only" not in version:
        fail(f"joincastd --version does not say it is the routing-only build: {version!r}")
    unit = subprocess.run([str(ROUTING_DIR / "tests" / "unit_tests")], capture_output=True, text=True, timeout=900)
    summary = [line for line in unit.stdout.splitlines() if line.startswith("[doctest] test cases")]
    if unit.returncode != 0:
        print(unit.stdout[-8000:], unit.stderr[-4000:])
        fail("the routing-only build's unit tests failed")
    else:
        print(f"unit tests of the routing-only build: {summary[0] if summary else 'passed'}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
