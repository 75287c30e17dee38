"""Settings: configs/callqc.yaml, overridden by CALLQC_<SECTION>__<KEY> environment variables.

Secrets never come from the file: S3 keys from CALLQC_S3_ACCESS_KEY / CALLQC_S3_SECRET_KEY (or, for the
embedded SeaweedFS only, the random keys `callqc storage up` generated under the work dir), the database
password from CALLQC_DB_PASSWORD.
"""

from __future__ import annotations

import os
from functools import lru_cache
from ipaddress import ip_network
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from qc.configs import CONFIG_DIR  # configs/ in a checkout, CALLQC_CONFIG_DIR in an installed image

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SETTINGS_FILE = CONFIG_DIR / "callqc.yaml"
ENV_PREFIX = "CALLQC_"
SECRET_ENV_VARS = ("CALLQC_S3_ACCESS_KEY", "CALLQC_S3_SECRET_KEY", "CALLQC_DB_PASSWORD")


class SettingsError(Exception):
    """A settings file or override is invalid; the message names the file, the key and the reason."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeaweedFSSettings(_Strict):
    master_port: int = Field(9333, ge=1, le=65535)
    volume_port: int = Field(8081, ge=1, le=65535)
    filer_port: int = Field(8888, ge=1, le=65535)
    s3_port: int = Field(8333, ge=1, le=65535)
    startup_timeout_s: float = Field(60, gt=0)


class StorageSettings(_Strict):
    endpoint: str = "127.0.0.1:8333"
    secure: bool = False
    region: str = "us-east-1"
    bucket: str = "recordings"
    embedded: bool = True
    seaweedfs: SeaweedFSSettings = SeaweedFSSettings()


class DatabaseSettings(_Strict):
    url: str = "sqlite:///{work_dir}/callqc.db"


class IngestSettings(_Strict):
    max_duration_s: float = Field(7200, gt=0)
    min_duration_s: float = Field(0.5, ge=0)
    audio_extensions: tuple[str, ...] = ("wav", "flac", "mp3", "ogg", "m4a")


class AsrSettings(_Strict):
    backend: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    model: str = "base"
    language: str | None = "zh"
    compute_type: str = "int8"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    beam_size: int = Field(1, ge=1, le=10)
    # Whisper's CPU threads per transcription; "auto": this machine's cores shared among the transcriptions that
    # run at once on it (callqc.pipeline.whisper_threads), so concurrent transcriptions never oversubscribe
    cpu_threads: int | Literal["auto"] = "auto"
    vad: bool = True
    batch_size: int = Field(16, ge=1)  # CUDA only: VAD chunks decoded together (BatchedInferencePipeline)
    # Domain words fed to the decoder (faster-whisper hotwords) per language, with each agency's name and its own
    # `vocabulary` added for its calls. Off by default: on the sample calls it raised compliance-term recall
    # (0.57 -> 0.73) but made decoding 18-51 % slower (docs/asr-robustness.md, "Compliance terms")
    use_vocabulary: bool = False
    vocabulary: dict[str, list[str]] = {}
    # Keep what Whisper's silence rule or the log-prob floor would drop, flagged "unsure" (off: on the sample
    # calls every such segment was a hallucination; docs/asr-robustness.md, "Every drop decision, audited")
    keep_unsure: bool = False
    split_mono: bool = True  # split a one-channel recording into agent and customer turns (asr/speakers.py)


class QcSettings(_Strict):
    rule_pack: str = "cn_collection"
    flag_threshold: float = Field(80, ge=0, le=100)
    timezone: str = "Asia/Shanghai"


ChannelRole = Literal["agent", "customer", "unknown"]


class AgencySettings(_Strict):
    name: str
    channel_map: dict[Literal["left", "right"], ChannelRole] = {"left": "agent", "right": "customer"}
    language: str | None = None  # the calls' language when it differs from asr.language (e.g. en)
    rule_pack: str | None = None  # the pack its calls are scored with when it differs from qc.rule_pack
    vocabulary: list[str] = []  # more decoder words for its calls (bank names, product names)
    # how recognition writes its name on its calls where near-sound matching does not reach (启明信息 heard as
    # 请您信息: two syllables differ); counted as the name by the self-identification rules
    heard_as: list[str] = []


class PrefectSettings(_Strict):
    deployment_name: str = "nightly-qc"
    cron: str = "0 2 * * *"
    timezone: str = "Asia/Shanghai"
    work_pool: str = "callqc-process"
    transcribe_concurrency: int = Field(2, ge=1)  # transcriptions at once in one run (local Dask processes)
    dask_address: str = ""
    # > 0: a server-side limit on transcriptions across all runs (Prefect tag concurrency limit). Off by
    # default: each limited task pays ~1.5 s of slot bookkeeping (bench/nightly_bench.py), and `callqc worker
    # --limit` with the run's own cluster, or one shared Dask cluster, already bounds what a machine runs.
    server_transcribe_limit: int = Field(0, ge=0)


class WebSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    production: bool = False
    session_idle_minutes: float = Field(30, gt=0)   # a session ends after this long without a request
    session_max_hours: float = Field(8, gt=0)       # and this long after sign-in, whatever happens
    # addresses or networks of reverse proxies whose X-Forwarded-For is believed (none: the peer's address)
    trusted_proxies: tuple[str, ...] = ()
    language: Literal["zh-CN", "en"] = "zh-CN"      # the review app's labels and messages

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"'{item}' is not an IP address or network (e.g. 10.0.0.5, 10.0.0.0/24)") from None
        return value


class Settings(_Strict):
    work_dir: Path = Path(".work")
    storage: StorageSettings = StorageSettings()
    database: DatabaseSettings = DatabaseSettings()
    ingest: IngestSettings = IngestSettings()
    asr: AsrSettings = AsrSettings()
    qc: QcSettings = QcSettings()
    agencies: dict[str, AgencySettings] = {}
    prefect: PrefectSettings = PrefectSettings()
    web: WebSettings = WebSettings()

    # ---- derived values -------------------------------------------------------------------------
    @property
    def work_path(self) -> Path:
        path = self.work_dir if self.work_dir.is_absolute() else REPO_ROOT / self.work_dir
        return path

    @property
    def database_url(self) -> str:
        url = self.database.url.replace("{work_dir}", str(self.work_path))
        password = os.environ.get("CALLQC_DB_PASSWORD")
        if password and "://" in url and "@" in url:
            scheme, rest = url.split("://", 1)
            credentials, host = rest.split("@", 1)
            if ":" not in credentials:
                from urllib.parse import quote

                url = f"{scheme}://{credentials}:{quote(password, safe='')}@{host}"
        return url

    def language_for(self, agency: str) -> str | None:
        """The transcription language of an agency's calls (its own setting, else asr.language)."""
        configured = self.agencies.get(agency)
        return configured.language if configured and configured.language else self.asr.language

    def transcription_for(self, agency: str) -> dict[str, Any]:
        """The TranscribeOptions overrides for an agency's calls (the nightly and `callqc transcribe` alike): its
        language; the decoder vocabulary (asr.vocabulary of that language, the agency's name, its own words);
        its name (and how recognition writes it) as words of the agent's side when a mono call is split into voices."""
        language = self.language_for(agency)
        configured = self.agencies.get(agency)
        words = list(self.asr.vocabulary.get(language or "", []))
        if configured:
            words += [configured.name, *configured.vocabulary]
        hotwords = " ".join(dict.fromkeys(w.strip() for w in words if w.strip())) if self.asr.use_vocabulary else ""
        return {"language": language, "hotwords": hotwords or None,
                "agent_cues": (configured.name, *configured.heard_as) if configured else ()}

    def rule_pack_for(self, agency: str) -> str:
        """The rule pack an agency's calls are scored with (its own setting, else qc.rule_pack)."""
        configured = self.agencies.get(agency)
        return configured.rule_pack if configured and configured.rule_pack else self.qc.rule_pack

    def agency_code(self, code_or_name: str) -> str | None:
        """The configured agency code for a code or display name, or None if unknown."""
        if code_or_name in self.agencies:
            return code_or_name
        for code, agency in self.agencies.items():
            if agency.name == code_or_name:
                return code
        return None


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """CALLQC_A__B=v -> {"a": {"b": v}}; values are parsed as YAML scalars (true, 3, [a, b])."""
    overrides: dict[str, Any] = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name in SECRET_ENV_VARS:
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if path[0] not in Settings.model_fields:
            continue
        try:
            value = yaml.safe_load(raw) if raw != "" else ""
        except yaml.YAMLError:
            value = raw
        node = overrides
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return overrides


def _deep_merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def load_settings(path: Path | str | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read, merge and validate settings. Raises SettingsError naming the file, key and reason."""
    environ = dict(os.environ) if environ is None else environ
    path = Path(path or environ.get("CALLQC_SETTINGS") or DEFAULT_SETTINGS_FILE)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read settings file: {exc.strerror or exc}") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: top level must be a mapping of settings, got {type(data).__name__}")
    data = _deep_merge(data, _env_overrides(environ))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"key '{'.'.join(str(p) for p in err['loc'])}': {err['msg']}" for err in exc.errors()
        )
        raise SettingsError(f"{path}: {problems}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once). Tests pass explicit Settings objects instead."""
    return load_settings()
