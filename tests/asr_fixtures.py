"""Helpers for the ASR tests and bench: reference data in shared/, CER/WER, tiny generated audio."""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.conftest import IN_CI, SHARED_DIR
from tests.labelled_calls import ScriptTurn, script_turns

AUDIO_DIR = SHARED_DIR / "data" / "audio"
CALLS_DIR = SHARED_DIR / "data" / "calls"


def require_dir(path: Path) -> Path:
    """The shared data directory, or a failure (CI) / skip (elsewhere) naming what is missing."""
    import pytest

    if not path.is_dir():
        message = f"test data directory {path} is missing (copy ../shared/data into place)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


@dataclass(frozen=True)
class Clip:
    file: Path
    language: str
    reference: str
    channels: int


def manifest_clips() -> list[Clip]:
    rows = csv.DictReader((AUDIO_DIR / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
    return [Clip(AUDIO_DIR / r["file"], r["language"], r["reference_transcript"], int(r["channels"])) for r in rows]


def call_turns(call_id: str) -> list[ScriptTurn]:
    return script_turns(CALLS_DIR, call_id)


def downmix(stereo):
    """A stereo LoadedAudio as one mixed channel: the mean of left and right (`sox -c 1 … remix 1,2`, halved so
    it cannot clip), as an agency delivering mono recordings would store the call."""
    from asr.audio import ChannelAudio, LoadedAudio

    left, right = (c.samples for c in stereo.channels)
    return LoadedAudio(name=f"{stereo.name} (mono)", info=stereo.info,
                       channels=(ChannelAudio("mono", ((left + right) / 2).astype(np.float32)),))


def right_role_share(turns: list[ScriptTurn], spans: list[tuple[float, float, str]]) -> tuple[float, float]:
    """(seconds of script speech covered by a (start, end, speaker) span of the turn's role, seconds of script
    speech): time covered by nobody or by the other speaker counts as wrong."""
    right = sum(max(0.0, min(t.end, end) - max(t.start, start)) for t in turns for start, end, speaker in spans
                if speaker == t.role)
    return right, sum(t.end - t.start for t in turns)


def _digits_to_chinese(text: str) -> str:
    """Arabic digit strings → Chinese numerals as spoken (cn2an), so 8640 matches 八千六百四十."""
    import cn2an

    def spoken(match: re.Match) -> str:
        number = match.group(0).replace(",", "")
        try:
            return cn2an.an2cn(number) if len(number) <= 5 else "".join(cn2an.an2cn(d) for d in number)
        except Exception:  # noqa: BLE001
            return number

    return re.sub(r"\d[\d,]*", spoken, text)


def normalise_zh(text: str) -> str:
    text = _digits_to_chinese(unicodedata.normalize("NFKC", text))
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("P", "Z", "S")) and not ch.isspace())


_DIGIT_WORDS = dict(enumerate("zero one two three four five six seven eight nine ten".split()))


def normalise_en(text: str) -> list[str]:
    text = re.sub(r"[^a-z0-9' ]+", " ", text.lower())
    return [_DIGIT_WORDS.get(int(w), w) if w.isdigit() else w for w in text.split()]


def edit_distance(a, b) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def cer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise_zh(reference), normalise_zh(hypothesis)
    return edit_distance(ref, hyp) / max(len(ref), 1)


def wer(reference: str, hypothesis: str) -> float:
    ref, hyp = normalise_en(reference), normalise_en(hypothesis)
    return edit_distance(ref, hyp) / max(len(ref), 1)


def error_rate(language: str, reference: str, hypothesis: str) -> float:
    return cer(reference, hypothesis) if language.startswith("zh") else wer(reference, hypothesis)


def heard_share(language: str, reference: str, hypothesis: str) -> float:
    """The share of the reference's characters (zh) or words (en) that the hypothesis has, in order (longest
    common subsequence): unlike an error rate, words Whisper adds after the speech do not count against it."""
    normalise = normalise_zh if language.startswith("zh") else normalise_en
    ref, hyp = normalise(reference), normalise(hypothesis)
    previous = [0] * (len(hyp) + 1)
    for x in ref:
        current = [0]
        for j, y in enumerate(hyp, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1] / max(len(ref), 1)


def tone(seconds: float, rate: int, frequency: float = 440.0, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * frequency * t)).astype(np.float32)


def write_m4a(path: Path, samples: np.ndarray, rate: int) -> None:
    """AAC in an MP4 container through PyAV's bundled FFmpeg; samples shaped [frames, channels]."""
    import av

    layout = "mono" if samples.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate, layout=layout)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.T, dtype=np.float32), format="fltp",
                                           layout=layout)
        frame.sample_rate = rate
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
