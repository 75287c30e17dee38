"""Where the shipped configuration lives: configs/ beside the code in a checkout; an installed image points
CALLQC_CONFIG_DIR at its copy. The one place that decides it — the rule packs, the attribution config and the
app's settings file (callqc.settings) all start from CONFIG_DIR; every loader also takes an explicit path."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG_DIR = Path(os.environ.get("CALLQC_CONFIG_DIR") or Path(__file__).resolve().parent.parent / "configs")
