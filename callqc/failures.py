"""Why a recording failed, as a reason that starts with its kind, and whether trying again can help.

Kinds: `audio` (the bytes are not usable audio) and `changed` (the object was re-uploaded since ingest) depend
only on the object version, so a run never retries them for the same etag (a new upload gets a new etag and a
new recording row); `storage`, `database` and `error` may pass next time, so the next run tries again.
Classification is by exception type.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

from asr.audio import AudioError
from callqc.storage import StorageError

PERMANENT_FAILURE_KINDS = ("audio", "changed")


class RecordingChangedError(RuntimeError):
    """The object under a key no longer has the etag ingest registered: it was re-uploaded since."""


def failure_kind(reason: str | None) -> str:
    return (reason or "").split(":", 1)[0]


def failure_reason(exc: BaseException) -> str:
    """`kind: message` — kind is audio / changed (permanent for this etag) or storage / database / error."""
    kind = "error"
    if isinstance(exc, RecordingChangedError):
        kind = "changed"
    elif isinstance(exc, AudioError):
        kind = "audio"
    elif isinstance(exc, StorageError):
        kind = "storage"
    elif isinstance(exc, SQLAlchemyError):
        kind = "database"
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"{kind}: {message}"[:2000]


def is_transient(exc: BaseException) -> bool:
    """Worth retrying: S3 or database unreachable / busy, network errors. Never bad audio."""
    if isinstance(exc, (RecordingChangedError, AudioError)):
        return False
    if isinstance(exc, DBAPIError):
        return isinstance(exc, OperationalError) or exc.connection_invalidated
    if isinstance(exc, (StorageError, ConnectionError, TimeoutError)):
        return True
    # callqc.ingest wraps the storage fault that stopped it in IngestError
    return exc.__cause__ is not None and is_transient(exc.__cause__)
