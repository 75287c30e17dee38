"""Acoustic findings calibrated on real audio (issue 13 item 5): the features of the shared synthetic calls are
computed from their FLAC files (asr.features), then scored with the cn_collection pack.

- agitation (CN-Q04) compares the agent with their own per-second level in the call, in units of the
  population's spread: it fires on none of the calm calls, and fires on a call where one agent turn has been
  made a raised-voice stretch (amplified 10 dB and pitch-shifted up 3 semitones with librosa);
- dead air, overtalk and speech rate: no finding on any compliant call (their false-alarm rate is 0 here);
- the population reference in the pack is what `population_reference` measures on the compliant calls.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache

import numpy as np
import pytest
import soundfile as sf

from asr.audio import load_audio
from asr.features import acoustic_features
from qc.domain import AcousticFeatures
from qc.models.acoustic import population_reference
from qc.rules import load_pack
from qc.scoring import score_call
from rules_fixtures import CALLS_DIR, load_shared_call, shared_call_ids

CHANNEL_MAP = {"left": "agent", "right": "customer"}
ACOUSTIC_RULES = ("CN-Q01-silence", "CN-Q02-overtalk", "CN-Q03-speech-rate", "CN-Q04-agitation")


@lru_cache(maxsize=None)
def _features(call_id: str) -> AcousticFeatures:
    return acoustic_features(load_audio(CALLS_DIR / f"{call_id}.flac"), CHANNEL_MAP)


def _raised_voice_call(call_id: str, turn: int, gain_db: float = 10.0, semitones: float = 3.0) -> bytes:
    """The call's FLAC with one agent turn made louder and higher (a raised-voice stretch)."""
    import librosa

    samples, rate = sf.read(CALLS_DIR / f"{call_id}.flac", dtype="float32")
    with (CALLS_DIR / f"{call_id}.segments.tsv").open(encoding="utf-8", newline="") as handle:
        row = list(csv.DictReader(handle, delimiter="\t"))[turn]
    assert row["role"] == "agent"
    first, last = int(float(row["start_s"]) * rate), int(float(row["end_s"]) * rate)
    stretch = librosa.effects.pitch_shift(samples[first:last, 0], sr=rate, n_steps=semitones)
    samples = samples.copy()
    samples[first:last, 0] = np.clip(stretch * 10 ** (gain_db / 20), -1.0, 1.0)
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="FLAC", subtype="PCM_16")
    return buffer.getvalue()


def _acoustic_findings(call_id: str, features: AcousticFeatures):
    call, transcript, _ = load_shared_call(call_id)
    result = score_call(call, transcript, load_pack("cn_collection"), features=features)
    return [f for f in result.findings if f.rule_id in ACOUSTIC_RULES]


@pytest.mark.parametrize("call_id", shared_call_ids())
def test_no_acoustic_finding_on_the_calm_voices_of_the_shared_calls(call_id):
    # every synthetic voice is calm (violations are in the wording): none may carry agitation, dead air,
    # overtalk or a speech-rate finding
    assert _acoustic_findings(call_id, _features(call_id)) == []


@pytest.mark.parametrize("call_id,turn", [("callA_01", 4), ("callA_08", 6), ("callA_03", 2)])
def test_agitation_fires_on_a_raised_voice_stretch(call_id, turn):
    features = acoustic_features(load_audio(_raised_voice_call(call_id, turn), f"{call_id}-raised.flac"), CHANNEL_MAP)
    found = [f for f in _acoustic_findings(call_id, features) if f.rule_id == "CN-Q04-agitation"]
    assert found, "raised-voice stretch not found"
    _, transcript, _ = load_shared_call(call_id)
    assert any(turn in f.segment_ids for f in found)  # on the raised turn
    assert all(set(f.segment_ids) <= {turn} for f in found)  # and nowhere else
    assert "over the agent's own median" in found[0].text


def test_pack_population_reference_is_the_measured_one():
    compliant = [c for c in shared_call_ids() if load_shared_call(c)[2]["compliant"]]
    measured = population_reference([_features(c).channel("agent") for c in compliant])
    rule = load_pack("cn_collection").rules_by_id["CN-Q04-agitation"].config
    assert rule.population_level_spread_db == pytest.approx(measured.level_spread_db, abs=0.1)
    # calm calls stay below the decision point with a margin of at least 0.5 dB
    from qc.models.acoustic import raised_stretches
    limit = rule.min_rise_spreads * rule.population_level_spread_db
    for call_id in shared_call_ids():
        stretches, largest = raised_stretches(_features(call_id).channel("agent"))
        assert not stretches and largest <= limit - 0.5, (call_id, largest, limit)


def test_transcript_speech_rate_counts_chinese_characters_and_digits_only():
    """Without audio features the speech rate is syllables (one per Chinese character or digit) per second of the
    speaker's segments; the vectorised count must equal the character-class regex on any text."""
    import random
    import re

    from qc.rules.acoustic import _cjk_or_digit_count

    by_regex = re.compile(r"[\u4e00-\u9fff0-9]")
    rng = random.Random(5)
    for _ in range(2000):
        text = "".join(chr(rng.choice([rng.randint(0x20, 0x7F), rng.randint(0x4DF0, 0xA010), rng.randint(0xFF00, 0xFF20),
                                       rng.randint(0x1F600, 0x1F610)])) for _ in range(rng.randint(0, 30)))
        assert _cjk_or_digit_count(text) == len(by_regex.findall(text)), text
    assert _cjk_or_digit_count("您好，工号0385！OK") == 8
