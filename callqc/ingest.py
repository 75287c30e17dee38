"""Ingest: register a day's new recordings from object storage in the database.

For each agency folder, the listing of `{agency}/{YYYY-MM-DD}/` is streamed page by page. Every audio object
gets its metadata (sidecar, else S3 user metadata, else the day's manifest.csv — see callqc.sidecar), is
decoded once to check it (asr.audio.probe_audio) and becomes a row of `recordings` with status "registered",
or "rejected" with a precise failure_reason. A recording is identified by (bucket, key, etag): objects already
recorded are skipped, a changed etag becomes a new row with version + 1. Nothing in the bucket is modified.

One bad object never stops the batch. Storage failures do (the server is down or refuses our keys): the run is
marked failed and IngestError says so; what was registered before stays, and a re-run finishes the rest.
"""

from __future__ import annotations

import tempfile
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, timezone
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from callqc import runs
from callqc.db import session_scope
from callqc.db.models import Recording
from callqc.settings import Settings
from callqc.sidecar import (
    Manifest,
    MetadataError,
    RecordingMetadata,
    has_s3_metadata,
    parse_s3_metadata,
    parse_sidecar,
    utc_offset_minutes,
)
from callqc.storage import RecordingStore, StorageError, StoredObject

MANIFEST_NAME = "manifest.csv"
SIDECAR_EXTENSION = "json"
LOOKUP_BATCH = 200  # listing entries checked against the database per query
MAX_WARNINGS_IN_RUN_ROW = 1000
CREDENTIAL_ERRORS = ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied")

Outcome = Literal["registered", "skipped", "rejected"]
# Why a row was rejected. Metadata can be fixed without touching the audio (the agency uploads the sidecar,
# or an agency is added to the settings), so those rows are examined again on every run; the others can only
# change with a new object version (a new etag).
RejectionKind = Literal["metadata", "audio", "key", "sidecar_without_audio", "error"]
RETRIED_KINDS = ("metadata", "error")


class IngestError(RuntimeError):
    """Ingest could not run or finish: storage unreachable, wrong credentials, unknown agency asked for."""


@dataclass(frozen=True)
class Rejection:
    key: str
    reason: str


@dataclass(frozen=True)
class ObjectOutcome:
    """What happened to one object; passed to the `progress` callback as the run goes."""

    key: str
    outcome: Outcome
    reason: str = ""


@dataclass(frozen=True)
class IngestReport:
    """registered: new rows (or earlier metadata rejections that now pass); rejected: objects examined in this
    run and found unusable; skipped: objects already recorded with this etag and not examined again."""

    run_id: int
    day: date
    agencies: tuple[str, ...]
    registered: int
    skipped: int
    rejected: tuple[Rejection, ...]
    registered_ids: tuple[int, ...] = ()
    counts_by_agency: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def examined(self) -> int:
        return self.registered + self.skipped + len(self.rejected)


@dataclass(frozen=True)
class _Verdict:
    status: Literal["registered", "rejected"]
    reason: str | None = None
    kind: RejectionKind | None = None
    metadata: RecordingMetadata | None = None
    raw_metadata: dict[str, Any] | None = None
    metadata_source: str | None = None
    audio: Any = None  # asr.audio.AudioInfo


def _rejected(kind: RejectionKind, reason: str, **known: Any) -> _Verdict:
    return _Verdict("rejected", reason=reason, kind=kind, **known)


@dataclass(frozen=True)
class _KnownVersion:
    id: int
    etag: str
    version: int
    status: str
    rejection_kind: str | None


class _Tally:
    def __init__(self, progress: Callable[[ObjectOutcome], None] | None):
        self.progress = progress
        self.registered_ids: list[int] = []
        self.skipped = 0
        self.rejections: list[Rejection] = []
        self.by_agency: dict[str, dict[str, int]] = {}

    def add(self, outcome: ObjectOutcome, recording_id: int | None = None) -> None:
        if outcome.outcome == "registered":
            self.registered_ids.append(recording_id)
        elif outcome.outcome == "skipped":
            self.skipped += 1
        else:
            self.rejections.append(Rejection(outcome.key, outcome.reason))
        agency = outcome.key.split("/", 1)[0]
        counts = self.by_agency.setdefault(agency, {"registered": 0, "skipped": 0, "rejected": 0})
        counts[outcome.outcome] += 1
        if self.progress is not None:
            self.progress(outcome)

    def counts(self) -> dict[str, int]:
        return {"registered": len(self.registered_ids), "skipped": self.skipped, "rejected": len(self.rejections)}

    def warnings(self) -> list[dict[str, str]]:
        """The first rejections, for the pipeline_runs row (all of them are on the recordings)."""
        return [{"key": r.key, "reason": r.reason} for r in self.rejections[:MAX_WARNINGS_IN_RUN_ROW]]


# ---- the entry point ----------------------------------------------------------------------------------

def ingest_day(settings: Settings, session_factory: sessionmaker[Session], store: RecordingStore, day: date,
               agencies: Iterable[str] | None = None,
               progress: Callable[[ObjectOutcome], None] | None = None) -> IngestReport:
    """Register the recordings delivered for `day` by the given agencies (default: every agency folder).

    Raises IngestError when storage cannot be read; everything registered before that is kept."""
    requested = _requested_agencies(settings, agencies)
    run_id = runs.open_run(session_factory, "ingest", {"day": day.isoformat(), "agencies": requested,
                                                        "bucket": store.bucket, "endpoint": store.endpoint})
    tally = _Tally(progress)
    try:
        store.check()
        folders = requested if requested is not None else _agency_folders(settings, store)
        with tempfile.TemporaryDirectory(prefix="callqc-ingest-") as scratch:
            for folder in folders:
                _DayFolder(settings, store, session_factory, run_id, folder, day, tally, Path(scratch)).ingest()
    except StorageError as exc:
        runs.close_failed_run(session_factory, run_id, str(exc), tally.counts(), tally.warnings())
        raise IngestError(_storage_failure_message(store, day, exc, tally)) from exc
    except BaseException as exc:
        runs.close_failed_run(session_factory, run_id, f"{type(exc).__name__}: {exc}", tally.counts(),
                              tally.warnings())
        raise
    runs.close_run(session_factory, run_id, "completed", tally.counts(), tally.warnings())
    return IngestReport(
        run_id=run_id, day=day, agencies=tuple(folders), registered=len(tally.registered_ids),
        skipped=tally.skipped, rejected=tuple(tally.rejections), registered_ids=tuple(tally.registered_ids),
        counts_by_agency=tally.by_agency,
    )


def _requested_agencies(settings: Settings, agencies: Iterable[str] | None) -> list[str] | None:
    if agencies is None:
        return None
    codes = []
    for name in agencies:
        code = settings.agency_code(name)
        if code is None:
            raise IngestError(f"unknown agency '{name}': configured agencies are {', '.join(settings.agencies)}")
        codes.append(code)
    return codes


def _agency_folders(settings: Settings, store: RecordingStore) -> list[str]:
    """Configured agencies plus any other top-level folder in the bucket: recordings delivered under an
    unknown agency's folder must be reported, not silently left out."""
    present = [prefix.rstrip("/") for prefix in store.list_prefixes("")]
    return list(settings.agencies) + sorted(f for f in present if f not in settings.agencies)


def _storage_failure_message(store: RecordingStore, day: date, exc: StorageError, tally: _Tally) -> str:
    counts = tally.counts()
    if exc.code in CREDENTIAL_ERRORS:
        hint = "the S3 server refused the credentials: check CALLQC_S3_ACCESS_KEY and CALLQC_S3_SECRET_KEY"
    elif exc.code is None:
        hint = (f"the S3 server at {store.endpoint} did not answer: is it running? "
                "(`callqc storage up` starts the embedded one)")
    else:
        hint = "the S3 server reported an error"
    return (f"ingest of {day.isoformat()} stopped: {hint}. {exc}. "
            f"Kept: {counts['registered']} registered, {counts['rejected']} rejected before the failure; "
            f"re-run the same ingest to finish (recordings already registered are skipped).")


# ---- one agency's day folder ---------------------------------------------------------------------------

class _DayFolder:
    """Streams `{agency}/{day}/` and records every object in it."""

    def __init__(self, settings: Settings, store: RecordingStore, session_factory: sessionmaker[Session],
                 run_id: int, folder: str, day: date, tally: _Tally, scratch: Path):
        self.settings = settings
        self.store = store
        self.session_factory = session_factory
        self.run_id = run_id
        self.folder = folder
        self.agency_code = folder if folder in settings.agencies else None
        self.prefix = f"{folder}/{day.isoformat()}/"
        self.tally = tally
        self.scratch = scratch
        self.audio_extensions = tuple(ext.lower() for ext in settings.ingest.audio_extensions)
        self._last_audio_extension = max(self.audio_extensions)  # the audio key that sorts last after a stem
        self._manifest_loaded = False
        self._manifest: Manifest | None = None
        self._manifest_error: MetadataError | None = None
        # A sidecar is "without audio" only once the listing has passed every key its audio could have.
        # S3 lists keys in order, so both windows stay small; the final check asks the server directly.
        self._pending_sidecars: OrderedDict[str, StoredObject] = OrderedDict()
        self._recent_audio_stems: OrderedDict[str, None] = OrderedDict()

    def ingest(self) -> None:
        for batch in _batched(self.store.iter_objects(self.prefix), LOOKUP_BATCH):
            known = self._known_versions([obj.key for obj in batch])
            for obj in batch:
                self._settle_sidecars_listed_before(obj.key)
                self._handle(obj, known.get(obj.key, []))
        self._settle_sidecars_listed_before(None)

    # -- dispatch -----------------------------------------------------------------------------------
    def _handle(self, obj: StoredObject, versions: list[_KnownVersion]) -> None:
        name = obj.key[len(self.prefix):]
        stem, ext = _split_name(name)
        if name == MANIFEST_NAME:
            return  # metadata, read when a recording needs it
        if "/" not in name and ext == SIDECAR_EXTENSION:
            if stem not in self._recent_audio_stems:
                self._pending_sidecars[stem] = obj
            return
        if "/" not in name and ext in self.audio_extensions:
            self._recent_audio_stems[stem] = None
            self._pending_sidecars.pop(stem, None)
        same = next((v for v in versions if v.etag == obj.etag), None)
        if same is not None and not (same.status == "rejected" and same.rejection_kind in RETRIED_KINDS):
            self.tally.add(ObjectOutcome(obj.key, "skipped"))
            return
        try:
            verdict = self._examine(obj, name, stem, ext)
        except StorageError:
            raise
        except Exception as exc:  # noqa: BLE001 - a bug on one object must not stop the night's batch
            verdict = _rejected("error", f"internal error while examining {obj.key}: {type(exc).__name__}: {exc}")
        self._save(obj, stem, verdict, versions, same)

    def _examine(self, obj: StoredObject, name: str, stem: str, ext: str) -> _Verdict:
        if "/" in name:
            return _rejected("key", f"key is not in the layout {{agency}}/{{YYYY-MM-DD}}/{{call_id}}.{{ext}}: "
                                    f"'{name}' is inside a sub-folder of {self.prefix}")
        if ext not in self.audio_extensions:
            return _rejected("key", f"unsupported file type '.{ext}' for {name}: recordings must be one of "
                                    f"{', '.join(self.audio_extensions)}; metadata is {{call_id}}.json or "
                                    f"{MANIFEST_NAME}")
        if obj.size == 0:
            return _rejected("audio", f"empty object: {obj.key} has 0 bytes")
        if self.agency_code is None:
            return _rejected("metadata", f"unknown agency folder '{self.folder}/': not one of the configured "
                                         f"agencies ({', '.join(self.settings.agencies)})")
        try:
            found = self._metadata(obj, stem)
        except MetadataError as exc:
            return _rejected("metadata", f"invalid metadata: {exc}")
        if found is None:
            return _rejected("metadata", f"no metadata: no sidecar {self.prefix}{stem}.json, no S3 user metadata "
                                         f"(x-amz-meta-agent-id, …) and no row with call_id '{stem}' in "
                                         f"{self.prefix}{MANIFEST_NAME}")
        metadata, raw, source, where = found
        known = {"metadata": metadata, "raw_metadata": raw, "metadata_source": source}
        code = self.settings.agency_code(metadata.agency)
        if code is None:
            return _rejected("metadata", f"{where}: field 'agency': unknown agency '{metadata.agency}' "
                                         f"(configured: {', '.join(self.settings.agencies)})", **known)
        if code != self.agency_code:
            return _rejected("metadata", f"{where}: field 'agency': '{metadata.agency}' is agency '{code}' but the "
                                         f"recording is in the folder of '{self.agency_code}'", **known)
        if metadata.call_id is not None and metadata.call_id != stem:
            return _rejected("metadata", f"{where}: field 'call_id': '{metadata.call_id}' does not match the "
                                         f"recording's file name '{stem}.{ext}'", **known)
        from asr.audio import AudioError, probe_audio

        local = self.scratch / f"recording.{ext}"
        try:
            self.store.download(obj.key, local)
            audio = probe_audio(local, name=obj.key, max_duration_s=self.settings.ingest.max_duration_s)
        except AudioError as exc:
            return _rejected("audio", f"{exc.reason}: {exc.message}", **known)
        except StorageError as exc:
            if not exc.missing_object:
                raise
            return _rejected("error", f"{obj.key} disappeared from the bucket while being read", **known)
        finally:
            local.unlink(missing_ok=True)
        if audio.duration_s < self.settings.ingest.min_duration_s:
            return _rejected("audio", f"too_short: {obj.key} lasts {audio.duration_s:.2f} s, less than "
                                      f"ingest.min_duration_s = {self.settings.ingest.min_duration_s:g} s",
                             audio=audio, **known)
        return _Verdict("registered", audio=audio, **known)

    # -- metadata -----------------------------------------------------------------------------------
    def _metadata(self, obj: StoredObject, stem: str):
        """(metadata, raw fields, source, where) from the sidecar, S3 user metadata or manifest; None if none."""
        sidecar_key = f"{self.prefix}{stem}.{SIDECAR_EXTENSION}"
        try:
            content = self.store.get_bytes(sidecar_key)
        except StorageError as exc:
            if not exc.missing_object:
                raise
        else:
            metadata, raw = parse_sidecar(content, sidecar_key)
            return metadata, raw, "sidecar", sidecar_key
        info = self.store.stat(obj.key)
        if info is not None and has_s3_metadata(info.metadata):
            metadata, raw = parse_s3_metadata(info.metadata, obj.key)
            return metadata, raw, "s3_metadata", f"{obj.key} (S3 user metadata)"
        manifest = self._day_manifest()
        if manifest is not None:
            row = manifest.lookup(stem)
            if row is not None:
                return row[0], row[1], "manifest", manifest.key
        return None

    def _day_manifest(self) -> Manifest | None:
        if not self._manifest_loaded:
            self._manifest_loaded = True
            key = f"{self.prefix}{MANIFEST_NAME}"
            try:
                self._manifest = Manifest.parse(self.store.get_bytes(key), key)
            except StorageError as exc:
                if not exc.missing_object:
                    raise
            except MetadataError as exc:
                self._manifest_error = exc
        if self._manifest_error is not None:
            raise self._manifest_error
        return self._manifest

    # -- sidecars whose audio is missing ------------------------------------------------------------
    def _settle_sidecars_listed_before(self, current_key: str | None) -> None:
        """Reject sidecars whose audio cannot appear any more (the listing is past it, or over)."""
        while self._recent_audio_stems:
            stem = next(iter(self._recent_audio_stems))
            if current_key is not None and f"{self.prefix}{stem}.{SIDECAR_EXTENSION}" >= current_key:
                break
            self._recent_audio_stems.popitem(last=False)
        while self._pending_sidecars:
            stem, sidecar = next(iter(self._pending_sidecars.items()))
            if current_key is not None and f"{self.prefix}{stem}.{self._last_audio_extension}" >= current_key:
                break
            self._pending_sidecars.popitem(last=False)
            self._settle_sidecar(stem, sidecar)

    def _settle_sidecar(self, stem: str, sidecar: StoredObject) -> None:
        candidates = [f"{self.prefix}{stem}.{ext}" for ext in self.audio_extensions]
        if any(self.store.stat(key) is not None for key in candidates):
            return  # listed out of order, but the audio is there
        versions = self._known_versions([sidecar.key]).get(sidecar.key, [])
        if any(v.etag == sidecar.etag for v in versions):
            self.tally.add(ObjectOutcome(sidecar.key, "skipped"))
            return
        verdict = _rejected("sidecar_without_audio",
                            f"sidecar without audio: {sidecar.key} has no recording "
                            f"{stem}.{{{','.join(self.audio_extensions)}}} beside it")
        self._save(sidecar, stem, verdict, versions, None)

    # -- database -----------------------------------------------------------------------------------
    def _known_versions(self, keys: list[str]) -> dict[str, list[_KnownVersion]]:
        with session_scope(self.session_factory) as session:
            rows = session.execute(
                select(Recording.id, Recording.key, Recording.etag, Recording.version, Recording.status,
                       Recording.raw_metadata)
                .where(Recording.bucket == self.store.bucket, Recording.key.in_(keys))
            ).all()
        known: dict[str, list[_KnownVersion]] = {}
        for row in rows:
            kind = (row.raw_metadata or {}).get("rejection_kind")
            known.setdefault(row.key, []).append(_KnownVersion(row.id, row.etag, row.version, row.status, kind))
        return known

    def _save(self, obj: StoredObject, stem: str, verdict: _Verdict, versions: list[_KnownVersion],
              same: _KnownVersion | None) -> None:
        try:
            with session_scope(self.session_factory) as session:
                if same is not None:  # a metadata rejection examined again: the row is updated in place
                    row = session.get(Recording, same.id)
                else:
                    row = Recording(bucket=self.store.bucket, key=obj.key, etag=obj.etag,
                                    version=max((v.version for v in versions), default=0) + 1)
                    session.add(row)
                self._fill(row, obj, stem, verdict)
                session.flush()
                recording_id = row.id
        except IntegrityError:  # another ingest registered this object version a moment ago
            self.tally.add(ObjectOutcome(obj.key, "skipped"))
            return
        if verdict.status == "registered":
            self.tally.add(ObjectOutcome(obj.key, "registered"), recording_id)
        else:
            self.tally.add(ObjectOutcome(obj.key, "rejected", verdict.reason or ""))

    def _fill(self, row: Recording, obj: StoredObject, stem: str, verdict: _Verdict) -> None:
        row.size = obj.size
        row.call_id = stem[:128]
        row.agency = self.agency_code or self.folder[:64]
        row.status = verdict.status
        row.failure_reason = verdict.reason
        row.ingest_run_id = self.run_id
        row.metadata_source = verdict.metadata_source
        audio = verdict.audio
        row.raw_metadata = {
            "metadata": verdict.raw_metadata,
            "rejection_kind": verdict.kind,
            "audio": None if audio is None else {"dual_mono": audio.dual_mono, "codec": audio.codec},
        }
        metadata = verdict.metadata
        if metadata is not None:
            row.agent_id = metadata.agent_id
            row.account_id = metadata.account_id
            row.debt_id = metadata.debt_id
            row.callee_number = metadata.callee_number
            row.callee_relation = metadata.callee_relation
            row.product = metadata.product
            row.delinquency_bucket = metadata.delinquency_bucket
            row.direction = metadata.direction
            row.answered = metadata.answered
            row.started_at = metadata.started_at.astimezone(timezone.utc)
            row.started_at_offset_min = utc_offset_minutes(metadata.started_at)
            default_map = self.settings.agencies[self.agency_code].channel_map if self.agency_code else {}
            row.channel_map = dict(metadata.channel_map or default_map)
        if audio is not None:
            row.duration_s = audio.duration_s
            row.channels = audio.channels
            row.sample_rate = audio.sample_rate
            row.audio_format = audio.format[:16]


# ---- helpers -------------------------------------------------------------------------------------------

def _split_name(name: str) -> tuple[str, str]:
    """'a b.FLAC' -> ('a b', 'flac'); names without a dot have no extension."""
    stem, dot, ext = name.rpartition(".")
    return (stem, ext.lower()) if dot and stem else (name, "")


def _batched(items: Iterable[StoredObject], size: int) -> Iterator[list[StoredObject]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
