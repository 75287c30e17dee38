"""Synthetic flagged calls in bulk, for the load benchmark (bench/web_bench.py) and the review-app tests.

Rows are written with bulk inserts and explicit ids (10k calls with transcripts in a few seconds). Everything
is made up: numbers in the transcripts are random and exist only to exercise masking.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, insert, select, text
from sqlalchemy.orm import Session

from callqc.db.models import SEVERITY_RANK, CallScoreRow, FindingRow, Recording, SegmentRow, TranscriptRow
from callqc.settings import Settings
from callqc.web.queries import SEVERITIES

RULES = (("CN-THREAT-01", "threat"), ("CN-INSULT-01", "insult"), ("CN-IMPERSONATE-01", "impersonation"),
         ("CN-FALSE-01", "false_consequence"), ("CN-DISCLOSE-01", "third_party_disclosure"),
         ("CN-SELFID-01", "missing_self_identification"), ("CN-PRESSURE-01", "pressure"),
         ("CN-HOURS-01", "calling_hours"))
AGENT_LINES = ("您好，这里是{agency}，工号{n}，本次通话会全程录音。", "您的信用卡已经逾期，请尽快还款。",
               "再不还钱我们就去你单位找你领导。", "请问您什么时候方便处理一下？")
CUSTOMER_LINES = ("我知道了，这个月底一定还。", "你们天天打电话，烦不烦啊！", "我手机是{phone}，有事打这个。",
                  "我现在确实没钱，能不能分期？")
EMOTIONS = ("calm", "calm", "calm", "angry", "distressed")


@dataclass(frozen=True)
class SyntheticCalls:
    recording_ids: range
    findings: int
    segments: int


def _next_id(session: Session, model) -> int:
    return (session.scalar(select(func.max(model.id))) or 0) + 1


def _utc_offset_min(settings: Settings, agency: str) -> int:
    """The callee's UTC offset: US Eastern (standard time) for an English-language agency, else China's."""
    return -300 if settings.language_for(agency) == "en" else 480


def add_synthetic_calls(session: Session, settings: Settings, count: int, *, seed: int = 7,
                        segments_per_call: int = 12, start: datetime | None = None,
                        bucket: str = "recordings") -> SyntheticCalls:
    """`count` flagged calls with a transcript, a score and 1–4 findings each, spread over 30 days."""
    rng = random.Random(seed)
    start = start or datetime(2026, 10, 1, tzinfo=timezone.utc)
    agencies = list(settings.agencies) or ["agency-a", "agency-b"]
    first_rec, first_tr = _next_id(session, Recording), _next_id(session, TranscriptRow)
    first_seg, first_score, first_f = (_next_id(session, SegmentRow), _next_id(session, CallScoreRow),
                                       _next_id(session, FindingRow))
    recordings, transcripts, segments, scores, findings = [], [], [], [], []
    for i in range(count):
        rec_id, tr_id, score_id = first_rec + i, first_tr + i, first_score + i
        code = agencies[i % len(agencies)]
        # Half of the recordings carry the agency's display name, as sidecars may.
        agency = settings.agencies[code].name if code in settings.agencies and i % 2 else code
        duration = rng.uniform(60, 300)
        call_id = f"syn{rec_id:06d}"
        started = start + timedelta(minutes=rng.randrange(30 * 24 * 60))
        recordings.append(dict(id=rec_id, bucket=bucket, key=f"{code}/{started:%Y-%m-%d}/{call_id}.flac",
                               etag=f"syn{rec_id}", call_id=call_id, agency=agency,
                               agent_id=f"{code[:2].upper()}-{rng.randrange(100, 140)}",
                               callee_number=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                               started_at=started, started_at_offset_min=_utc_offset_min(settings, code),
                               duration_s=duration, status="scored", channel_map={},
                               raw_metadata={}))
        transcripts.append(dict(id=tr_id, recording_id=rec_id, backend="synthetic", model="none", language="zh",
                                duration_s=duration, features={}))
        step = duration / segments_per_call
        for idx in range(segments_per_call):
            speaker = "agent" if idx % 2 == 0 else "customer"
            line = rng.choice(AGENT_LINES if speaker == "agent" else CUSTOMER_LINES)
            line_text = line.format(agency=agency, n=rng.randrange(1000, 9999),
                               phone=f"13{rng.randrange(10**9):09d}")
            segments.append(dict(id=first_seg + len(segments), transcript_id=tr_id, idx=idx, start_s=idx * step,
                                 end_s=(idx + 0.9) * step, speaker=speaker, text=line_text, flags=[]))
        n_findings = rng.randint(1, 4)
        call_findings = []
        for _ in range(n_findings):
            rule_id, category = rng.choice(RULES)
            at = rng.randrange(segments_per_call)
            call_findings.append(dict(
                id=first_f + len(findings) + len(call_findings), call_score_id=score_id, recording_id=rec_id,
                rule_id=rule_id, category=category, severity=rng.choice(SEVERITIES), speaker="agent",
                start_s=at * step, end_s=(at + 0.9) * step, segment_ids=[], text="再不还钱我们就去你单位找你领导。",
                source="rule", status=rng.choice(("open", "open", "open", "confirmed", "rejected"))))
        findings.extend(call_findings)
        open_left = any(f["status"] == "open" for f in call_findings)
        decided = any(f["status"] != "open" for f in call_findings)
        score = rng.uniform(10, 79)
        scores.append(dict(id=score_id, recording_id=rec_id, transcript_id=tr_id, pack=settings.rule_pack_for(code),
                           pack_version="synthetic", score=score, flagged=True,
                           fatal=any(f["severity"] == "critical" for f in call_findings),
                           severity_rank=max(SEVERITY_RANK[f["severity"]] for f in call_findings),
                           review_priority=round(rng.random(), 3), customer_emotion=rng.choice(EMOTIONS),
                           review_status="done" if not open_left else ("in_review" if decided else "pending")))
    for model, rows in ((Recording, recordings), (TranscriptRow, transcripts), (SegmentRow, segments),
                        (CallScoreRow, scores), (FindingRow, findings)):
        for chunk in range(0, len(rows), 5000):
            session.execute(insert(model), rows[chunk:chunk + 5000])
        if session.bind.dialect.name == "postgresql":  # explicit ids do not advance the serial sequence
            table = model.__tablename__
            session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"(SELECT max(id) FROM {table}))"))
    return SyntheticCalls(recording_ids=range(first_rec, first_rec + count), findings=len(findings),
                          segments=len(segments))
