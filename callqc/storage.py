"""Object storage for recordings: the `minio` client behind a small API.

Works against any S3 endpoint (MinIO in production, the embedded SeaweedFS by default). The recording
contract (DESIGN.md): key `{agency}/{YYYY-MM-DD}/{call_id}.{ext}`, metadata in a sidecar `{call_id}.json`
beside it, or in S3 user metadata, or in a per-day `{agency}/{YYYY-MM-DD}/manifest.csv`.
The pipeline only reads recordings: nothing here deletes or overwrites an object under a recording prefix.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Iterator

from minio import Minio
from minio.error import S3Error

from callqc.seaweed import s3_credentials
from callqc.settings import Settings


class StorageError(RuntimeError):
    """An S3 call failed; the message names the endpoint, bucket, key and the server's reason.

    `code` is the S3 error code (NoSuchKey, InvalidAccessKeyId, ...) when the server answered, None when it
    could not be reached."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code

    @property
    def missing_object(self) -> bool:
        return self.code in MISSING_OBJECT_CODES


@dataclass(frozen=True)
class StoredObject:
    key: str
    etag: str
    size: int
    metadata: dict[str, str]  # x-amz-meta-* user metadata, lower-case names without the prefix


MISSING_OBJECT_CODES = ("NoSuchKey", "NoSuchObject", "NotFound")


def _clean_etag(etag: str | None) -> str:
    return (etag or "").strip('"')


class RecordingStore:
    """Read (and, for uploads by tools/tests, write) objects in the recordings bucket."""

    def __init__(self, settings: Settings, client: Minio | None = None, bucket: str | None = None,
                 page_size: int = 1000):
        self.settings = settings
        self.bucket = bucket or settings.storage.bucket
        self.endpoint = settings.storage.endpoint
        self.page_size = page_size  # keys per listing request (S3 caps it at 1000)
        if client is None:
            creds = s3_credentials(settings)
            client = Minio(self.endpoint, access_key=creds.access_key, secret_key=creds.secret_key,
                           secure=settings.storage.secure, region=settings.storage.region)
        self.client = client

    def _error(self, action: str, key: str | None, exc: Exception) -> StorageError:
        where = f"s3://{self.bucket}/{key}" if key else f"s3://{self.bucket}"
        if isinstance(exc, S3Error):
            return StorageError(f"{action} {where} at {self.endpoint} failed — {exc.code}: {exc.message}", exc.code)
        return StorageError(f"{action} {where} at {self.endpoint} failed — {type(exc).__name__}: {exc}")

    # ---- bucket --------------------------------------------------------------------------------
    def ensure_bucket(self) -> None:
        try:
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket)
        except Exception as exc:  # noqa: BLE001
            raise self._error("create bucket", None, exc) from exc

    def check(self) -> None:
        """Raise StorageError unless the endpoint answers, the credentials work and the bucket exists."""
        # A one-key listing rather than bucket_exists: a HEAD's error has no body, so wrong keys would read as
        # a bare AccessDenied instead of InvalidAccessKeyId / SignatureDoesNotMatch
        try:
            next(iter(self.client._list_objects(self.bucket, max_keys=1, encoding_type="url")), None)
        except S3Error as exc:
            if exc.code == "NoSuchBucket":
                raise StorageError(f"bucket s3://{self.bucket} does not exist at {self.endpoint}", exc.code) from exc
            raise self._error("check", None, exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise self._error("check", None, exc) from exc

    # ---- reading -------------------------------------------------------------------------------
    def iter_objects(self, prefix: str = "", recursive: bool = True) -> Iterator[StoredObject]:
        """Stream the listing page by page (the client follows continuation tokens lazily)."""
        try:
            # minio's public list_objects has no page-size argument; its lister does (minio is pinned < 8)
            pages = self.client._list_objects(self.bucket, prefix=prefix, delimiter=None if recursive else "/",
                                              encoding_type="url", max_keys=self.page_size)
            for obj in pages:
                if obj.is_dir:
                    continue
                yield StoredObject(key=obj.object_name, etag=_clean_etag(obj.etag), size=obj.size or 0, metadata={})
        except Exception as exc:  # noqa: BLE001
            raise self._error("list", prefix, exc) from exc

    def list_prefixes(self, prefix: str = "") -> list[str]:
        try:
            return [o.object_name for o in self.client.list_objects(self.bucket, prefix=prefix) if o.is_dir]
        except Exception as exc:  # noqa: BLE001
            raise self._error("list", prefix, exc) from exc

    def stat(self, key: str) -> StoredObject | None:
        """Object info with its user metadata, or None if there is no such key."""
        try:
            info = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in MISSING_OBJECT_CODES:
                return None
            raise self._error("stat", key, exc) from exc
        except Exception as exc:  # noqa: BLE001
            raise self._error("stat", key, exc) from exc
        metadata = {}
        for name, value in (info.metadata or {}).items():
            lower = name.lower()
            if lower.startswith("x-amz-meta-"):
                metadata[lower.removeprefix("x-amz-meta-")] = value
        return StoredObject(key=key, etag=_clean_etag(info.etag), size=info.size or 0, metadata=metadata)

    def get_bytes(self, key: str, offset: int = 0, length: int = 0) -> bytes:
        response = None
        try:
            response = self.client.get_object(self.bucket, key, offset=offset, length=length)
            return response.read()
        except Exception as exc:  # noqa: BLE001
            raise self._error("get", key, exc) from exc
        finally:
            if response is not None:
                response.close()
                response.release_conn()

    def download(self, key: str, path: Path) -> Path:
        try:
            self.client.fget_object(self.bucket, key, str(path))
        except Exception as exc:  # noqa: BLE001
            raise self._error("download", key, exc) from exc
        return path

    def presigned_get(self, key: str, expires: timedelta = timedelta(minutes=15)) -> str:
        return self.client.presigned_get_object(self.bucket, key, expires=expires)

    # ---- writing (uploads by tools and tests; the pipeline itself never writes under recordings) --
    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream",
                  metadata: dict[str, str] | None = None) -> str:
        return self.put_stream(key, io.BytesIO(data), len(data), content_type, metadata)

    def put_stream(self, key: str, stream: BinaryIO, length: int, content_type: str = "application/octet-stream",
                   metadata: dict[str, str] | None = None) -> str:
        try:
            result = self.client.put_object(self.bucket, key, stream, length, content_type=content_type,
                                            metadata=metadata or None)
        except Exception as exc:  # noqa: BLE001
            raise self._error("put", key, exc) from exc
        return _clean_etag(result.etag)

    def put_file(self, key: str, path: Path, content_type: str = "application/octet-stream",
                 metadata: dict[str, str] | None = None) -> str:
        try:
            result = self.client.fput_object(self.bucket, key, str(path), content_type=content_type,
                                             metadata=metadata or None)
        except Exception as exc:  # noqa: BLE001
            raise self._error("put", key, exc) from exc
        return _clean_etag(result.etag)
