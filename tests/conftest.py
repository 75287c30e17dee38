"""Shared fixtures: a real SeaweedFS S3 server per session, databases (SQLite and PostgreSQL).

Services are started here, never assumed. Under CI=true a missing service fails the test; it never skips.
"""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from callqc.settings import Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = REPO_ROOT.parent / "shared"
SAMPLES_DIR = REPO_ROOT / "samples"
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
POSTGRES_ADMIN_URL = os.environ.get("CALLQC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# The orchestration fixtures (flows_fixtures.py) as a plugin: a session fixture must be registered once. Imported
# into several test modules, it is registered again for each, and runs once per module (the labelled run's 8
# Whisper transcriptions twice, a second Prefect server).
pytest_plugins = ["flows_fixtures"]

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _free_port() -> int:
    """A free port whose port + 10000 is free too (weed puts its gRPC listener there)."""
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 <= 65535 and _port_free(port + 10000):
            return port


def make_settings(work_dir: Path, **overrides) -> Settings:
    """Settings from configs/callqc.yaml with the work dir (and anything else) replaced."""
    base = load_settings(environ={})
    data = base.model_dump()
    data["work_dir"] = str(work_dir)
    for key, value in overrides.items():
        section, _, field = key.partition("__")
        if field:
            data[section] = {**data[section], field: value}
        else:
            data[key] = value
    return Settings.model_validate(data)


@pytest.fixture(scope="session")
def s3_settings(tmp_path_factory) -> Iterator[Settings]:
    """A real SeaweedFS server on free ports for the whole test session; its settings."""
    from callqc import seaweed

    work_dir = tmp_path_factory.mktemp("s3work")
    ports = {"master_port": _free_port(), "volume_port": _free_port(), "filer_port": _free_port(),
             "s3_port": _free_port(), "startup_timeout_s": 90}
    settings = make_settings(work_dir, storage={
        "endpoint": f"127.0.0.1:{ports['s3_port']}", "secure": False, "region": "us-east-1",
        "bucket": "recordings", "embedded": True, "seaweedfs": ports})
    saved = {k: os.environ.pop(k, None) for k in ("CALLQC_S3_ACCESS_KEY", "CALLQC_S3_SECRET_KEY")}
    seaweed.start(settings)
    try:
        yield settings
    finally:
        seaweed.stop(settings)
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value


@pytest.fixture
def bucket_settings(s3_settings) -> Settings:
    """Settings pointing at a fresh, empty bucket on the session's S3 server."""
    from callqc.storage import RecordingStore

    data = s3_settings.model_dump()
    data["storage"]["bucket"] = f"t-{uuid.uuid4().hex[:12]}"
    settings = Settings.model_validate(data)
    RecordingStore(settings).ensure_bucket()
    return settings


@pytest.fixture
def store(bucket_settings):
    from callqc.storage import RecordingStore

    return RecordingStore(bucket_settings)


def _postgres_available() -> str | None:
    from sqlalchemy import create_engine, text

    try:
        engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
        return None
    except Exception as exc:  # noqa: BLE001
        return str(exc).splitlines()[0]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """An empty, migrated database: a SQLite file, and a fresh database on the machine's PostgreSQL."""
    from callqc import db

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'callqc.db'}"
        db.upgrade(url)
        yield url
        return
    from sqlalchemy import create_engine, text

    problem = _postgres_available()
    if problem:
        if IN_CI:
            pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is required in CI: {problem}")
        pytest.skip(f"PostgreSQL not reachable here: {problem}")
    name = f"callqc_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        db.upgrade(url)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db_session_factory(db_url):
    from callqc import db

    engine = db.make_engine(db_url)
    yield db.session_factory(engine)
    engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A migrated SQLite database, for tests that need one database only."""
    from callqc import db

    url = f"sqlite:///{tmp_path / 'callqc.db'}"
    db.upgrade(url)
    return url


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR

