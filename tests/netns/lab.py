"""The network-namespace lab lives in scripts/netlab.py (scripts/ owns the
lab, DESIGN.md); this module lets tests and benchmarks import it as `lab`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
from netlab import *  # noqa: E402,F401,F403
