"""Model versions: artefacts in object storage under `models/`, one row each in the `model_versions` table.

An artefact is a joblib file holding the trained classifier with its metrics, training-data hash and version.
Its sha256 is kept in the database row, so a truncated or replaced object is detected before it is unpickled.
Keys are `models/{kind}/{version}.joblib`: never under a recording prefix (`{agency}/{date}/...`).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from callqc.db import session_scope
from callqc.db.models import ModelVersion
from callqc.storage import RecordingStore, StorageError
from qc.models.training import TrainingResult

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


def get_model(session_factory: sessionmaker[Session], version: str) -> ModelRecord:
    with session_scope(session_factory) as session:
        row = session.scalar(select(ModelVersion).where(ModelVersion.version == version))
        if row is None:
            raise ModelRegistryError(f"no model version {version!r} (see `callqc models list`)")
        return ModelRecord.from_row(row)


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
