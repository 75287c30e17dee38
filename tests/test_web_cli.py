"""`callqc users add/disable` and `callqc serve` against a real SQLite database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
from sqlalchemy import select
from typer.testing import CliRunner

from callqc import db
from callqc.cli import app
from callqc.db.models import User
from web_fixtures import csrf_from

runner = CliRunner()


def _env(sqlite_url: str, tmp_path, **extra: str) -> dict[str, str]:
    return {"CALLQC_DATABASE__URL": sqlite_url, "CALLQC_WORK_DIR": str(tmp_path), **extra}


def _users(sqlite_url: str) -> dict[str, tuple[str, str | None, bool, str]]:
    engine = db.make_engine(sqlite_url)
    with db.session_factory(engine)() as session:
        users = {u.username: (u.role, u.agency, u.disabled, u.password_hash) for u in session.scalars(select(User))}
    engine.dispose()
    return users


def test_users_add_and_disable(sqlite_url, tmp_path):
    env = _env(sqlite_url, tmp_path, CALLQC_NEW_USER_PASSWORD="a long password 1")
    result = runner.invoke(app, ["users", "add", "wang", "--role", "agency_viewer", "--agency", "恒信资产"], env=env)
    assert result.exit_code == 0, result.output
    prompted = runner.invoke(app, ["users", "add", "li", "--role", "manager"], input="prompted pass 22\n" * 2,
                             env=_env(sqlite_url, tmp_path, CALLQC_NEW_USER_PASSWORD=""))
    assert prompted.exit_code == 0, prompted.output
    users = _users(sqlite_url)
    assert users["wang"][:3] == ("agency_viewer", "hengxin", False)  # display name stored as the agency code
    assert users["wang"][3].startswith("$argon2id$") and "a long password" not in users["wang"][3]
    assert users["li"][:3] == ("manager", None, False)

    for args, message in [
        (["users", "add", "wang", "--role", "reviewer"], "already exists"),
        (["users", "add", "x", "--role", "boss"], "role: 'boss'"),
        (["users", "add", "x", "--role", "agency_viewer"], "must be given --agency"),
        (["users", "add", "x", "--role", "agency_viewer", "--agency", "nobody"], "not a configured agency"),
        (["users", "disable", "ghost"], "no user 'ghost'"),
    ]:
        failed = runner.invoke(app, args, env=env)
        assert failed.exit_code == 1 and message in failed.output, (args, failed.output)
    short = runner.invoke(app, ["users", "add", "y", "--role", "reviewer"],
                          env=_env(sqlite_url, tmp_path, CALLQC_NEW_USER_PASSWORD="11 chars ok"))
    assert short.exit_code == 1 and "at least 12 characters" in short.output

    assert runner.invoke(app, ["users", "disable", "wang"], env=env).exit_code == 0
    assert _users(sqlite_url)["wang"][2] is True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_runs_the_app_and_refuses_production_without_secret(sqlite_url, tmp_path):
    env = {**os.environ, **_env(sqlite_url, tmp_path, CALLQC_ADMIN_PASSWORD="demo password 1")}
    env.pop("CALLQC_WEB_SECRET_KEY", None)
    refused = subprocess.run([sys.executable, "-m", "callqc.cli", "serve"], capture_output=True, text=True,
                             env={**env, "CALLQC_WEB__PRODUCTION": "true"}, timeout=60)
    assert refused.returncode == 2 and "CALLQC_WEB_SECRET_KEY" in refused.stderr

    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "callqc.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    login = client.get("/login")
                    break
                except httpx.TransportError:
                    assert server.poll() is None and time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.2)
            assert login.status_code == 200 and '<meta charset="utf-8">' in login.text
            signed_in = client.post("/login", data={"username": "admin", "password": "demo password 1",
                                                    "csrf_token": csrf_from(login.text)})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/queue"
            assert client.get("/queue").status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
