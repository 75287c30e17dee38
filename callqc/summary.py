"""The run summary of a nightly run: counts, the per-recording table and its Markdown rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from callqc.pipeline import ScoreOutcome

@dataclass(frozen=True)
class RunSummary:
    days: tuple[str, ...]
    processed: tuple[ScoreOutcome, ...]  # scored in this run
    transcribed: int  # recordings transcribed in this run (the rest had a stored transcript)
    skipped: int  # finished by an earlier run
    failed: tuple[tuple[str, str], ...]  # (key, reason): failed in this run
    failed_before: tuple[tuple[str, str], ...]  # permanent failures of earlier runs, not retried
    rejected: tuple[tuple[str, str], ...]  # rejected by ingest
    wall_seconds: float
    report_html: str | None = None
    report_xlsx: str | None = None
    notes: tuple[str, ...] = ()  # steps that were skipped or degraded, with the reason

    @property
    def flagged(self) -> tuple[ScoreOutcome, ...]:
        return tuple(o for o in self.processed if o.flagged)

    @property
    def audio_hours(self) -> float:
        return sum(o.duration_s for o in self.processed) / 3600

    @property
    def audio_hours_per_wall_hour(self) -> float:
        return self.audio_hours / (self.wall_seconds / 3600) if self.wall_seconds > 0 else 0.0

    def counts(self) -> dict[str, Any]:
        return {"processed": len(self.processed), "transcribed": self.transcribed, "skipped": self.skipped, "failed": len(self.failed),
                "failed_before": len(self.failed_before), "rejected": len(self.rejected),
                "flagged": len(self.flagged), "audio_hours": round(self.audio_hours, 4),
                "wall_seconds": round(self.wall_seconds, 1),
                "audio_hours_per_wall_hour": round(self.audio_hours_per_wall_hour, 2)}

    def table(self) -> list[dict[str, Any]]:
        """One row per recording touched or reported by this run (for a Prefect table artifact)."""
        rows = [{"recording": o.key, "outcome": "flagged" if o.flagged else "passed", "score": round(o.score, 1),
                 "findings": ", ".join(o.categories), "reason": ""} for o in self.processed]
        rows += [{"recording": key, "outcome": "failed", "score": None, "findings": "", "reason": reason}
                 for key, reason in self.failed]
        rows += [{"recording": key, "outcome": "failed earlier", "score": None, "findings": "", "reason": reason}
                 for key, reason in self.failed_before]
        rows += [{"recording": key, "outcome": "rejected", "score": None, "findings": "", "reason": reason}
                 for key, reason in self.rejected]
        return rows

    def markdown(self) -> str:
        c = self.counts()
        days = self.days[0] if len(self.days) == 1 else f"{self.days[0]} … {self.days[-1]}"
        lines = [
            f"# Nightly QC — {days}", "",
            "| processed | skipped (done earlier) | failed | rejected by ingest | flagged | audio hours | "
            "audio h / wall h |",
            "|---|---|---|---|---|---|---|",
            f"| {c['processed']} | {c['skipped']} | {c['failed'] + c['failed_before']} | {c['rejected']} | "
            f"{c['flagged']} | {c['audio_hours']:.3f} | {c['audio_hours_per_wall_hour']:.2f} |", "",
            f"Wall time {self.wall_seconds:.1f} s.",
        ]
        if self.flagged:
            lines += ["", "## Flagged for review", ""]
            lines += [f"- `{o.key}` score {o.score:.0f}{' (fatal)' if o.fatal else ''}: {', '.join(o.categories)}"
                      for o in sorted(self.flagged, key=lambda o: o.score)]
        problems = [(k, r, "failed") for k, r in self.failed] + [(k, r, "failed earlier") for k, r in
                                                                self.failed_before]
        problems += [(k, r, "rejected") for k, r in self.rejected]
        if problems:
            lines += ["", "## Failed or rejected (with reasons)", ""]
            lines += [f"- `{key}` ({what}): {reason}" for key, reason, what in problems]
        if self.report_html:
            lines += ["", f"Attribution report: {self.report_html}" + (f" and {self.report_xlsx}"
                                                                         if self.report_xlsx else "")]
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {note}" for note in self.notes]
        return "\n".join(lines) + "\n"
