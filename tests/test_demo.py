"""README command 1 (`callqc demo`) end to end in a subprocess: its own work dir and free ports, the real
SeaweedFS server, SQLite, Prefect's temporary server, Whisper, the rule packs and the seed models."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO_ROOT, _free_port


@pytest.mark.slow
def test_demo_runs_the_nightly_job_and_says_where_the_report_and_ui_are(tmp_path):
    s3_port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CALLQC_", "PREFECT_"))}
    env.update({
        "CALLQC_WORK_DIR": str(tmp_path / "work"),
        "CALLQC_STORAGE__ENDPOINT": f"127.0.0.1:{s3_port}",
        "CALLQC_STORAGE__SEAWEEDFS__S3_PORT": str(s3_port),
        "CALLQC_STORAGE__SEAWEEDFS__MASTER_PORT": str(_free_port()),
        "CALLQC_STORAGE__SEAWEEDFS__VOLUME_PORT": str(_free_port()),
        "CALLQC_STORAGE__SEAWEEDFS__FILER_PORT": str(_free_port()),
        "COLUMNS": "300",  # rich wraps at the terminal width: keep each path on one line
        "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", str(REPO_ROOT / ".work" / "numba-cache")),
    })

    result = subprocess.run([sys.executable, "-m", "callqc.cli", "demo", "--runner", "threads"], env=env,
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]

    assert "trained and promoted violation-0001" in output and "trained and promoted emotion-0001" in output
    assert "Nightly QC" in output and "Flagged for review" in output
    assert "callqc serve" in output and "http://127.0.0.1:8000/" in output
    report = re.search(r"Report:\s*(\S+\.html)", output)
    assert report and Path(report.group(1)).stat().st_size > 10_000

    database = sqlite3.connect(tmp_path / "work" / "callqc.db")
    scored = dict(database.execute(
        "select r.call_id, s.flagged from recordings r join call_scores s on s.recording_id = r.id").fetchall())
    assert len(scored) == 12  # 8 Mandarin + 4 English sample calls, each scored once
    for violating in ("callA_02", "callA_04", "callA_05", "callA_06", "acme_02", "acme_03"):
        assert scored[violating] == 1, violating
    for compliant in ("callA_01", "callA_03", "callA_08", "acme_04"):
        assert scored[compliant] == 0, compliant
    packs = dict(database.execute(
        "select r.agency, s.pack from recordings r join call_scores s on s.recording_id = r.id").fetchall())
    assert packs["acme-recovery"] == "us_fdcpa" and packs["hengxin"] == "cn_collection"
    # the demo stopped the S3 server it started
    assert not (tmp_path / "work" / "seaweedfs" / "weed.pid").exists()
