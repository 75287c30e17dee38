"""Upload the sample calls (samples/calls) to the recordings bucket, as an agency would deliver them.

Each call goes to `{agency}/{date of started_at}/{call_id}.flac` with its sidecar `{call_id}.json` beside it;
the agency folder is the configured code for the sidecar's agency (code or display name). With `day`, every
call is re-dated to that day (same local time and offset), sidecar included, so a demo can ingest "today".
The labels and scripts (`*.labels.json`, `*.segments.tsv`) are ground truth for tests, not delivered.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from callqc.settings import REPO_ROOT, Settings
from callqc.storage import RecordingStore

SAMPLE_CALLS_DIR = REPO_ROOT / "samples" / "calls"
AUDIO_CONTENT_TYPES = {"flac": "audio/flac", "wav": "audio/wav", "mp3": "audio/mpeg", "ogg": "audio/ogg",
                       "m4a": "audio/mp4"}


class SampleError(RuntimeError):
    """A sample call cannot be uploaded (missing audio, unknown agency); the message names the file."""


@dataclass(frozen=True)
class UploadedObject:
    key: str
    etag: str
    unchanged: bool  # the bucket already held these exact bytes, so nothing was written


@dataclass(frozen=True)
class SampleCall:
    call_id: str
    audio: Path
    sidecar: dict

    @property
    def started_at(self) -> datetime:
        return datetime.fromisoformat(self.sidecar["started_at"])


def sample_calls(samples_dir: Path = SAMPLE_CALLS_DIR) -> list[SampleCall]:
    """The sample calls: every `{call_id}.json` sidecar (not `.labels.json`) with its audio file."""
    calls = []
    for sidecar_path in sorted(samples_dir.glob("*.json")):
        if sidecar_path.name.endswith(".labels.json"):
            continue
        call_id = sidecar_path.stem
        audio = next((p for p in sorted(samples_dir.glob(f"{call_id}.*"))
                      if p.suffix.lstrip(".") in AUDIO_CONTENT_TYPES), None)
        if audio is None:
            raise SampleError(f"{sidecar_path}: no audio file {call_id}.{{{','.join(AUDIO_CONTENT_TYPES)}}} beside it")
        calls.append(SampleCall(call_id, audio, json.loads(sidecar_path.read_text(encoding="utf-8"))))
    if not calls:
        raise SampleError(f"no sample calls (*.json sidecars) in {samples_dir}")
    return calls


def redated(sidecar: dict, day: date) -> dict:
    """The sidecar with started_at moved to `day`, keeping the local time of day and the UTC offset."""
    started = datetime.fromisoformat(sidecar["started_at"])
    return {**sidecar, "started_at": datetime.combine(day, started.timetz()).isoformat()}


def upload_samples(settings: Settings, store: RecordingStore, day: date | None = None,
                   samples_dir: Path = SAMPLE_CALLS_DIR) -> list[UploadedObject]:
    """Upload every sample call and its sidecar; objects whose bytes are already there are left alone."""
    store.ensure_bucket()
    uploaded = []
    for call in sample_calls(samples_dir):
        sidecar = redated(call.sidecar, day) if day else call.sidecar
        agency = settings.agency_code(sidecar.get("agency", ""))
        if agency is None:
            raise SampleError(f"{samples_dir / (call.call_id + '.json')}: agency '{sidecar.get('agency')}' is not "
                              f"configured (configured: {', '.join(settings.agencies)})")
        folder = f"{agency}/{datetime.fromisoformat(sidecar['started_at']).date().isoformat()}"
        extension = call.audio.suffix.lstrip(".")
        audio_bytes = call.audio.read_bytes()
        sidecar_bytes = (json.dumps(sidecar, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
        uploaded.append(_put_if_changed(store, f"{folder}/{call.call_id}.{extension}", audio_bytes,
                                        AUDIO_CONTENT_TYPES[extension]))
        uploaded.append(_put_if_changed(store, f"{folder}/{call.call_id}.json", sidecar_bytes, "application/json"))
    return uploaded


def _put_if_changed(store: RecordingStore, key: str, data: bytes, content_type: str) -> UploadedObject:
    # Re-uploading identical bytes would keep the etag, but skipping saves the transfer (a single-part
    # upload's etag is the MD5 of its bytes).
    existing = store.stat(key)
    digest = hashlib.md5(data).hexdigest()  # noqa: S324 - compared with the S3 etag, not used for security
    if existing is not None and existing.etag == digest:
        return UploadedObject(key, existing.etag, unchanged=True)
    return UploadedObject(key, store.put_bytes(key, data, content_type=content_type), unchanged=False)
