"""ASR-robust matching (issue 13 item 4): near-sound phrases on toneless pinyin, lexicons from the pack and the
settings, numbers in either form. CN-05 (no self-identification in the first 30 s) must not fire when the
agent says the agency or 工号 in a form Whisper writes, and must still fire when they say neither."""

from __future__ import annotations

import dataclasses

import pytest

from qc.textnorm import normalize_for_matching
from qc.domain import Segment, Transcript
from qc.rules import load_pack
from qc.rules.sounds import sound_hits, sound_pattern, sound_text
from qc.scoring import score_call
from rules_fixtures import build_scenario, load_shared_call


def _cn05(pack, turns, **case):
    scenario = build_scenario({"turns": turns, **case}, "zh")
    result = score_call(scenario.call, scenario.transcript, pack)
    return [f for f in result.findings if f.rule_id == "CN-05"]


@pytest.mark.parametrize("said", [
    "喂你好这边是连众催生服务公司公号0385受云帆银行委托",     # the ASR output: 连众催生 + 公号
    "我这边是连众催省，公号零四一七，通话全程录音",           # 催省, digits in characters
    "喂，您好，我这边是恒心资产管理的，本次通话会全程录音",   # 恒信 → 恒心, no 工号
    "喂您好我的公号是4712请问是孙先生吗",                      # 公号 alone, Arabic digits
    "喂，你好，联中催收的，请问是赵海峰本人吗",               # 联众 → 联中
    "喂，您好，這邊是啟明信息服務的，工號二零九六",           # Traditional characters
    "您好，我是坐席3389号，请问是马先生吗",                    # staff-number format without 工号
])
def test_cn05_silent_when_agency_or_staff_number_said_in_an_asr_variant(said):
    assert not _cn05(load_pack("cn_collection"), [f"agent: {said}", "customer: 嗯，你说"])


@pytest.mark.parametrize("turns", [
    ["agent: 喂，你好，是周明杰吧？", "customer: 对，你哪位", "agent: 先麻烦你报一下身份证后四位，核对一下身份"],
    ["agent: 喂，我是专门负责你那笔欠款的，哪里的你就别问了"],
    ["agent: 喂你好请问是马文斌吗", "customer: 你们是连众催生的吗？公号多少？"],   # only the customer says it
    ["agent: 喂你好公开透明地跟你说一下你的欠款情况"],                              # 公开 is not 工号
    # said, but after 30 s of the agent's own talk
    ["agent@0-35: 喂你好是张三吗请你核对一下身份证后四位然后我们谈一下你的欠款问题这个问题已经拖了很久了",
     "agent@36-40: 我这边是连众催生的，公号零三八五"],
])
def test_cn05_still_fires_without_identification(turns):
    found = _cn05(load_pack("cn_collection"), turns)
    assert len(found) == 1 and found[0].category == "missing_self_identification"


def test_sound_alike_is_a_per_rule_switch(tmp_path):
    pack_text = (load_pack("cn_collection").path.read_text(encoding="utf-8")
                 .replace("    sound_alike: true\n", "    sound_alike: false\n", 1))
    exact_only = tmp_path / "cn_exact.yaml"
    exact_only.write_text(pack_text, encoding="utf-8")
    turns = ["agent: 喂你好这边是连众催生的，我的公号，零三八五", "customer: 嗯"]
    assert _cn05(load_pack(exact_only), turns)  # without the switch the ASR variants are not recognised
    assert not _cn05(load_pack("cn_collection"), turns)
    assert not _cn05(load_pack(exact_only), ["agent: 喂你好这边是联众催收的工号0385"])


def test_agency_names_from_settings_extend_the_pack_lexicon():
    turns = ["agent: 喂您好我是顶胜资产的小王请问是李女士吗", "customer: 是我"]  # 鼎盛资产, as ASR wrote it
    plain = load_pack("cn_collection")
    with_settings = load_pack("cn_collection", lexicons={"agency_names": ["鼎盛资产"]})
    assert _cn05(plain, turns) and not _cn05(with_settings, turns)
    assert with_settings.version != plain.version  # the added name changes what the pack does
    same = load_pack("cn_collection", lexicons={"agency_names": ["联众催收"]})  # already in the pack
    assert same.version == plain.version


def test_labelled_calls_with_asr_variants():
    """callA_05 with the identification turn as Whisper wrote it stays silent; callA_06 (never identifies)
    still fires, also with homophones elsewhere in the call."""
    pack = load_pack("cn_collection")
    call, transcript, _ = load_shared_call("callA_05")
    first = transcript.segments[0]
    garbled = dataclasses.replace(first, text="喂马文斌是吧我这边是连众催生公号0417通话全程录音先核对一下你把身份证后四位报一下")
    transcript = Transcript((garbled, *transcript.segments[1:]), "zh", transcript.duration)
    assert not [f for f in score_call(call, transcript, pack).findings if f.rule_id == "CN-05"]
    call, transcript, _ = load_shared_call("callA_06")
    extra = Segment(id=99, start=transcript.segments[-1].end + 1, end=transcript.segments[-1].end + 4,
                    speaker="agent", text="我们公司的公号你以后会知道")  # said long after the first 30 s
    transcript = Transcript((*transcript.segments, extra), "zh", extra.end)
    assert [f for f in score_call(call, transcript, pack).findings if f.rule_id == "CN-05"]


@pytest.mark.parametrize("phrase,text,expected", [
    ("工号", "我的公号是0385", ["公号"]),
    ("联众催收", "这边是连众催生服务公司", ["连众催生"]),
    ("联众催收", "这边是连众催省", ["连众催省"]),
    ("联众催收", "联众的同事", []),                    # two syllables of four are not the name
    ("联众催收", "连众吹牛", []),                      # two syllables differ
    ("恒信资产", "很信资产管理", ["很信资产"]),          # heng/hen folded
    ("工号", "工号0385", ["工号"]),
    ("工号", "公开", []),
    ("分期", "分七申请", ["分7"]),                    # Whisper's 分七, normalised to 分7, still sounds fen qi
    ("分期", "分八期", []),
])
def test_sound_hits_table(phrase, text, expected):
    pattern = sound_pattern([normalize_for_matching(phrase, "zh")])
    line = normalize_for_matching(text, "zh")
    assert [line[a:b] for a, b in sound_hits(pattern, sound_text(line))] == expected


def test_sound_text_keeps_positions():
    line = normalize_for_matching("工号0385，联众", "zh")
    assert len(sound_text(line)) == 2 * len(line)


def test_an_agencys_name_as_recognition_writes_it_counts_as_its_name():
    # 启明信息 (qǐ míng) came back as 请您信息 (qǐng nín) on 8 kHz calls: two syllables off, beyond near-sound
    # matching, so the settings say how this agency's name is heard (agencies.qiming.heard_as)
    from callqc.pipeline import rule_pack
    from callqc.settings import load_settings

    settings = load_settings(environ={})
    turns = ["agent: 您好，我是请您信息的客服专员，本次通话会录音。请问是宋先生吗？", "customer: 是我"]
    assert _cn05(load_pack("cn_collection"), turns)  # the pack alone does not know the variant
    assert not _cn05(rule_pack(settings, "cn_collection"), turns)
    assert "请您信息" in settings.transcription_for("qiming")["agent_cues"]  # also a cue of the agent's voice


def _cn04(pack, turns):
    scenario = build_scenario({"turns": turns, "relation": "third_party"}, "zh")
    return [f for f in score_call(scenario.call, scenario.transcript, pack).findings if f.rule_id == "CN-04"]


@pytest.mark.parametrize("opening", [
    "您好，这里是联众催收，工号8841，本次通话全程录音。",   # as said
    "您好,这里是连重催收,公后8841,本次通话前程录音。",      # as recognition wrote it: 联众 → 连重
])
def test_an_exclusion_matches_by_near_sound_too(opening):
    # CN-04 excludes the agency's own name (催收 inside 联众催收 is the self-identification CN-05 requires); an
    # exclusion is a near miss and is heard through recognition errors like any phrase
    pack = load_pack("cn_collection")
    assert not _cn04(pack, [f"agent: {opening}", "customer: 我是他妹妹"])
    # 催收 anywhere else is still a disclosure, and so is the debt said after the garbled name
    assert _cn04(pack, ["agent: 您好，他的账已经转到催收了", "customer: 我是他妹妹"])
    assert _cn04(pack, [f"agent: {opening}他信用卡欠款一万八", "customer: 我是他妹妹"])
