"""Streaming a recording from object storage to the browser with HTTP Range support (seekable audio).

The browser never sees the bucket: the app checks the user's permission on the recording, then reads the
requested byte range from S3 itself, chunk by chunk.
"""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from typing import Iterator

from fastapi.responses import Response, StreamingResponse

from callqc.storage import RecordingStore, StorageError

CHUNK_BYTES = 512 * 1024
CONTENT_TYPES = {"wav": "audio/wav", "flac": "audio/flac", "mp3": "audio/mpeg", "ogg": "audio/ogg",
                 "m4a": "audio/mp4"}
_RANGE = re.compile(r"^bytes=([0-9]*)-([0-9]*)$")  # ASCII digits only: int() would take "²" or "٣"
MAX_POSITION_DIGITS = 18  # a longer position lies beyond any object (and int() of 5,000 digits is refused)

log = logging.getLogger(__name__)


class RangeNotSatisfiable(ValueError):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range a Range header asks for, clipped to the object; None for no (or a multi-) range."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multi-range or another unit: answer with the whole object, which RFC 9110 allows
    first, last = match.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = _position(first)
    if start >= size:
        raise RangeNotSatisfiable(header)
    end = min(_position(last), size - 1) if last else size - 1
    if end < start:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, end)


def _position(digits: str) -> int:
    """A byte position; one of more than MAX_POSITION_DIGITS digits (leading zeros aside) is past any end."""
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= MAX_POSITION_DIGITS else 10**MAX_POSITION_DIGITS


def content_type(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def _chunks(store: RecordingStore, key: str, byte_range: ByteRange) -> Iterator[bytes]:
    position = byte_range.start
    while position <= byte_range.end:
        length = min(CHUNK_BYTES, byte_range.end - position + 1)
        data = store.get_bytes(key, offset=position, length=length)
        if not data:
            return
        yield data
        position += len(data)


def audio_response(store: RecordingStore, key: str, size: int, range_header: str | None) -> Response:
    """200 with the whole object, 206 with the asked range, 416 when the range lies outside it; 404/502 when
    storage cannot give the first bytes (checked before the status line goes out)."""
    headers = {"Accept-Ranges": "bytes", "Cache-Control": "private, no-store"}
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    status = 200 if byte_range is None else 206
    byte_range = byte_range or ByteRange(0, size - 1)
    chunks = _chunks(store, key, byte_range) if size else iter(())
    try:
        first = next(chunks, b"")
    except StorageError as exc:
        log.warning("audio %s: %s", key, exc)
        missing = exc.missing_object
        return Response("recording missing from storage" if missing else "storage unavailable",
                        status_code=404 if missing else 502, media_type="text/plain")
    headers["Content-Length"] = str(byte_range.length if size else 0)
    if status == 206:
        headers["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    return StreamingResponse(itertools.chain([first], chunks), status_code=status, media_type=content_type(key),
                             headers=headers)
