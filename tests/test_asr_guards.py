"""The transcription guards on segment sequences built to trigger them (no Whisper decode involved).

Which tokens a real decode produces differs by CPU (CTranslate2's int8 kernels: CT2_FORCE_CPU_ISA, thread
count), so whether a given clip loops or hallucinates on this machine is not something a test can rely on.
Each guard is therefore proved here on the segment sequence that triggers it by construction, through the same
`guard_segments` that `transcribe_channel` runs on the decoder's output; tests/test_asr_transcribe.py checks
the invariants (no loop, no phantom) on real audio without requiring the raw decode to misbehave first.
"""

from __future__ import annotations

import re

import pytest

from asr.backends import RawSegment
from asr.transcribe import TranscribeOptions, guard_segments

OPTIONS = TranscribeOptions()  # zh, the default guards and prompt
REPEATED_3X = re.compile(r"(.{2,})\1{2,}")


def segment(text: str, start: float = 0.0, end: float = 3.0, avg_logprob: float = -0.3,
            no_speech_prob: float = 0.05, compression_ratio: float = 1.2) -> RawSegment:
    return RawSegment(start, end, text, avg_logprob, no_speech_prob, compression_ratio)


def texts(pieces, options=OPTIONS, language="zh") -> list[str]:
    return [g.text for g in guard_segments(pieces, options, language)]


def test_a_loop_inside_a_segment_is_cut_and_flagged():
    # what Whisper base wrote after a 1 s idiom on one machine: the speech, then a loop on the padding
    looped = "砸自己的脚。这次的新的" + "新的" * 40
    (kept,) = guard_segments([segment(looped, 0.0, 30.0)], OPTIONS, "zh")
    assert not REPEATED_3X.search(kept.text), kept.text
    assert kept.text.startswith("砸自己的脚") and "repetition_cut" in kept.flags


def test_more_text_than_the_time_can_hold_is_dropped():
    # 30 different characters in 0.2 s (a decode timed on the padding): no one speaks 40+ characters a second
    squeezed = "请您今天之内还款否则我们将采取进一步措施这是最后一次通知谢谢"
    assert texts([segment("砸自己的脚。"), segment(squeezed, 3.0, 3.2)]) == ["砸自己的脚。"]


def test_a_loop_squeezed_into_a_short_piece_is_cut_not_dropped():
    # 「这边,」 twenty times in 0.5 s (a mono call's closing): too fast as decoded, one phrase once the loop is cut;
    # the rate check runs after the cut, so the piece stays in the transcript, flagged
    guarded = guard_segments([segment("这边," * 20, 10.0, 10.5)], OPTIONS, "zh")
    assert [g.text for g in guarded] == ["这边,"]
    assert "repetition_cut" in guarded[0].flags


def test_the_same_sentence_repeated_across_segments_is_kept_once():
    line = "您的欠款已经逾期三个月了"
    pieces = [segment(line, 0, 3), segment(line, 3, 6), segment(line, 6, 9), segment("好的", 9, 10),
              segment("对", 10, 11), segment("对", 11, 12)]
    assert texts(pieces) == [line, "好的", "对", "对"]  # short answers may repeat legitimately


def test_the_same_words_said_again_later_are_kept():
    # a customer's refusal, then the same refusal a minute later with only the other channel speaking between
    refusal = "我现在真的没钱还"
    assert texts([segment(refusal, 0, 3), segment(refusal, 63, 66)]) == [refusal, refusal]
    # punctuation is not a sentence: 「喂，你好？」 (three spoken characters) twice in a row is kept twice
    assert texts([segment("喂，你好？", 0, 1.5), segment("喂，你好？", 1.6, 3.0)]) == ["喂，你好？", "喂，你好？"]


@pytest.mark.parametrize("avg_logprob, no_speech_prob, kept, flags", [
    (-1.2, 0.9, False, ()),  # Whisper's own silence rule: likely silence and not confident
    (-0.4, 0.9, True, ()),  # likely silence by the no-speech token, but a confident decode: speech
    (-1.6, 0.1, False, ()),  # below drop_logprob_threshold: what the 8 calls' hallucinations score
    (-1.2, 0.1, True, ("low_confidence",)),  # kept, marked for the reader
])
def test_confidence_decides_drop_or_flag(avg_logprob, no_speech_prob, kept, flags):
    guarded = guard_segments([segment("请您今天之内还款", avg_logprob=avg_logprob,
                                      no_speech_prob=no_speech_prob)], OPTIONS, "zh")
    assert bool(guarded) == kept
    if kept:
        assert guarded[0].flags == flags


def test_high_compression_is_flagged_not_dropped():
    (kept,) = guard_segments([segment("请您今天之内还款", compression_ratio=3.1)], OPTIONS, "zh")
    assert kept.flags == ("high_compression",)


@pytest.mark.parametrize("raw, expected", [
    ("谢谢观看", None),  # a phantom alone: the whole segment goes
    ("字幕由Amara.org社群提供", None),
    ("好的，我明天还款。谢谢观看", "好的，我明天还款"),  # inside speech: only the phantom goes
    ("以下是普通话的句子。", None),  # the prompt read back on an unclear stretch
    ("以下是普通话的句子。您好，我是恒信资产的", "您好，我是恒信资产的"),
])
def test_phantoms_and_the_prompt_read_back_are_removed(raw, expected):
    guarded = guard_segments([segment(raw)], OPTIONS, "zh")
    if expected is None:
        assert guarded == []
    else:
        assert [g.text.strip("。，") for g in guarded] == [expected] and "phantom_removed" in guarded[0].flags


def test_traditional_characters_become_simplified_only_for_chinese():
    assert texts([segment("請您儘快還款，否則會影響徵信")]) == ["请您尽快还款，否则会影响征信"]
    english = TranscribeOptions(language="en")
    assert texts([segment("Please call back", avg_logprob=-0.2)], english, "en") == ["Please call back"]


def test_clear_speech_passes_untouched():
    line = "您好，我是恒信资产的催收员，工号HX0193。"
    (kept,) = guard_segments([segment(line)], OPTIONS, "zh")
    assert kept.text == line and kept.flags == ()


def test_the_vocabulary_read_back_as_a_whole_segment_is_removed():
    # on a short unclear stretch Whisper may write its hotwords instead of the speech; real speech that merely
    # uses a vocabulary word stays
    options = TranscribeOptions(hotwords="工号 逾期 还款 欠款 联众催收")
    kept = guard_segments([segment("工号逾期还款", 0, 2), segment("您的欠款已经逾期了", 2, 5)], options, "zh")
    assert [g.text for g in kept] == ["您的欠款已经逾期了"]


def test_keep_unsure_keeps_what_the_silence_rules_would_drop_flagged():
    options = TranscribeOptions(keep_unsure=True)
    quiet = segment("请您今天之内还款", avg_logprob=-1.2, no_speech_prob=0.9)
    (kept,) = guard_segments([quiet], options, "zh")
    assert kept.flags == ("unsure", "low_confidence")
    assert options.decode_options().no_speech_threshold is None  # Whisper itself skips no window either
    # the phantom guard still applies to a kept segment
    assert guard_segments([segment("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", avg_logprob=-1.6)], options, "zh") == []


def test_every_drop_is_logged_with_its_reason(caplog):
    """Nothing a guard removes vanishes without a trace: each drop and a per-channel count are logged."""
    line = "您的欠款已经逾期三个月了"
    pieces = [segment(line, 0, 3), segment(line, 3, 6),  # a loop across segments
              segment("字幕由某某提供", 6, 8),  # a phantom and nothing else
              segment("嗯嗯", 8, 9, avg_logprob=-1.8),  # under the log-prob floor
              segment("请您今天之内还款否则我们将采取进一步措施这是最后一次通知谢谢", 9.0, 9.2),  # too fast for the time
              segment("好的", 10, 11)]
    with caplog.at_level("INFO", logger="asr.transcribe"):
        assert texts(pieces) == [line, "好的"]
    summary = [r.getMessage() for r in caplog.records if r.getMessage().startswith("guards kept")]
    assert summary == ["guards kept 2 segment(s), dropped 4: repeated sentence 1, phantom or read-back only 1, "
                       "log-prob floor 1, text faster than speech 1"]
    assert any("(log-prob floor): '嗯嗯'" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("word_probability, kept", [
    (0.8, True),  # its own words were heard clearly: kept, flagged low_confidence for the reader
    (0.05, False),  # its own words are as unsure as the window: under the floor
    (None, False),  # no word probabilities: the window's score decides, as before
])
def test_the_log_prob_floor_also_asks_the_segments_own_words(word_probability, kept):
    # Whisper scores a whole window: 「喂？哪位？」 decoded in the same window as garbled audio gets the window's -1.8
    from qc.domain import Word

    words = () if word_probability is None else (Word(0.0, 0.4, "喂？", word_probability),
                                                  Word(0.5, 1.0, "哪位？", word_probability))
    piece = RawSegment(0.0, 1.0, "喂？哪位？", -1.8, 0.1, 1.0, words=words)
    guarded = guard_segments([piece], OPTIONS, "zh")
    assert bool(guarded) is kept
    if kept:
        assert "low_confidence" in guarded[0].flags
