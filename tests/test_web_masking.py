"""One masker: the web app, rule evidence, frequency findings and exports all mask through qc/pii.

The table of number forms and presidio's vectors are in tests/test_pii.py; here: no second masker exists, and
the pages an agency viewer and a reviewer read show every seeded number masked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from web_fixtures import CALLEE, CARD, ID_NUMBER, PHONE, make_web_env

REPO = Path(__file__).resolve().parent.parent


def test_no_masker_outside_qc_pii():
    defined = []
    for package in ("callqc", "qc", "flows", "asr"):
        for path in (REPO / package).rglob("*.py"):
            if "pii" in path.relative_to(REPO).parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            defined += [f"{path.relative_to(REPO)}:{node.name}" for node in ast.walk(tree)
                        if isinstance(node, ast.FunctionDef) and node.name.startswith("mask")]
    assert defined == []
    assert not (REPO / "callqc" / "web" / "masking.py").exists()


@pytest.mark.parametrize("username", ["rita", "hx_viewer"])
def test_seeded_numbers_are_masked_on_every_page(sqlite_url, tmp_path, username):
    web = make_web_env(sqlite_url, tmp_path)
    client = web.client(username)
    call = web.calls["hengxin"]
    for path in ("/queue", f"/calls/{call.recording_id}", "/appeals"):
        html = client.get(path).text
        assert not any(number in html for number in (PHONE, ID_NUMBER, CARD, CALLEE)), path
    page = client.get(f"/calls/{call.recording_id}").text
    assert "138****5678" in page and "131****6630" in page and "**************1234" in page
    assert "************7890" in page
