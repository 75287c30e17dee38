"""Data and helpers for the web app tests: seeded calls from shared/data/calls, accounts, signing in."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy.orm import Session

from callqc.db.models import SEVERITY_RANK, CallScoreRow, FindingRow, Recording, SegmentRow, TranscriptRow
from callqc.settings import Settings
from callqc.web.auth import add_user

CALLS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "calls"
PASSWORD = "correct horse battery staple"
USERS = {  # username -> (role, agency)
    "rita": ("reviewer", None),
    "max": ("manager", None),
    "ada": ("admin", None),
    "hx_viewer": ("agency_viewer", "hengxin"),
    "lz_viewer": ("agency_viewer", "lianzhong"),
}
# Numbers said in the seeded transcripts and stored in the metadata; they must never reach masked pages.
PHONE, ID_NUMBER, CARD = "13812345678", "110101199003071234", "6222021234567890"
CALLEE = "13112346630"
PII_LINE = f"我手机是{PHONE}，身份证{ID_NUMBER}，卡号{CARD}。"


@dataclass(frozen=True)
class SeededCall:
    recording_id: int
    score_id: int
    finding_ids: tuple[int, ...]
    finding_starts: tuple[float, ...]


def read_segments(call_id: str) -> list[dict]:
    with open(CALLS_DIR / f"{call_id}.segments.tsv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def seed_users(session: Session, settings: Settings) -> None:
    for username, (role, agency) in USERS.items():
        add_user(session, settings, username, PASSWORD, role, agency)


def seed_call(session: Session, *, call_id: str, agency: str, bucket: str, key: str | None = None,
              size: int | None = None, findings: list[tuple[int, str, str, str]] = (),
              pii_turn: int | None = None, score: float = 55.0, emotion: str = "calm") -> SeededCall:
    """A recording of shared/data/calls/<call_id> with its script as the transcript and findings on turns.

    findings: (turn index, rule id, category, severity). pii_turn: that turn's text is followed by PII_LINE.
    """
    meta = json.loads((CALLS_DIR / f"{call_id}.json").read_text(encoding="utf-8"))
    turns = read_segments(call_id)
    duration = float(turns[-1]["end_s"]) + 0.5
    started = datetime.fromisoformat(meta["started_at"])
    recording = Recording(
        bucket=bucket, key=key or f"{agency}/2026-11-05/{call_id}.flac", etag="e-" + call_id, size=size,
        call_id=call_id, agency=agency, agent_id=meta["agent_id"], account_id=meta["account_id"],
        callee_number=CALLEE, callee_relation=meta["callee_relation"], product=meta["product"],
        started_at=started.astimezone(timezone.utc), started_at_offset_min=int(started.utcoffset().total_seconds() // 60),
        duration_s=duration, channels=2,
        sample_rate=8000, audio_format="flac", status="scored")
    session.add(recording)
    session.flush()
    transcript = TranscriptRow(recording_id=recording.id, backend="script", model="ground-truth",
                               language="zh", duration_s=duration)
    session.add(transcript)
    session.flush()
    segments = []
    for idx, turn in enumerate(turns):
        text = turn["text"] + (PII_LINE if idx == pii_turn else "")
        segments.append(SegmentRow(transcript_id=transcript.id, idx=idx, start_s=float(turn["start_s"]),
                                   end_s=float(turn["end_s"]), speaker=turn["role"], text=text))
    session.add_all(segments)
    call_score = CallScoreRow(recording_id=recording.id, transcript_id=transcript.id, pack="cn_collection",
                              pack_version="test", score=score, flagged=True,
                              fatal=any(f[3] == "critical" for f in findings), review_priority=1.0 - score / 100,
                              severity_rank=max((SEVERITY_RANK[f[3]] for f in findings), default=0),
                              customer_emotion=emotion)
    session.add(call_score)
    session.flush()
    rows = []
    for turn_idx, rule_id, category, severity in findings:
        segment = segments[turn_idx]
        rows.append(FindingRow(call_score_id=call_score.id, recording_id=recording.id, rule_id=rule_id,
                               category=category, severity=severity, speaker=segment.speaker,
                               start_s=segment.start_s, end_s=segment.end_s, segment_ids=[segment.id],
                               text=segment.text, pack="cn_collection", pack_version="test"))
    session.add_all(rows)
    session.flush()
    return SeededCall(recording.id, call_score.id, tuple(r.id for r in rows), tuple(r.start_s for r in rows))


def seed_two_agencies(session: Session, settings: Settings, bucket: str = "recordings",
                      hengxin_key: str | None = None, hengxin_size: int | None = None) -> dict[str, SeededCall]:
    """Users plus one flagged call for hengxin (callA_04: disclosure + threat) and one for lianzhong (callA_02)."""
    seed_users(session, settings)
    hengxin = seed_call(session, call_id="callA_04", agency="hengxin", bucket=bucket, key=hengxin_key,
                        size=hengxin_size, pii_turn=5, score=40.0,
                        findings=[(4, "CN-DISCLOSE-01", "third_party_disclosure", "major"),
                                  (6, "CN-THREAT-02", "threat", "critical")])
    lianzhong = seed_call(session, call_id="callA_02", agency="联众催收", bucket=bucket, pii_turn=1, score=60.0,
                          emotion="angry", findings=[(2, "CN-INSULT-01", "insult", "major")])
    return {"hengxin": hengxin, "lianzhong": lianzhong}


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    """Sign a TestClient (or httpx.Client) in; returns the response to the login POST."""
    form = client.get("/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": csrf_from(form.text)},
                       follow_redirects=False)


def page_csrf(client, path: str) -> str:
    return csrf_from(client.get(path).text)


@dataclass
class WebEnv:
    """An app over a seeded database; `client(user)` gives a TestClient, signed in when a user is named."""

    app: object
    factory: object
    settings: Settings
    calls: dict[str, SeededCall]

    clock: "Clock | None" = None

    def client(self, username: str | None = None, base_url: str = "http://testserver",
               address: str = "testclient"):
        """A TestClient connecting from `address` (the peer address the app sees)."""
        from fastapi.testclient import TestClient

        client = TestClient(self.app, base_url=base_url, client=(address, 50000))
        if username:
            response = sign_in(client, username)
            assert response.status_code == 303, response.text
        return client


class Clock:
    """The app's clock in tests: starts now, moved forward by hand (session timeouts)."""

    def __init__(self) -> None:
        self.now = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def make_web_env(url: str, work_dir: Path, store=None, **settings_overrides) -> WebEnv:
    """An app over the database at `url`, seeded with users and the two agencies' calls; its clock is movable."""
    from callqc import db
    from callqc.web import create_app
    from conftest import make_settings

    settings = make_settings(work_dir, **settings_overrides)
    factory = db.session_factory(db.make_engine(url))
    with db.session_scope(factory) as session:
        calls = seed_two_agencies(session, settings)
    clock = Clock()
    return WebEnv(app=create_app(settings, factory, store, clock=clock), factory=factory, settings=settings,
                  calls=calls, clock=clock)
