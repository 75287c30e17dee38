"""`callqc models train | promote | list`: the QC models' lifecycle (qc/models/)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

models_app = typer.Typer(help="Train, evaluate, register and promote the QC text models.", no_args_is_help=True)

SettingsOption = typer.Option(None, "--settings", help="Settings file (default: CALLQC_SETTINGS or configs/callqc.yaml).")


def _services(settings_path: Optional[Path]):
    from callqc import db
    from callqc.settings import load_settings
    from callqc.storage import RecordingStore

    settings = load_settings(settings_path)
    return settings, db.sessions_for(settings.database_url), RecordingStore(settings)


@models_app.command("train")
def train(from_reviews: bool = typer.Option(False, "--from-reviews", help="Add reviewer decisions as labels."),
          seed: int = typer.Option(0, "--seed", help="Random seed: the same seed and data give the same model."),
          kind: str = typer.Option("all", "--kind", help="violation | emotion | all"),
          settings_path: Optional[Path] = SettingsOption) -> None:
    """Train, print holdout precision/recall/F1 and the confusion summary, store and register the model."""
    if kind not in ("violation", "emotion", "all"):
        raise typer.BadParameter("use violation, emotion or all", param_hint="--kind")
    from callqc.model_registry import train_models
    from qc.models.training import MODEL_KINDS

    _, session_factory, store = _services(settings_path)
    store.ensure_bucket()
    kinds = MODEL_KINDS if kind == "all" else (kind,)
    train_models(session_factory, store, seed=seed, from_reviews=from_reviews, kinds=kinds, echo=typer.echo)
    typer.echo("promote with: callqc models promote VERSION")


@models_app.command("promote")
def promote(version: str = typer.Argument(..., help="e.g. violation-0002"),
            force: bool = typer.Option(False, "--force", help="Promote even if its holdout macro-F1 is worse."),
            settings_path: Optional[Path] = SettingsOption) -> None:
    """Make VERSION the model the scorer loads; refused if it is worse than the promoted one."""
    from callqc.model_registry import ModelRegistryError, promote as promote_version

    _, session_factory, _ = _services(settings_path)
    try:
        record = promote_version(session_factory, version, force=force)
    except ModelRegistryError as exc:
        typer.secho(str(exc), fg="red", err=True)
        raise typer.Exit(1)
    typer.echo(f"promoted {record.version} ({record.kind}, holdout macro-F1 {record.macro_f1:.4f})")


@models_app.command("list")
def list_versions(settings_path: Optional[Path] = SettingsOption) -> None:
    """Registered model versions with their holdout macro-F1; * marks the promoted one of each kind."""
    from callqc.model_registry import list_models

    _, session_factory, _ = _services(settings_path)
    records = list_models(session_factory)
    if not records:
        typer.echo("no models registered (train with: callqc models train)")
        return
    typer.echo(f"  {'version':<20}{'kind':<11}{'macro-F1':>9}  {'data':<14}created")
    for r in records:
        created = r.created_at.strftime("%Y-%m-%d %H:%M") if r.created_at else ""
        f1 = f"{r.macro_f1:.4f}" if r.macro_f1 is not None else "-"
        typer.echo(f"{'*' if r.promoted else ' '} {r.version:<20}{r.kind:<11}{f1:>9}  {r.data_hash[:12]:<14}{created}")


@models_app.command("calibrate")
def calibrate(seed: int = typer.Option(0, "--seed", help="Seed of the model to calibrate (trained on the seed corpus)."),
              calls_dir: Path = typer.Option(Path("samples/calls"), "--calls",
                                             help="Labelled call scripts held out from training (segments.tsv + labels.json)."),
              min_precision: float = typer.Option(0.85, "--min-precision", min=0.0, max=1.0)) -> None:
    """Per-category thresholds for the packs' model_score rules, calibrated on text the scoring model never read:
    each independently written utterance file of configs/rules/calibration scored by the seed model refit without
    it (written to configs/rules/calibration/models/out_of_author.tsv), plus the agent turns of the labelled calls
    (--calls and configs/rules/calibration/calls) scored by the seed model. Refits once per file (minutes)."""
    from qc.models.text import VIOLATION_LABELS
    from qc.models.training import (
        MODEL_F1_NEIGHBOURS,
        TrainingOptions,
        calibrate_thresholds,
        load_reference_calls,
        model_calibration_set,
        out_of_author_scores,
        train_violation,
        write_out_of_author_scores,
    )
    from qc.rules.calibration import (
        OUT_OF_AUTHOR_FILE,
        calibration_files,
        read_calibration_calls,
        utterances_by_author,
    )
    from qc.rules.pack import load_pack

    options = TrainingOptions(seed=seed)
    model = train_violation(options).model
    calls = (load_reference_calls(calls_dir) if calls_dir.is_dir() else []) + read_calibration_calls()
    authors = utterances_by_author(calibration_files())
    typer.echo(f"refitting the seed model without each of {len(authors)} authors: {', '.join(authors)}")
    rows = out_of_author_scores(authors, options)
    OUT_OF_AUTHOR_FILE.parent.mkdir(parents=True, exist_ok=True)
    write_out_of_author_scores(OUT_OF_AUTHOR_FILE, rows)
    for pack_name in ("cn_collection", "us_fdcpa"):
        pack = load_pack(pack_name)
        scores, truth = model_calibration_set(model, rows, calls, pack.language)
        thresholds = calibrate_thresholds(scores, truth, model.labels, min_precision, neighbours=MODEL_F1_NEIGHBOURS)
        authored = sum(row.language == pack.language for row in rows)
        typer.echo(f"{pack_name} ({pack.language}): {authored} out-of-author turns, {len(truth) - authored} call turns")
        typer.echo(f"  {'rule':<38}{'label':<24}{'pack':>6}{'calibrated':>12}{'precision':>11}{'recall':>8}")
        for rule in pack.rules:
            label = getattr(rule.config, "label", None)
            if rule.type_name != "model_score" or label not in VIOLATION_LABELS:
                continue
            values = thresholds[label]
            mark = "" if abs(values["threshold"] - rule.config.threshold) < 1e-9 else "  <- differs"
            typer.echo(f"  {rule.id:<38}{label:<24}{rule.config.threshold:>6.2f}{values['threshold']:>12.2f}"
                       f"{values['precision']:>11.3f}{values['recall']:>8.3f}{mark}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(models_app, name="models")
