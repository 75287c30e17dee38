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
    return settings, db.session_factory(db.make_engine(settings.database_url)), RecordingStore(settings)


def train_models(session_factory, store, seed: int = 0, from_reviews: bool = False,
                 kinds: tuple[str, ...] = ("violation", "emotion"), echo=print) -> list:
    """Train each kind, print its holdout report, store and register it (not promoted). Returns the records.
    The run is recorded in pipeline_runs (kind models-train) with its warnings."""
    from callqc.db import session_scope
    from callqc.db.models import PipelineRun, utcnow
    from qc.models.registry import register_model
    from qc.models.training import TrainingOptions, format_report, review_examples, train_emotion, train_violation

    options = TrainingOptions(seed=seed)
    with session_scope(session_factory) as session:
        run = PipelineRun(kind="models-train", params={"seed": seed, "from_reviews": from_reviews, "kinds": list(kinds)})
        session.add(run)
        session.flush()
        run_id = run.id
    warnings: list[str] = []
    extra = ()
    if from_reviews:
        with session_scope(session_factory) as session:
            labels = review_examples(session, weight=options.review_weight)
        extra = labels.examples
        echo(f"reviewer labels: {labels.used} decisions → {len(extra)} utterances"
             + (f" (skipped: {', '.join(f'{k} ×{n}' for k, n in labels.skipped.items())})" if labels.skipped else ""))
        if not extra:
            warnings.append("--from-reviews: no usable reviewer decisions; trained on the seed corpus only")
    records = []
    try:
        for kind in kinds:
            result = train_violation(options, extra) if kind == "violation" else train_emotion(options)
            echo(format_report(result))
            record = register_model(result, session_factory, store)
            echo(f"registered {record.version}: s3://{store.bucket}/{record.storage_key} "
                 f"(data {record.data_hash[:12]}, macro-F1 {record.macro_f1:.4f})\n")
            records.append(record)
    except Exception as exc:
        with session_scope(session_factory) as session:
            run = session.get(PipelineRun, run_id)
            run.status, run.finished_at = "failed", utcnow()
            run.warnings = warnings + [f"{type(exc).__name__}: {exc}"]
        raise
    with session_scope(session_factory) as session:
        run = session.get(PipelineRun, run_id)
        run.status, run.finished_at, run.warnings = "completed", utcnow(), warnings
        run.counts = {"models": len(records), "reviewer_examples": len(extra),
                      "versions": [r.version for r in records]}
    for warning in warnings:
        echo(f"warning: {warning}")
    return records


@models_app.command("train")
def train(from_reviews: bool = typer.Option(False, "--from-reviews", help="Add reviewer decisions as labels."),
          seed: int = typer.Option(0, "--seed", help="Random seed: the same seed and data give the same model."),
          kind: str = typer.Option("all", "--kind", help="violation | emotion | all"),
          settings_path: Optional[Path] = SettingsOption) -> None:
    """Train, print holdout precision/recall/F1 and the confusion summary, store and register the model."""
    if kind not in ("violation", "emotion", "all"):
        raise typer.BadParameter("use violation, emotion or all", param_hint="--kind")
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
    from qc.models.registry import ModelRegistryError, promote as promote_version

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
    from qc.models.registry import list_models

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


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.add_typer(models_app, name="models")
