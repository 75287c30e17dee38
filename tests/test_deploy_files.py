"""Docker does not run here: keep Dockerfile and docker-compose.yml consistent with the code instead."""

from __future__ import annotations

import re
import tomllib

import pytest
import typer.main
import yaml

from callqc.cli import app
from callqc.settings import _env_overrides, load_settings
from tests.conftest import REPO_ROOT

COMPOSE = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
DOCKERFILE = (REPO_ROOT / "Dockerfile").read_text()


def _cli_paths() -> set[tuple[str, ...]]:
    """Every command path of the `callqc` CLI, e.g. ("db", "upgrade")."""
    paths: set[tuple[str, ...]] = set()

    def walk(command, prefix: tuple[str, ...]) -> None:
        if getattr(command, "commands", None):  # a group (typer vendors its own click)
            for name, sub in command.commands.items():
                walk(sub, prefix + (name,))
        else:
            paths.add(prefix)

    walk(typer.main.get_command(app), ())
    return paths


def test_compose_has_the_production_services():
    assert {"minio", "postgres", "prefect-server", "prefect-worker", "web"} <= set(COMPOSE["services"])
    assert COMPOSE["services"]["web"]["ports"] == ["8000:8000"]


@pytest.mark.parametrize("service", ["migrate", "prefect-worker", "web"])
def test_callqc_environment_is_valid_settings(service, monkeypatch):
    env = {k: str(v) for k, v in COMPOSE["services"][service]["environment"].items()}
    callqc_env = {k: v for k, v in env.items() if k.startswith("CALLQC_")}
    overrides = _env_overrides(callqc_env)
    assert overrides, "the service must configure CallQC through CALLQC_ variables"
    settings = load_settings(environ=callqc_env)
    assert settings.storage.endpoint == "minio:9000" and settings.storage.embedded is False
    assert settings.database_url.startswith("postgresql+psycopg://callqc")
    # secrets are passed through from the host environment, never written into the file
    for secret in ("CALLQC_S3_ACCESS_KEY", "CALLQC_S3_SECRET_KEY", "CALLQC_DB_PASSWORD"):
        assert env[secret].startswith("${"), secret


def test_compose_commands_exist_in_the_cli():
    paths = _cli_paths()
    services = COMPOSE["services"]
    assert tuple(services["migrate"]["command"][:2]) in paths
    assert (services["web"]["command"][0],) in paths
    worker_shell = services["prefect-worker"]["entrypoint"][-1]
    for command in re.findall(r"callqc ([a-z-]+)", worker_shell):
        assert (command,) in paths, command


def test_minio_port_matches_the_storage_endpoint():
    endpoint_port = COMPOSE["x-callqc-env"]["CALLQC_STORAGE__ENDPOINT"].split(":")[1]
    assert f"{endpoint_port}:{endpoint_port}" in COMPOSE["services"]["minio"]["ports"]


def test_dockerfile_pins_the_same_torch_and_copies_every_package():
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    torch_pin = next(d for d in pyproject["project"]["dependencies"] if d.startswith("torch"))
    assert f'"{torch_pin}"' in DOCKERFILE
    for package in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]:
        name = package.rstrip("*")
        assert f"COPY {name} ./{name}" in DOCKERFILE
        assert (REPO_ROOT / name).is_dir()
    assert "COPY configs ./configs" in DOCKERFILE
