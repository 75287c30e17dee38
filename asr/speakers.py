"""One mixed (mono) channel → who spoke when: two voices told apart by their sound, then named agent and customer
by what each of them says.

Many agencies deliver one mixed channel. Without a split every segment is speaker "unknown", a segment runs over
both parties' turns, and agent-scoped rules, click-to-seek and customer emotion lose their footing.

1. Speech regions: Silero VAD with a short minimum pause (parties take turns at pauses of a few hundred ms);
   a region longer than WINDOW_S * 2 is cut into windows of about WINDOW_S for its voice prints.
2. A voice print per window: the mean and spread of MFCCs 1-19 (timbre, without the level) and the median
   log-F0 (librosa's yin at 8 kHz), standardised over the call, the pitch counted PITCH_WEIGHT times.
3. Two voices: k-means (k = 2, weighted by window length). A call in which the two groups are not apart
   (silhouette below MIN_SEPARATION) keeps one voice. Silhouettes of one voice and of two overlap (measured
   0.00-0.20 and 0.17-0.32), so a one-voice recording (a voicemail) is usually split too.
4. One voice per region: its windows vote with their length and how much nearer they are to one voice than
   the other (a single window's print is noisy: intonation moves the pitch by more than the difference between
   two voices). A change of voice without a pause of PIECE_MIN_SILENCE_MS is therefore not split.
   Consecutive regions of one voice are a turn.
5. Roles: the voice whose words sound more like the collector's side is the agent (`role_score`: the
   collector's vocabulary — self-identification, 工号, recording notice, repayment terms, the agency's name —
   against the callee's: 喂, 谁, 你们, complaints); a tie goes to the voice that speaks more.

Only the domain types are imported; the Whisper side (which word falls in which turn) is in asr.transcribe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

import numpy as np

from asr.audio import TARGET_SAMPLE_RATE
from asr.features import NARROWBAND_RATE, PITCH_FMAX_HZ, PITCH_FMIN_HZ
from qc.domain import Span

WINDOW_S = 1.5
PITCH_WEIGHT = 2.0
MIN_SEPARATION = 0.05  # silhouette of the two groups: two voices gave 0.17-0.32, one voice 0.00-0.20 (docs)
# VAD for the pieces: a pause this long ends a piece (the turn-taking gap of a phone call is rarely shorter)
PIECE_MIN_SILENCE_MS = 150
PIECE_SPEECH_PAD_MS = 30
N_MFCC = 20

# What a collector says and a customer rarely does, and the reverse (Simplified Chinese and English, matched on
# lower-cased text). A voice's score: STRONG_AGENT_CUES count 3, AGENT_CUES 1, CUSTOMER_CUES -2 per occurrence.
STRONG_AGENT_CUES: tuple[str, ...] = (
    "工号", "公号", "本次通话", "录音", "催收", "委托", "请问您是", "请问是", "核实", "这边是", "逾期", "最低还款",
    "分期", "停息", "减免", "协商还款", "身份证后四位",
    "calling from", "on behalf of", "debt collector", "attempt to collect", "this call", "recorded",
    "verify", "last four", "payment plan",
)
AGENT_CUES: tuple[str, ...] = (
    "您", "请您", "麻烦", "银行", "还款", "欠款", "账单", "本金", "利息", "征信", "结清", "处理", "尾号",
    "balance", "payment", "past due", "account", "settle",
)
CUSTOMER_CUES: tuple[str, ...] = (
    "喂", "谁", "你们", "没钱", "投诉", "别再打", "不要再打", "凭什么", "我是他", "我是她", "我知道", "哪位",
    "who is this", "who's this", "stop calling", "i can't", "i don't", "leave me alone",
)


@dataclass(frozen=True)
class VoiceTurn:
    """A stretch of one voice in original channel time. voice is 0 or 1 (0: the voice that speaks first)."""

    start: float
    end: float
    voice: int

    @property
    def duration(self) -> float:
        return self.end - self.start


def _pieces(samples: np.ndarray) -> list[tuple[int, int, int]]:
    """Speech windows in samples (start, end, region): VAD regions with short pauses, long ones cut."""
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = get_speech_timestamps(samples, VadOptions(
        min_silence_duration_ms=PIECE_MIN_SILENCE_MS, speech_pad_ms=PIECE_SPEECH_PAD_MS),
        sampling_rate=TARGET_SAMPLE_RATE)
    window = int(WINDOW_S * TARGET_SAMPLE_RATE)
    pieces = []
    for index, region in enumerate(regions):
        start, end = region["start"], region["end"]
        count = max(1, round((end - start) / window)) if end - start > 2 * window else 1
        edges = np.linspace(start, end, count + 1).astype(int)
        pieces.extend((int(a), int(b), index) for a, b in zip(edges[:-1], edges[1:]))
    return [(a, b, region) for a, b, region in pieces if b - a >= int(0.1 * TARGET_SAMPLE_RATE)]


def _voice_print(piece: np.ndarray) -> np.ndarray:
    import librosa
    import soxr

    mfcc = librosa.feature.mfcc(y=piece, sr=TARGET_SAMPLE_RATE, n_mfcc=N_MFCC, n_fft=512, hop_length=160)[1:]
    f0 = librosa.yin(soxr.resample(piece, TARGET_SAMPLE_RATE, NARROWBAND_RATE), fmin=PITCH_FMIN_HZ,
                     fmax=PITCH_FMAX_HZ, sr=NARROWBAND_RATE, frame_length=512, hop_length=80, center=True)
    # yin answers every frame; values pinned at the search limits are unvoiced frames, not pitch
    voiced = f0[(f0 > PITCH_FMIN_HZ * 1.05) & (f0 < PITCH_FMAX_HZ * 0.95)]
    pitch = float(np.log(np.median(voiced))) if len(voiced) >= 5 else np.nan
    return np.concatenate([mfcc.mean(axis=1), mfcc.std(axis=1), [pitch]])


def split_voices(samples: np.ndarray) -> tuple[VoiceTurn, ...]:
    """Turns of (at most) two voices in one 16 kHz channel, in time order."""
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    pieces = _pieces(samples)
    if not pieces:
        return ()
    prints = np.array([_voice_print(samples[a:b]) for a, b, _ in pieces])
    # a window without a pitch (whispered, too short) takes the call's median pitch: its timbre decides
    column = prints[:, -1]
    column[np.isnan(column)] = np.nanmedian(column) if np.isfinite(column).any() else 0.0
    scaled = (prints - prints.mean(axis=0)) / (prints.std(axis=0) + 1e-6)
    scaled[:, -1] *= PITCH_WEIGHT
    weights = np.array([b - a for a, b, _ in pieces], dtype=float)
    labels = np.zeros(len(pieces), dtype=int)
    if len(pieces) >= 4:
        kmeans = KMeans(n_clusters=2, n_init=10, random_state=0).fit(scaled, sample_weight=weights)
        if len(set(kmeans.labels_)) == 2 and silhouette_score(scaled, kmeans.labels_) >= MIN_SEPARATION:
            distances = kmeans.transform(scaled)
            votes: dict[int, float] = {}
            for (_, _, region), margin in zip(pieces, (distances[:, 1] - distances[:, 0]) * weights):
                votes[region] = votes.get(region, 0.0) + margin  # > 0: nearer voice 0
            labels = np.array([0 if votes[region] > 0 else 1 for _, _, region in pieces])
    if labels[0] == 1:  # voice 0 speaks first
        labels = 1 - labels
    turns: list[list[float]] = []
    for (a, b, _), label in zip(pieces, labels):
        start, end = a / TARGET_SAMPLE_RATE, b / TARGET_SAMPLE_RATE
        if turns and turns[-1][2] == label:
            turns[-1][1] = end
        else:
            turns.append([start, end, int(label)])
    return tuple(VoiceTurn(round(s, 3), round(e, 3), v) for s, e, v in turns)


def voice_at(turns: tuple[VoiceTurn, ...], start: float, end: float) -> int:
    """The voice of the turn a stretch overlaps most (the nearest turn when it overlaps none)."""
    def score(turn: VoiceTurn) -> tuple[float, float]:
        overlap = min(end, turn.end) - max(start, turn.start)
        distance = 0.0 if overlap > 0 else min(abs(start - turn.end), abs(end - turn.start))
        return overlap, -distance

    return max(turns, key=score).voice if turns else 0


def role_score(text: str, extra_agent_cues: Iterable[str] = ()) -> int:
    """How much a voice's text sounds like the collector's side (> 0) or the callee's (< 0)."""
    said = text.lower()

    def hits(cues: Iterable[str]) -> int:
        return sum(said.count(cue.lower()) for cue in cues if cue)

    return 3 * hits(STRONG_AGENT_CUES + tuple(extra_agent_cues)) + hits(AGENT_CUES) - 2 * hits(CUSTOMER_CUES)


def assign_roles(texts: Mapping[int, Iterable[str]], seconds: Mapping[int, float],
                 extra_agent_cues: Iterable[str] = ()) -> dict[int, str]:
    """voice → "agent" | "customer": the voice whose text scores higher (role_score) is the agent; a tie goes to
    the voice that speaks more. One voice alone is the agent when its score is positive, else "unknown"."""
    extra = tuple(extra_agent_cues)
    scores = {v: role_score(" ".join(texts.get(v, ())), extra) for v in set(texts) | set(seconds)}
    voices = sorted(scores)
    if not voices:
        return {}
    if len(voices) == 1:
        return {voices[0]: "agent" if scores[voices[0]] > 0 else "unknown"}
    agent = max(voices, key=lambda v: (scores[v], seconds.get(v, 0.0)))
    return {v: "agent" if v == agent else "customer" for v in voices}


def role_spans(turns: tuple[VoiceTurn, ...], roles: Mapping[int, str]) -> dict[str, tuple[Span, ...]]:
    """Speaker → the spans of their turns (for per-speaker acoustic features of a mono call)."""
    spans: dict[str, list[Span]] = {}
    for turn in turns:
        spans.setdefault(roles.get(turn.voice, "unknown"), []).append(Span(turn.start, turn.end))
    return {speaker: tuple(found) for speaker, found in spans.items()}
