"""Complaint import, complaint → call → finding linking, attribution, early warnings, forecasts, closed loop.

The entry points the nightly flow calls: `refresh_attribution`, `markdown_summary` (here) and
`qc.reports.write_report`.
"""

from qc.attribution.attribution import (AttributionResult, Frames, RootCause, analyse, markdown_summary,
                                        refresh_attribution)

__all__ = ["AttributionResult", "Frames", "RootCause", "analyse", "markdown_summary", "refresh_attribution"]
