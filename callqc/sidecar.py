"""Recording metadata: one pydantic model for the three places an agency may put it.

The recording contract (DESIGN.md) accepts, in this order of precedence:
  1. a sidecar `{call_id}.json` beside the audio,
  2. S3 user metadata on the audio object (`x-amz-meta-agent-id: HX-4712`, …),
  3. a row of the day's `{agency}/{YYYY-MM-DD}/manifest.csv` whose `call_id` is the audio's file stem.
All three use the same field names (S3 metadata may spell `_` as `-`). Validation errors name the object key
(and the manifest row) and the field, e.g. `hengxin/2026-11-02/c1.json: field 'started_at': …`.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any, Literal

from pydantic import AliasChoices, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from qc.domain import CalleeRelation, Speaker, channel_map_of

MetadataSource = Literal["sidecar", "s3_metadata", "manifest"]

# The fields whose presence in S3 user metadata means "this object carries its metadata itself".
_S3_METADATA_MARKERS = ("agent_id", "account_id", "started_at")


class MetadataError(ValueError):
    """Metadata that cannot be used; the message names the key (and row) and the field."""


class RecordingMetadata(BaseModel):
    """What an agency tells us about one call. Lengths match the columns of the `recordings` table."""

    model_config = ConfigDict(extra="ignore", frozen=True, str_strip_whitespace=True)

    call_id: str | None = Field(None, min_length=1, max_length=128)
    agency: str = Field(min_length=1, max_length=64)  # the agency code or its display name
    agent_id: str = Field(min_length=1, max_length=64)
    account_id: str = Field(min_length=1, max_length=64)
    started_at: AwareDatetime  # must carry its UTC offset: calling-hours rules judge the callee's local time
    callee_number: str = Field("", max_length=32)
    callee_relation: CalleeRelation = "unknown"
    product: str | None = Field(None, max_length=32)
    delinquency_bucket: str | None = Field(None, max_length=16)
    direction: Literal["outbound", "inbound"] = "outbound"
    debt_id: str | None = Field(None, max_length=64)
    answered: bool = True
    channel_map: dict[Literal["left", "right"], Speaker] | None = Field(
        None, validation_alias=AliasChoices("channel_map", "channels"))

    @field_validator("channel_map", mode="before")
    @classmethod
    def _channels_named_left_and_right(cls, value: Any) -> Any:
        return channel_map_of(value) if isinstance(value, dict) else value  # "L"/"R" as well as "left"/"right"

    @field_validator("callee_number", mode="before")
    @classmethod
    def _number_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value


def _validate(data: dict[str, Any], where: str) -> RecordingMetadata:
    try:
        return RecordingMetadata.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = ".".join(str(part) for part in error["loc"]) or "(whole document)"
            problems.append(f"field '{field}': {error['msg']}")
        raise MetadataError(f"{where}: {'; '.join(problems)}") from None


def parse_sidecar(content: bytes, key: str) -> tuple[RecordingMetadata, dict[str, Any]]:
    """Validate a sidecar JSON document; returns the model and the raw document."""
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise MetadataError(f"{key}: sidecar is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise MetadataError(f"{key}: sidecar is not valid JSON (line {exc.lineno} column {exc.colno}: "
                            f"{exc.msg})") from None
    if not isinstance(data, dict):
        raise MetadataError(f"{key}: sidecar must be a JSON object, got {type(data).__name__}")
    return _validate(data, key), data


def _s3_fields(user_metadata: dict[str, str]) -> dict[str, Any]:
    """x-amz-meta-agent-id → agent_id; channel-left/channel-right (or channels=left:agent,right:customer)."""
    fields: dict[str, Any] = {name.lower().replace("-", "_"): value for name, value in user_metadata.items()}
    left, right = fields.pop("channel_left", None), fields.pop("channel_right", None)
    if left or right:
        fields["channel_map"] = {k: v for k, v in (("left", left), ("right", right)) if v}
    elif isinstance(fields.get("channels"), str):
        pairs = [item.split(":", 1) if ":" in item else item.split("=", 1)
                 for item in fields.pop("channels").split(",") if item.strip()]
        fields["channel_map"] = {p[0].strip(): (p[1].strip() if len(p) > 1 else "") for p in pairs}
    return fields


def has_s3_metadata(user_metadata: dict[str, str]) -> bool:
    fields = _s3_fields(user_metadata)
    return any(fields.get(marker) for marker in _S3_METADATA_MARKERS)


def parse_s3_metadata(user_metadata: dict[str, str], key: str) -> tuple[RecordingMetadata, dict[str, Any]]:
    fields = _s3_fields(user_metadata)
    return _validate(fields, f"{key} (S3 user metadata)"), fields


class Manifest:
    """A day's manifest.csv: one row per call, looked up by call_id. Rows are validated on lookup, so one bad
    row rejects only its own recording."""

    def __init__(self, key: str, rows: dict[str, tuple[int, dict[str, Any]]], problems: dict[str, str]):
        self.key = key
        self._rows = rows
        self._problems = problems  # call_id -> why its row(s) cannot be used

    @classmethod
    def parse(cls, content: bytes, key: str) -> "Manifest":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise MetadataError(f"{key}: manifest is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "call_id" not in [name.strip() for name in reader.fieldnames]:
            raise MetadataError(f"{key}: manifest has no 'call_id' column (header: {reader.fieldnames})")
        rows: dict[str, tuple[int, dict[str, Any]]] = {}
        problems: dict[str, str] = {}
        for line_no, row in enumerate(reader, start=2):  # line 1 is the header
            fields = {(name or "").strip(): (value or "").strip() for name, value in row.items() if name}
            fields = _s3_fields({k: v for k, v in fields.items() if v != ""})  # empty cell = not given
            call_id = fields.get("call_id", "")
            if not call_id:
                continue
            if call_id in rows:
                problems[call_id] = f"{key}: rows {rows[call_id][0]} and {line_no} both describe call_id '{call_id}'"
            rows[call_id] = (line_no, fields)
        return cls(key, rows, problems)

    def lookup(self, call_id: str) -> tuple[RecordingMetadata, dict[str, Any]] | None:
        """The validated row for call_id, None if the manifest has no such row; MetadataError if it is bad."""
        if call_id in self._problems:
            raise MetadataError(self._problems[call_id])
        if call_id not in self._rows:
            return None
        line_no, fields = self._rows[call_id]
        return _validate(fields, f"{self.key} line {line_no}"), fields


def utc_offset_minutes(moment: datetime) -> int:
    offset = moment.utcoffset()
    return int(offset.total_seconds() // 60) if offset is not None else 0
