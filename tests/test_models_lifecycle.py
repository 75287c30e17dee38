"""Model lifecycle against the real S3 server and real databases: register, promote (and refuse), load once,
corrupt artefacts, and retraining from reviewer decisions."""

from __future__ import annotations

import csv

import pytest
import yaml
from typer.testing import CliRunner

from callqc import db
from callqc.db import session_scope
from callqc.db.models import (
    CallScoreRow,
    FindingRow,
    PipelineRun,
    Recording,
    Review,
    SegmentRow,
    TranscriptRow,
)
from callqc.model_registry import (
    MODEL_KEY_PREFIX,
    ModelArtifactError,
    ModelArtifactUnreachable,
    PromotionRefused,
    list_models,
    load_artifact,
    promote,
    promoted_model,
    register_model,
)
from callqc.model_registry import clear_loaded_scorers, load_promoted_scorer
from callqc.model_registry import review_examples
from qc.models.training import VIOLATION_TRAIN_FILE, TrainingOptions, train_violation
from tests.conftest import SHARED_DIR


@pytest.fixture(autouse=True)
def _fresh_process_cache():
    clear_loaded_scorers()
    yield
    clear_loaded_scorers()


@pytest.fixture(scope="module")
def good_model():
    return train_violation(TrainingOptions(seed=0))


@pytest.fixture(scope="module")
def weak_model(tmp_path_factory):
    """A worse candidate: trained on every fifth seed utterance only."""
    with VIOLATION_TRAIN_FILE.open(encoding="utf-8") as handle:
        lines = handle.readlines()
    path = tmp_path_factory.mktemp("weak") / "violations_small.tsv"
    path.write_text(lines[0] + "".join(lines[1::5]), encoding="utf-8")
    return train_violation(TrainingOptions(seed=0), train_file=path)


def _factory(url):
    return db.session_factory(db.make_engine(url))


def test_register_promote_and_refuse_a_worse_model(db_url, store, good_model, weak_model):
    factory = _factory(db_url)
    good = register_model(good_model, factory, store)
    weak = register_model(weak_model, factory, store)
    assert weak_model.macro_f1 < good_model.macro_f1
    assert good.storage_key.startswith(MODEL_KEY_PREFIX) and store.stat(good.storage_key) is not None
    assert (good.version, weak.version) == ("violation-0001", "violation-0002")
    assert good.data_hash != weak.data_hash and good.metrics["artifact_sha256"]

    promote(factory, good.version)
    with pytest.raises(PromotionRefused, match=r"violation-0002: holdout macro-F1 0\.\d+ is worse than the "
                                               r"promoted violation-0001"):
        promote(factory, weak.version)
    assert promoted_model(factory, "violation").version == good.version
    promote(factory, weak.version, force=True)
    assert promoted_model(factory, "violation").version == weak.version
    assert [r.promoted for r in list_models(factory, "violation")] == [False, True]


def test_promoted_scorer_is_loaded_once_per_process(sqlite_url, store, good_model, weak_model):
    factory = _factory(sqlite_url)
    assert load_promoted_scorer(None, factory, store)[0] is None  # nothing promoted yet
    first = register_model(good_model, factory, store)
    promote(factory, first.version)
    scorer, warning = load_promoted_scorer(None, factory, store)
    again, _ = load_promoted_scorer(None, factory, store)
    assert warning is None and scorer is again and scorer.version == first.version
    second = register_model(weak_model, factory, store)
    promote(factory, second.version, force=True)
    reloaded, _ = load_promoted_scorer(None, factory, store)
    assert reloaded is not scorer and reloaded.version == second.version


def test_corrupt_artifact_gives_clear_error_and_rules_only_fallback(sqlite_url, store, good_model):
    factory = _factory(sqlite_url)
    record = promote(factory, register_model(good_model, factory, store).version)
    blob = store.get_bytes(record.storage_key)
    store.put_bytes(record.storage_key, blob[: len(blob) // 2])  # a truncated upload

    with pytest.raises(ModelArtifactError, match=rf"model {record.version}: artefact s3://{store.bucket}/"
                                                 rf"{record.storage_key} is corrupt"):
        load_artifact(record, store)
    scorer, warning = load_promoted_scorer(None, factory, store)
    assert scorer is None
    assert record.version in warning and "corrupt" in warning and "rules only" in warning
    assert load_promoted_scorer(None, factory, store) == (None, warning)  # the next call gets the same answer

    missing = type(record)(**{**record.__dict__, "storage_key": "models/violation/absent.joblib"})
    with pytest.raises(ModelArtifactUnreachable, match=r"cannot read artefact s3://.*/models/violation/absent"):
        load_artifact(missing, store)

    # Garbage whose checksum is registered (a bad artefact written by a bad build) fails on unpickling.
    store.put_bytes(record.storage_key, b"not a pickle")
    import hashlib

    tampered = type(record)(**{**record.__dict__, "metrics": {"artifact_sha256": hashlib.sha256(b"not a pickle").hexdigest()}})
    with pytest.raises(ModelArtifactError, match="cannot be loaded"):
        load_artifact(tampered, store)


# ---- reviewer decisions ---------------------------------------------------------------------------
# Debt statements made to the debtor ("your card is overdue") look like third-party disclosure to the text
# model: a systematic false positive. Reviewers reject it on these calls; the held-out case is a turn of a
# shared synthetic call that no review mentions.
REJECTED_AS_DISCLOSURE = [
    "您在云帆银行的信用卡已经逾期两个月了，欠款一万二千元，您看怎么安排？",
    "核实过了，您名下青禾银行的贷款逾期四十五天，本金加利息三千二百六十元。",
    "王先生，您这张卡欠款25800元，已经逾期三个月了。",
    "您的消费贷目前逾期半年，金额是九百六十元，需要您尽快处理。",
    "李女士您好，您在金桥银行的欠款是四万八千五百元，逾期一百二十多天了。",
    "您本人在瑞丰银行的信用卡目前逾期，欠款八千六百四十元。",
    "跟您核对一下，您的账户欠款12000元，逾期二十三天。",
    "您好张姐，您的贷款还有3260元没有还，已经逾期一个月了。",
    "刘先生，您在星海银行的信用卡账单逾期十天了，欠款金额是五千四百元。",
    "您的卡片尾号六六二一，目前欠款九千八百元，逾期两期。",
    "您这边在云帆银行的分期已经逾期了，欠款总额是15600元。",
    "陈女士，跟您说一下，您名下的信用卡逾期六十天，欠款七千二百元。",
]
CONFIRMED_AS_THREAT = "你再拖，我们明天就去你老家找你爸妈。"


def _held_out_turn(call_id: str, turn: int) -> str:
    with (SHARED_DIR / "data" / "calls" / f"{call_id}.segments.tsv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))[turn]["text"]


def _add_reviewed_call(session, number: int, text: str, category: str, decision: str) -> None:
    recording = Recording(bucket="recordings", key=f"hengxin/2026-11-01/c{number}.flac", etag=f"e{number}",
                          call_id=f"c{number}", agency="hengxin", status="scored")
    session.add(recording)
    session.flush()
    transcript = TranscriptRow(recording_id=recording.id, backend="faster-whisper", model="base", language="zh")
    transcript.segments = [SegmentRow(idx=0, start_s=0.0, end_s=3.0, speaker="customer", text="喂？"),
                           SegmentRow(idx=1, start_s=3.5, end_s=9.0, speaker="agent", text=text)]
    session.add(transcript)
    session.flush()
    score = CallScoreRow(recording_id=recording.id, transcript_id=transcript.id, pack="cn_collection",
                         pack_version="1", score=70.0)
    session.add(score)
    session.flush()
    # The finding's own text is only the matched words: the label must take the whole segment.
    finding = FindingRow(call_score_id=score.id, recording_id=recording.id, rule_id="model.third_party",
                         category=category, severity="major", speaker="agent", segment_ids=[1], text=text[:6],
                         source="model")
    session.add(finding)
    session.flush()
    session.add(Review(recording_id=recording.id, finding_id=finding.id, decision=decision, reviewer="qc1"))


def test_retraining_with_reviewer_rejections_removes_a_systematic_false_positive(sqlite_url, store, tmp_path):
    factory = _factory(sqlite_url)
    held_out = [_held_out_turn("callA_01", 4), _held_out_turn("callA_02", 4)]  # debt told to the debtor (the seed model still flags both)
    true_disclosure = _held_out_turn("callA_04", 4)  # debt told to a colleague: must stay flagged
    baseline = train_violation(TrainingOptions(seed=0)).model
    before = baseline.predict_proba(held_out)[:, baseline.labels.index("third_party_disclosure")]
    assert (before >= 0.5).all(), "precondition: the seed model has this false positive"

    with session_scope(factory) as session:
        for number, text in enumerate(REJECTED_AS_DISCLOSURE):
            _add_reviewed_call(session, number, text, "third_party_disclosure", "reject")
        _add_reviewed_call(session, 100, CONFIRMED_AS_THREAT, "threat", "confirm")
        _add_reviewed_call(session, 101, "好的", "missing_self_identification", "confirm")  # not a model label
    with session_scope(factory) as session:
        labels = review_examples(session)
    assert labels.used == 13 and labels.skipped == {"category not a model label": 1}
    by_text = {e.text: e.labels for e in labels.examples}
    assert by_text[REJECTED_AS_DISCLOSURE[0]] == {"third_party_disclosure": False}
    assert by_text[CONFIRMED_AS_THREAT] == {"threat": True}

    settings_file = tmp_path / "callqc.yaml"
    data = store.settings.model_dump(mode="json")
    data["database"]["url"] = sqlite_url
    settings_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    from callqc.cli import app

    result = CliRunner().invoke(app, ["models", "train", "--from-reviews", "--seed", "0", "--kind", "violation",
                                      "--settings", str(settings_file)])
    assert result.exit_code == 0, result.output
    assert "reviewer labels: 13 decisions → 13 utterances" in result.output
    assert "third_party_disclosure" in result.output and "macro-F1" in result.output
    record = promoted_model(factory, "violation") or list_models(factory, "violation")[-1]
    assert record.metrics["reviewer_examples"] == 13

    retrained = load_artifact(record, store).model
    column = retrained.labels.index("third_party_disclosure")
    after = retrained.predict_proba(held_out)[:, column]
    assert (after < 0.5).all() and (after < before).all(), (before, after)
    assert retrained.predict_proba([true_disclosure])[0, column] >= 0.5
    with session_scope(factory) as session:
        run = session.query(PipelineRun).filter_by(kind="models-train").one()
        assert run.status == "completed" and run.counts["reviewer_examples"] == 13


def test_cli_promote_refuses_worse_model_and_lists_versions(sqlite_url, store, good_model, weak_model, tmp_path):
    factory = _factory(sqlite_url)
    good = promote(factory, register_model(good_model, factory, store).version)
    weak = register_model(weak_model, factory, store)
    settings_file = tmp_path / "callqc.yaml"
    data = store.settings.model_dump(mode="json")
    data["database"]["url"] = sqlite_url
    settings_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    from callqc.cli import app

    runner = CliRunner()
    refused = runner.invoke(app, ["models", "promote", weak.version, "--settings", str(settings_file)])
    assert refused.exit_code == 1 and "worse than the promoted" in refused.output
    listing = runner.invoke(app, ["models", "list", "--settings", str(settings_file)])
    assert listing.exit_code == 0 and f"* {good.version}" in listing.output and f"  {weak.version}" in listing.output
    forced = runner.invoke(app, ["models", "promote", weak.version, "--force", "--settings", str(settings_file)])
    assert forced.exit_code == 0 and f"promoted {weak.version}" in forced.output
