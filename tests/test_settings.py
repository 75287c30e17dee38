"""Settings: the shipped file, CALLQC_SECTION__KEY overrides, bad files naming file + key + reason, and secrets
taken only from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from callqc.seaweed import LocalS3Error, s3_credentials
from callqc.settings import DEFAULT_SETTINGS_FILE, SettingsError, load_settings
from conftest import make_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "callqc.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_file_is_valid():
    settings = load_settings(environ={})
    assert settings.storage.bucket == "recordings" and settings.database.url.startswith("sqlite:///")
    assert {"hengxin", "lianzhong", "qiming", "acme-recovery"} <= set(settings.agencies)
    assert settings.agency_code("恒信资产") == "hengxin" and settings.agency_code("Acme Recovery LLC") == "acme-recovery"
    assert settings.agency_code("hengxin") == "hengxin" and settings.agency_code("Nobody Inc") is None


def test_environment_overrides_nested_keys_with_typed_values():
    settings = load_settings(environ={
        "CALLQC_STORAGE__BUCKET": "recordings-prod",
        "CALLQC_STORAGE__SECURE": "true",
        "CALLQC_STORAGE__SEAWEEDFS__S3_PORT": "9100",
        "CALLQC_INGEST__MAX_DURATION_S": "600",
        "CALLQC_INGEST__AUDIO_EXTENSIONS": "[wav, flac]",
        "CALLQC_DATABASE__URL": "postgresql+psycopg://callqc@db:5432/callqc",
        "CALLQC_WORK_DIR": "/var/lib/callqc",
        "CALLQC_UNRELATED": "ignored",
        "OTHER_STORAGE__BUCKET": "ignored",
    })
    assert settings.storage.bucket == "recordings-prod" and settings.storage.secure is True
    assert settings.storage.seaweedfs.s3_port == 9100 and settings.storage.seaweedfs.master_port == 9333
    assert settings.ingest.max_duration_s == 600 and settings.ingest.audio_extensions == ("wav", "flac")
    assert settings.database_url == "postgresql+psycopg://callqc@db:5432/callqc"
    assert settings.work_path == Path("/var/lib/callqc")
    assert settings.storage.region == "us-east-1"  # untouched keys keep the file's values


def test_a_bad_override_names_the_key():
    with pytest.raises(SettingsError) as failure:
        load_settings(environ={"CALLQC_STORAGE__SEAWEEDFS__S3_PORT": "eighty"})
    assert str(DEFAULT_SETTINGS_FILE) in str(failure.value)
    assert "storage.seaweedfs.s3_port" in str(failure.value) and "integer" in str(failure.value)


@pytest.mark.parametrize("text, key, reason", [
    ("storage:\n  secure: perhaps\n", "storage.secure", "boolean"),
    ("ingest:\n  max_duration_s: -5\n", "ingest.max_duration_s", "greater than 0"),
    ("asr:\n  backend: whisper.cpp\n", "asr.backend", "'faster-whisper' or 'openai-whisper'"),
    ("storage:\n  buckett: typo\n", "storage.buckett", "Extra inputs are not permitted"),
    ("agencies:\n  acme:\n    channel_map: {left: agent, middle: customer}\n", "agencies.acme", "name"),
])
def test_a_bad_file_names_file_key_and_reason(tmp_path, text, key, reason):
    path = write(tmp_path, text)
    with pytest.raises(SettingsError) as failure:
        load_settings(path, environ={})
    message = str(failure.value)
    assert message.startswith(str(path)) and f"key '{key}" in message and reason in message


@pytest.mark.parametrize("text, reason", [
    ("storage: [unclosed\n", "not valid YAML"),
    ("- just\n- a list\n", "top level must be a mapping"),
])
def test_a_file_that_is_not_settings_fails_naming_it(tmp_path, text, reason):
    path = write(tmp_path, text)
    with pytest.raises(SettingsError, match=reason) as failure:
        load_settings(path, environ={})
    assert str(path) in str(failure.value)


def test_a_missing_file_fails_naming_it(tmp_path):
    with pytest.raises(SettingsError, match="cannot read settings file") as failure:
        load_settings(tmp_path / "nope.yaml", environ={})
    assert "nope.yaml" in str(failure.value)


def test_the_settings_file_can_come_from_the_environment(tmp_path):
    path = write(tmp_path, "storage:\n  bucket: from-env-file\n")
    assert load_settings(environ={"CALLQC_SETTINGS": str(path)}).storage.bucket == "from-env-file"


@pytest.mark.parametrize("text", [
    "storage:\n  access_key: AKIAFROMFILE\n  secret_key: very-secret\n",
    "database:\n  url: sqlite:///x.db\n  password: hunter2\n",
    "s3_access_key: AKIAFROMFILE\n",
])
def test_secrets_in_the_file_are_refused(tmp_path, text):
    with pytest.raises(SettingsError, match="Extra inputs are not permitted"):
        load_settings(write(tmp_path, text), environ={})


def test_secrets_come_from_the_environment_only(tmp_path, monkeypatch):
    monkeypatch.setenv("CALLQC_S3_ACCESS_KEY", "env-access")
    monkeypatch.setenv("CALLQC_S3_SECRET_KEY", "env-secret")
    monkeypatch.setenv("CALLQC_DB_PASSWORD", "p@ss/word")
    settings = make_settings(tmp_path, storage={"embedded": False, "endpoint": "minio:9000"},
                             database={"url": "postgresql+psycopg://callqc@db:5432/callqc"})
    creds = s3_credentials(settings)
    assert (creds.access_key, creds.secret_key) == ("env-access", "env-secret")
    assert settings.database_url == "postgresql+psycopg://callqc:p%40ss%2Fword@db:5432/callqc"
    dumped = str(settings.model_dump())  # the password never lands in the settings object itself
    assert "p@ss" not in dumped and "env-secret" not in dumped
    # the secret variables are not settings overrides either
    assert "env-secret" not in str(load_settings(environ={"CALLQC_S3_SECRET_KEY": "env-secret"}).model_dump())


def test_without_s3_keys_in_the_environment_the_error_says_what_to_set(tmp_path, monkeypatch):
    monkeypatch.delenv("CALLQC_S3_ACCESS_KEY", raising=False)
    monkeypatch.delenv("CALLQC_S3_SECRET_KEY", raising=False)
    external = make_settings(tmp_path, storage={"embedded": False, "endpoint": "minio:9000"})
    with pytest.raises(LocalS3Error, match="set CALLQC_S3_ACCESS_KEY and CALLQC_S3_SECRET_KEY"):
        s3_credentials(external)
    embedded = make_settings(tmp_path)
    created = s3_credentials(embedded, create=True)  # the embedded server's keys live in the work dir, 0600
    key_file = tmp_path / "seaweedfs" / "credentials.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert s3_credentials(embedded) == created
    assert not any(created.secret_key in p.read_text(errors="ignore")
                   for p in Path(DEFAULT_SETTINGS_FILE).parent.rglob("*.yaml"))


def test_an_agency_can_have_its_own_language_and_rule_pack():
    settings = load_settings(environ={})
    assert settings.language_for("acme-recovery") == "en" and settings.rule_pack_for("acme-recovery") == "us_fdcpa"
    assert settings.language_for("hengxin") == settings.asr.language == "zh"
    assert settings.rule_pack_for("hengxin") == settings.qc.rule_pack == "cn_collection"
    assert settings.rule_pack_for("not-configured") == "cn_collection"


def test_an_agencys_transcription_uses_its_language_vocabulary_and_name():
    settings = load_settings()
    plain = settings.transcription_for("lianzhong")
    assert plain == {"language": "zh", "hotwords": None, "agent_cues": ("联众催收",)}  # vocabulary off by default
    on = settings.model_copy(update={"asr": settings.asr.model_copy(update={"use_vocabulary": True})})
    hotwords = on.transcription_for("lianzhong")["hotwords"].split()
    assert "工号" in hotwords and hotwords[-1] == "联众催收"
    assert on.transcription_for("acme-recovery")["hotwords"] == "Acme Recovery LLC"  # no en list: the name only
    assert on.transcription_for("unknown")["agent_cues"] == ()
