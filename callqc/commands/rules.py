"""`callqc score` (dry-run a transcript against a rule pack) and `callqc rules validate` (check pack files).

Transcript input:
- JSON: the `callqc transcribe --json` output (language, duration, segments [{start, end, speaker, text}]),
  optionally with a "call" object of metadata (started_at with offset, callee_relation, account_id, agency,
  agent_id, callee_timezone, ...);
- plain text: one turn per line, `agent: …` / `customer: …` (also 坐席/客服/催收员 and 客户/用户/对方, full-width
  colon allowed). Plain text has no timing: turns are laid end to end at 4 characters per second.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, time
from pathlib import Path
from typing import Any, Optional

import typer

from qc.domain import Call, Segment, Transcript

_SPEAKER_WORDS = {
    "agent": "agent", "坐席": "agent", "客服": "agent", "催收员": "agent", "a": "agent",
    "customer": "customer", "客户": "customer", "用户": "customer", "对方": "customer", "c": "customer",
    "unknown": "unknown",
}
_TURN_LINE = re.compile(r"^\s*([^:：]{1,12})\s*[:：]\s*(.*)$")
_PLAIN_TEXT_CHARS_PER_SECOND = 4.0
_PLAIN_TEXT_GAP_S = 0.5


class TranscriptFileError(ValueError):
    """The transcript file cannot be read; the message names the file, line or field."""


def _default_call(path: Path, timezone: str) -> Call:
    """Metadata for a transcript without a "call" object: a noon start today in the configured timezone."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    return Call(call_id=path.stem, agency="", agent_id="", account_id="",
                started_at=datetime.combine(datetime.now(zone).date(), time(12, 0), tzinfo=zone))


def parse_plain_text(text: str, path: Path) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    clock = 0.0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _TURN_LINE.match(line)
        speaker = _SPEAKER_WORDS.get(match.group(1).strip().lower()) if match else None
        if match is None or speaker is None:
            raise TranscriptFileError(
                f"{path}: line {number}: expected 'agent: …' or 'customer: …', got {line.strip()[:40]!r}")
        words = match.group(2).strip()
        duration = max(len(words) / _PLAIN_TEXT_CHARS_PER_SECOND, 0.5)
        segments.append(Segment(id=len(segments), start=round(clock, 2), end=round(clock + duration, 2),
                                speaker=speaker, text=words))  # type: ignore[arg-type]
        clock += duration + _PLAIN_TEXT_GAP_S
    if not segments:
        raise TranscriptFileError(f"{path}: no turns found")
    return tuple(segments)


def read_transcript_file(path: Path, *, timezone: str, language: str = "") -> tuple[Call, Transcript, bool]:
    """(call, transcript, has_call_metadata) from a JSON or plain-text transcript file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TranscriptFileError(f"{path}: cannot read: {exc}") from None
    if path.suffix.lower() == ".json" or raw.lstrip().startswith("{"):
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TranscriptFileError(f"{path}: not valid JSON: line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        if not isinstance(data, dict) or not isinstance(data.get("segments"), list):
            raise TranscriptFileError(f"{path}: field 'segments': expected a list of segments")
        for position, segment in enumerate(data["segments"]):
            for key in ("start", "end", "text"):
                if not isinstance(segment, dict) or key not in segment:
                    raise TranscriptFileError(f"{path}: segments[{position}]: missing field '{key}'")
            if segment.get("speaker", "unknown") not in ("agent", "customer", "unknown"):
                raise TranscriptFileError(f"{path}: segments[{position}]: field 'speaker' must be agent, customer or unknown")
        try:
            transcript = Transcript.from_dict(data)
        except (TypeError, ValueError) as exc:
            raise TranscriptFileError(f"{path}: field 'segments': {exc}") from None
        call_data = data.get("call")
        if call_data is None:
            return _default_call(path, timezone), transcript, False
        if not isinstance(call_data, dict):
            raise TranscriptFileError(f"{path}: field 'call': expected an object")
        call_data = {"call_id": path.stem, **call_data}
        try:
            call = Call.from_dict(call_data)
        except (TypeError, ValueError, KeyError) as exc:
            raise TranscriptFileError(f"{path}: field 'call': {exc}") from None
        if call.started_at.tzinfo is None:
            raise TranscriptFileError(f"{path}: field 'call.started_at': needs a UTC offset, e.g. 2026-11-03T15:41:08+08:00")
        return call, transcript, True
    segments = parse_plain_text(raw, path)
    transcript = Transcript(segments=segments, language=language, duration=segments[-1].end)
    return _default_call(path, timezone), transcript, False


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "  --:--  "
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes):02d}:{rest:05.2f}"


def score(
    transcript_file: Path = typer.Argument(..., help="Transcript: `callqc transcribe --json` output or `agent: …` lines."),
    pack: str = typer.Option(None, "--pack", help="Rule pack name (cn_collection, us_fdcpa) or a YAML path. Default: settings qc.rule_pack."),
    as_json: bool = typer.Option(False, "--json", help="Print the score as JSON."),
    rules_only: bool = typer.Option(False, "--rules-only", help="Pack dry run: the rules alone, no trained models."),
    settings_path: Optional[Path] = typer.Option(None, "--settings", help="Settings file (default: CALLQC_SETTINGS or configs/callqc.yaml)."),
) -> None:
    """Score a transcript as the nightly does: the rule pack plus the promoted models (when there are any, and
    unless --rules-only); prints the findings with times, evidence and where each came from."""
    from callqc.pipeline import rule_pack as load_rule_pack
    from callqc.pipeline import score_recording
    from callqc.settings import get_settings, load_settings
    from qc.rules.pack import RulePackError
    from qc.scoring import ScoringOptions

    settings = load_settings(settings_path) if settings_path else get_settings()
    pack_name = pack or settings.qc.rule_pack
    try:
        rule_pack = load_rule_pack(settings, pack_name)
    except RulePackError as exc:
        typer.secho(f"rule pack error:\n{exc}", fg="red", err=True)
        raise typer.Exit(2)
    try:
        call, transcript, has_metadata = read_transcript_file(
            transcript_file, timezone=settings.qc.timezone, language=rule_pack.language)
    except TranscriptFileError as exc:
        typer.secho(f"transcript error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    scorer, models_note = None, "--rules-only: pack dry run without models"
    if not rules_only:
        from callqc.model_registry import load_promoted_scorer

        scorer, models_note = load_promoted_scorer(settings)
    scored = score_recording(call, transcript, None, rule_pack, scorer=scorer,
                             options=ScoringOptions.from_settings(settings))
    result = scored.score
    if as_json:
        payload = {
            "score": result.score, "flagged": result.flagged, "fatal": result.fatal,
            "pack": result.pack, "pack_version": result.pack_version,
            "models": scored.model_version, "models_note": models_note,
            "findings": [
                {"rule_id": f.rule_id, "category": f.category, "severity": f.severity, "speaker": f.speaker,
                 "start": f.start, "end": f.end, "text": f.text, "segment_ids": list(f.segment_ids),
                 "source": f.source, "score": f.score, "description": f.description}
                for f in result.findings
            ],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    if not has_metadata:
        typer.secho("note: no call metadata; calling-hours and frequency rules judged against a noon start",
                    fg="yellow", err=True)
    if models_note:
        typer.secho(f"note: {models_note}", fg="yellow", err=True)
    status = "FATAL" if result.fatal else ("FLAGGED" if result.flagged else "ok")
    typer.echo(f"{transcript_file.name}: score {result.score:g} {status}  "
               f"(pack {result.pack} {result.pack_version}, models {scored.model_version or 'none'}, "
               f"{len(result.findings)} findings)")
    for f in result.findings:
        typer.echo(f"  [{_clock(f.start)}–{_clock(f.end)}] {f.severity:<8} {f.rule_id:<16} {f.category:<28} "
                   f"{f.speaker or '-':<8} {f.source:<5} {f.text or f.description}")


def validate(paths: list[Path] = typer.Argument(..., help="Rule pack YAML files (or shipped pack names).")) -> None:
    """Check rule packs: schema, regexes, references, and that semantic rules' exemplars and near misses are
    separable; prints every problem with file, rule id and field."""
    from qc.rules.pack import RulePackError, load_pack

    failed = False
    for path in paths:
        try:
            pack = load_pack(path)
        except RulePackError as exc:
            failed = True
            typer.secho(str(exc), fg="red", err=True)
            continue
        reported = sum(1 for rule in pack.rules if rule.config.report)
        typer.echo(f"{pack.path}: ok — pack {pack.name} version {pack.version}, language {pack.language}, "
                   f"{len(pack.rules)} rules ({reported} reported)")
        for rule in pack.rules:  # semantic rules: exemplars and near misses must be separable
            for problem in getattr(rule, "separability_problems", lambda: [])():
                failed = True
                typer.secho(f"{pack.path}: rule '{rule.id}': {problem}", fg="red", err=True)
    if failed:
        raise typer.Exit(1)


def calibrate(packs: list[str] = typer.Argument(None, help="Rule packs (default: the shipped cn_collection and us_fdcpa)."),
              data: list[Path] = typer.Option(None, "--data", help="Labelled utterance TSVs (default: every TSV of "
                                              "configs/rules/calibration; never the blind evaluation sets)."),
              min_precision: float = typer.Option(0.85, "--min-precision", min=0.0, max=1.0)) -> None:
    """Thresholds for the packs' semantic rules, calibrated on labelled utterances the exemplars were not written
    from (and, without --data, the labelled call scripts of configs/rules/calibration/calls, turn by turn in their
    call); prints the pack's value beside the calibrated one. Exits 1 when any differs (edit the pack and re-run)."""
    from qc.models.training import CorpusError
    from qc.rules.calibration import (
        CALIBRATION_DIR,
        UtteranceFileError,
        calibrate_semantic_rules,
        calibration_files,
        read_calibration_calls,
        read_utterances,
    )
    from qc.rules.pack import load_pack

    files = data or calibration_files()
    try:
        utterances = [u for path in files for u in read_utterances(path)]
        calls = [] if data else read_calibration_calls()
    except (OSError, UtteranceFileError, CorpusError) as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(2)
    vectors = CALIBRATION_DIR / "utterances.usem3.npz" if not data else None
    differs = False
    for name in packs or ["cn_collection", "us_fdcpa"]:
        pack = load_pack(name)
        results = calibrate_semantic_rules(pack, utterances, min_precision, vectors_file=vectors, calls=calls)
        typer.echo(f"{pack.name} ({pack.language}): {sum(u.language == pack.language for u in utterances)} utterances "
                   f"from {len(files)} file(s), {sum(c.language == pack.language for c in calls)} labelled calls")
        typer.echo(f"  {'rule':<36}{'pack':>7}{'calibrated':>12}{'precision':>11}{'recall':>8}{'support':>9}")
        for rule_id, values in results.items():
            current = pack.rules_by_id[rule_id].config.threshold
            mark = "" if abs(values["threshold"] - current) < 1e-9 else "  <- differs"
            differs = differs or bool(mark)
            typer.echo(f"  {rule_id:<36}{current:>7.3f}{values['threshold']:>12.3f}{values['precision']:>11.3f}"
                       f"{values['recall']:>8.3f}{values['support']:>9}{mark}")
    if differs:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("score")(score)
    rules_app = typer.Typer(help="Rule packs: validate, calibrate.", no_args_is_help=True)
    rules_app.command("validate")(validate)
    rules_app.command("calibrate")(calibrate)
    app.add_typer(rules_app, name="rules")
