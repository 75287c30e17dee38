"""The QC models' I/O: versions as artefacts in object storage under `models/`, one row each in the
`model_versions` table; training runs; the promoted models loaded once per process for scoring.
(The model math — features, classifiers, training, ModelScorer — is qc/models/, which does no I/O.)

An artefact is a joblib file holding the trained classifier with its metrics, training-data hash and version.
Its sha256 is kept in the database row, so a truncated or replaced object is detected before it is unpickled.
Keys are `models/{kind}/{version}.joblib`: never under a recording prefix (`{agency}/{date}/...`).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from callqc import runs
from callqc.db import session_scope, sessions_for
from callqc.db.models import CallScoreRow, FindingRow, ModelVersion, Review, SegmentRow, TranscriptRow
from callqc.storage import RecordingStore, StorageError
from qc.models.scorer import ModelScorer
from qc.models.text import VIOLATION_LABELS
from qc.models.training import LabelledText, TrainingOptions, TrainingResult

log = logging.getLogger(__name__)

MODEL_KEY_PREFIX = "models/"
ARTIFACT_FORMAT = 1


class ModelRegistryError(RuntimeError):
    """A model version cannot be stored, found or promoted; the message says which and why."""


class ModelArtifactError(ModelRegistryError):
    """A stored artefact is missing, corrupt or not a CallQC model; the message names its location."""


class ModelArtifactUnreachable(ModelArtifactError):
    """The artefact could not be read from storage (possibly transient: the server, the network)."""


class PromotionRefused(ModelRegistryError):
    """The candidate's holdout macro-F1 is worse than the promoted model's (override with force)."""


@dataclass(frozen=True)
class ModelRecord:
    version: str
    kind: str
    storage_key: str
    macro_f1: float | None
    data_hash: str
    promoted: bool
    metrics: dict[str, Any]
    created_at: datetime | None = None
    promoted_at: datetime | None = None

    @classmethod
    def from_row(cls, row: ModelVersion) -> "ModelRecord":
        return cls(row.version, row.kind, row.storage_key, row.macro_f1, row.data_hash, row.promoted,
                   dict(row.metrics or {}), row.created_at, row.promoted_at)


@dataclass(frozen=True)
class LoadedModel:
    record: ModelRecord
    model: Any


def artifact_key(kind: str, version: str) -> str:
    return f"{MODEL_KEY_PREFIX}{kind}/{version}.joblib"


def serialise(result: TrainingResult, version: str) -> bytes:
    import joblib
    import sklearn

    buffer = io.BytesIO()
    joblib.dump({"format": ARTIFACT_FORMAT, "kind": result.kind, "version": version, "model": result.model,
                 "metrics": result.metrics, "data_hash": result.data_hash,
                 "sklearn_version": sklearn.__version__}, buffer, compress=3)
    return buffer.getvalue()


def _next_version(session: Session, kind: str) -> str:
    count = session.scalar(select(func.count()).select_from(ModelVersion).where(ModelVersion.kind == kind)) or 0
    while True:
        count += 1
        version = f"{kind}-{count:04d}"
        if session.scalar(select(ModelVersion.id).where(ModelVersion.version == version)) is None:
            return version


def register_model(result: TrainingResult, session_factory: sessionmaker[Session],
                   store: RecordingStore) -> ModelRecord:
    """Upload the artefact, then add its row (not promoted). The object is written before the row, so a
    row never points at a missing upload."""
    with session_scope(session_factory) as session:
        version = _next_version(session, result.kind)
        key = artifact_key(result.kind, version)
        blob = serialise(result, version)
        sha256 = hashlib.sha256(blob).hexdigest()
        try:
            store.put_bytes(key, blob, metadata={"callqc-model-sha256": sha256, "callqc-model-kind": result.kind})
        except StorageError as exc:
            raise ModelRegistryError(f"cannot store model {version}: {exc}") from exc
        row = ModelVersion(version=version, kind=result.kind, storage_key=key,
                           metrics={**result.metrics, "artifact_sha256": sha256, "artifact_bytes": len(blob),
                                    "bucket": store.bucket},
                           macro_f1=result.macro_f1, data_hash=result.data_hash, promoted=False)
        session.add(row)
        session.flush()
        return ModelRecord.from_row(row)


def list_models(session_factory: sessionmaker[Session], kind: str | None = None) -> list[ModelRecord]:
    with session_scope(session_factory) as session:
        query = select(ModelVersion).order_by(ModelVersion.kind, ModelVersion.id)
        if kind:
            query = query.where(ModelVersion.kind == kind)
        return [ModelRecord.from_row(row) for row in session.scalars(query)]


def promoted_model(session_factory: sessionmaker[Session], kind: str) -> ModelRecord | None:
    with session_scope(session_factory) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.kind == kind, ModelVersion.promoted.is_(True))
                             .order_by(ModelVersion.promoted_at.desc()).limit(1))
        return ModelRecord.from_row(row) if row is not None else None


def promote(session_factory: sessionmaker[Session], version: str, force: bool = False) -> ModelRecord:
    """Make `version` the promoted model of its kind. Refused when its holdout macro-F1 is below the
    currently promoted one's, unless forced."""
    with session_scope(session_factory) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.version == version))
        if row is None:
            raise ModelRegistryError(f"no model version {version!r} (see `callqc models list`)")
        current = session.scalar(select(ModelVersion).where(ModelVersion.kind == row.kind,
                                                            ModelVersion.promoted.is_(True)))
        if current is not None and current.id != row.id and not force:
            candidate_f1 = row.macro_f1 if row.macro_f1 is not None else float("-inf")
            if current.macro_f1 is not None and candidate_f1 < current.macro_f1:
                raise PromotionRefused(
                    f"refusing to promote {version}: holdout macro-F1 {candidate_f1:.4f} is worse than the promoted "
                    f"{current.version} ({current.macro_f1:.4f}); use --force to promote anyway")
        session.execute(update(ModelVersion).where(ModelVersion.kind == row.kind, ModelVersion.id != row.id)
                        .values(promoted=False))
        row.promoted = True
        row.promoted_at = datetime.now(timezone.utc)
        session.flush()
        return ModelRecord.from_row(row)


def load_artifact(record: ModelRecord, store: RecordingStore) -> LoadedModel:
    """Fetch, verify and unpickle an artefact. Raises ModelArtifactError naming the object and the reason."""
    import joblib

    where = f"s3://{store.bucket}/{record.storage_key}"
    try:
        blob = store.get_bytes(record.storage_key)
    except StorageError as exc:
        raise ModelArtifactUnreachable(f"model {record.version}: cannot read artefact {where}: {exc}") from exc
    expected = record.metrics.get("artifact_sha256")
    actual = hashlib.sha256(blob).hexdigest()
    if expected and actual != expected:
        raise ModelArtifactError(f"model {record.version}: artefact {where} is corrupt — sha256 {actual[:12]}… "
                                 f"does not match the registered {expected[:12]}… ({len(blob)} bytes)")
    try:
        payload = joblib.load(io.BytesIO(blob))
    except Exception as exc:  # noqa: BLE001 — any unpickling failure means the same thing: unusable artefact
        raise ModelArtifactError(f"model {record.version}: artefact {where} cannot be loaded — "
                                 f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != ARTIFACT_FORMAT or "model" not in payload:
        raise ModelArtifactError(f"model {record.version}: artefact {where} is not a CallQC model "
                                 f"(format {ARTIFACT_FORMAT} expected)")
    if payload.get("kind") != record.kind or payload.get("version") != record.version:
        raise ModelArtifactError(f"model {record.version}: artefact {where} holds {payload.get('kind')} "
                                 f"{payload.get('version')}, not {record.kind} {record.version}")
    return LoadedModel(record=record, model=payload["model"])


# ---- training runs ---------------------------------------------------------------------------------

def train_models(session_factory, store, seed: int = 0, from_reviews: bool = False,
                 kinds: tuple[str, ...] = ("violation", "emotion"), echo=print) -> list:
    """Train each kind, print its holdout report, store and register it (not promoted). Returns the records.
    The run is recorded in pipeline_runs (kind models-train) with its warnings."""
    from qc.models.training import TrainingOptions, format_report, train_emotion, train_violation

    options = TrainingOptions(seed=seed)
    run_id = runs.open_run(session_factory, "models-train",
                           {"seed": seed, "from_reviews": from_reviews, "kinds": list(kinds)})
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
        runs.close_run(session_factory, run_id, "failed", warnings=warnings + [f"{type(exc).__name__}: {exc}"])
        raise
    runs.close_run(session_factory, run_id, "completed",
                   {"models": len(records), "reviewer_examples": len(extra), "versions": [r.version for r in records]},
                   warnings)
    for warning in warnings:
        echo(f"warning: {warning}")
    return records


def ensure_promoted_models(session_factory, store, seed: int = 0) -> list[ModelRecord]:
    """Train and promote the seed-corpus model of each kind that has none promoted (the demo, the nightly bench);
    returns the models promoted now."""
    missing = tuple(kind for kind in ("violation", "emotion") if promoted_model(session_factory, kind) is None)
    if not missing:
        return []
    records = train_models(session_factory, store, seed=seed, kinds=missing, echo=lambda _text: None)
    return [promote(session_factory, record.version) for record in records]


# ---- reviewer decisions as labels --------------------------------------------------------------------
@dataclass(frozen=True)
class ReviewLabels:
    examples: tuple[LabelledText, ...]
    used: int  # reviews that became (part of) a label
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count


def review_examples(session, weight: float = TrainingOptions.review_weight) -> ReviewLabels:
    """Reviewer decisions as violation labels: confirm/add → the finding's text IS its category;
    reject → it is NOT. The latest decision on a (text, category) pair wins. The text is the finding's
    segments when the transcript is stored (the same unit the scorer classifies), else the finding's text."""
    decisions: dict[tuple[str, str], bool] = {}
    skipped: dict[str, int] = {}
    used = 0
    query = (select(Review, FindingRow).join(FindingRow, Review.finding_id == FindingRow.id)
             .where(Review.decision.in_(("confirm", "reject", "add"))).order_by(Review.created_at, Review.id))
    for review, finding in session.execute(query):
        category = (review.label if review.decision == "add" and review.label else finding.category) or ""
        if category not in VIOLATION_LABELS:
            skipped["category not a model label"] = skipped.get("category not a model label", 0) + 1
            continue
        transcript_id = None
        if finding.call_score_id is not None:
            transcript_id = session.get(CallScoreRow, finding.call_score_id).transcript_id
        if transcript_id is None:
            transcript_id = session.scalar(select(TranscriptRow.id).where(
                TranscriptRow.recording_id == finding.recording_id).order_by(TranscriptRow.id.desc()).limit(1))
        text = ""
        if transcript_id is not None and finding.segment_ids:
            rows = session.scalars(select(SegmentRow.text).where(
                SegmentRow.transcript_id == transcript_id, SegmentRow.idx.in_(list(finding.segment_ids)))
                .order_by(SegmentRow.idx)).all()
            text = " ".join(rows)
        text = (text or finding.text or "").strip()
        if not text:
            skipped["no text"] = skipped.get("no text", 0) + 1
            continue
        decisions[(text, category)] = review.decision != "reject"
        used += 1
    by_text: dict[str, dict[str, bool]] = {}
    for (text, category), value in decisions.items():
        by_text.setdefault(text, {})[category] = value
    examples = tuple(LabelledText(text=text, labels=labels, weight=weight, source="review")
                     for text, labels in by_text.items())
    return ReviewLabels(examples=examples, used=used, skipped=skipped)


# ---- the promoted models, loaded once per process -----------------------------------------------------
_loaded: dict[tuple[Any, ...], ModelScorer] = {}
_unusable: dict[tuple[Any, ...], str] = {}  # corrupt artefacts: not fetched again until another is promoted
_lock = threading.Lock()


def load_promoted_scorer(settings, session_factory=None, store=None) -> tuple[ModelScorer | None, str | None]:
    """The promoted models as a ModelScorer, loaded once per process (reloaded only when a different version
    is promoted). Returns (scorer, None), or (None, warning) when there is no usable violation model, so the
    caller scores with rules only and records the warning on its run; an unusable emotion model gives
    (scorer without emotion, warning)."""
    try:
        if session_factory is None:
            session_factory = sessions_for(settings.database_url)
        violation_record = promoted_model(session_factory, "violation")
        emotion_record = promoted_model(session_factory, "emotion")
    except Exception as exc:  # noqa: BLE001 — e.g. database not migrated: scoring must still go on
        return None, f"model registry unavailable, scoring with rules only: {type(exc).__name__}: {exc}"
    if violation_record is None:
        return None, "no promoted violation model (`callqc models promote VERSION`): scoring with rules only"
    try:
        store = store or RecordingStore(settings)
    except Exception as exc:  # noqa: BLE001 — e.g. no S3 credentials in this environment
        return None, f"model store unavailable, scoring with rules only: {exc}"
    cache_key = (store.endpoint, store.bucket,
                 *((r.version, r.metrics.get("artifact_sha256")) for r in (violation_record, emotion_record) if r))
    with _lock:
        if cache_key in _loaded:
            return _loaded[cache_key], None
        if cache_key in _unusable:
            return None, _unusable[cache_key]
        try:
            violation = load_artifact(violation_record, store).model
        except ModelRegistryError as exc:
            warning = f"{exc}; scoring with rules only"
            log.warning(warning)
            if not isinstance(exc, ModelArtifactUnreachable):
                _unusable[cache_key] = warning
            return None, warning
        emotion, warning = None, None
        if emotion_record is not None:
            try:
                emotion = load_artifact(emotion_record, store).model
            except ModelRegistryError as exc:
                warning = f"{exc}; customer emotion from models disabled"
                log.warning(warning)
        versions = {"violation": violation_record.version}
        if emotion is not None:
            versions["emotion"] = emotion_record.version
        scorer = ModelScorer(violation, emotion, versions)
        if warning is None:
            _loaded[cache_key] = scorer
        return scorer, warning


def clear_loaded_scorers() -> None:
    """Forget the process's loaded models (tests; a long-lived server after an out-of-band change)."""
    with _lock:
        _loaded.clear()
        _unusable.clear()
