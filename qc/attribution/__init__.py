"""Complaint import, complaint → call → finding linking, attribution, early warnings, forecasts, closed loop.

`analyse` and `markdown_summary` (here) are pure; callqc.attribution is the database side the nightly flow
calls. They are loaded on first use, so that `callqc complaints import` (which needs only
qc.attribution.importer) does not pay for pandas, SciPy and the model at start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["AttributionResult", "Frames", "RootCause", "analyse", "markdown_summary"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(import_module("qc.attribution.attribution"), name)
    raise AttributeError(f"module 'qc.attribution' has no attribute '{name}'")
