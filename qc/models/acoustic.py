"""Acoustic cues from qc.domain.AcousticFeatures: agent agitation, and customer arousal for emotion.

There is no labelled acoustic data to train on (the synthetic calls carry emotion in wording and level only,
see shared/data/calls/README.md), so these are transparent weighted scores with documented constants, not
trained models. Each weight says how much one cue moves a 0..1 score.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from qc.domain import AcousticFeatures, ChannelFeatures, Segment, Span

LOUD_FRACTION_FULL = 0.25  # a quarter of the agent's speech loud counts fully
PITCH_STD_CALM_HZ = 30.0  # pitch spread up to here is ordinary speech
PITCH_STD_SPAN_HZ = 60.0  # ... and this much more counts fully as excited
FAST_SPEECH_SPS = 5.5  # syllable-like onsets per second above which speech counts as hurried
SLOW_SPEECH_SPS = 3.0


def _clip01(value: float) -> float:
    return max(0.0, min(1.0, value))


def _overlap(span: Span, start: float, end: float) -> float:
    return max(0.0, min(span.end, end) - max(span.start, start))


# ---- agent agitation: raised stretches against the agent's own baseline and the population --------------
@dataclass(frozen=True)
class PopulationReference:
    """How far calm agents' per-second speech level and pitch wander around their own call median: the
    population spread that a raised stretch is measured in. Measured on the agent channels of the compliant
    synthetic calls (shared/data/calls, 3 calls, 160 one-second pieces; the violation calls have calm voices too:
    all 8 agents, 380 pieces, give 2.5 dB and 2.2 semitones). Re-measure on a deployment's own calls with
    `qc.models.acoustic.population_reference`."""

    level_spread_db: float = 2.5
    pitch_spread_semitones: float = 2.2


DEFAULT_POPULATION = PopulationReference()
AGITATION_WINDOW_PIECES = 4  # a stretch is judged over this many consecutive ≈1 s pieces of speech
AGITATION_RISE_SPREADS = 2.0  # ... whose mean level is this many population spreads above the agent's median
MIN_BASELINE_PIECES = 8  # fewer seconds of speech than this: no baseline, no judgement
MAX_WINDOW_GAP_S = 1.5  # pieces further apart than this (a turn of the customer between) are not one stretch


@dataclass(frozen=True)
class RaisedStretch:
    start: float
    end: float
    level_rise_db: float  # mean level of the stretch over the agent's own median
    pitch_rise_semitones: float | None  # median pitch of the stretch over the agent's own median, if tracked


def _semitones(pitch: float, baseline: float) -> float:
    return 12.0 * math.log2(pitch / baseline)


def raised_stretches(channel: ChannelFeatures, population: PopulationReference = DEFAULT_POPULATION,
                     window_pieces: int = AGITATION_WINDOW_PIECES,
                     rise_spreads: float = AGITATION_RISE_SPREADS,
                     pitch_rise_spreads: float | None = None) -> tuple[tuple[RaisedStretch, ...], float]:
    """Stretches where the speaker's voice is raised: `window_pieces` consecutive pieces of speech whose mean
    level is at least `rise_spreads` population spreads above the speaker's OWN median level in this call (and,
    with `pitch_rise_spreads`, whose pitch is that far above their own median pitch). Overlapping windows merge.
    Returns (stretches, the largest windowed level rise in dB); nothing when there is too little speech."""
    pieces = [tuple(piece) for piece in channel.speech_levels]
    if len(pieces) < max(MIN_BASELINE_PIECES, window_pieces):
        return (), 0.0
    baseline = statistics.median(piece[2] for piece in pieces)
    pitches = [piece[3] for piece in pieces if piece[3]]
    pitch_baseline = statistics.median(pitches) if len(pitches) >= MIN_BASELINE_PIECES else None
    level_limit = rise_spreads * population.level_spread_db
    windows: list[RaisedStretch] = []
    largest = 0.0
    for first in range(len(pieces) - window_pieces + 1):
        window = pieces[first:first + window_pieces]
        if any(b[0] - a[1] > MAX_WINDOW_GAP_S for a, b in zip(window, window[1:])):
            continue
        rise = sum(piece[2] for piece in window) / window_pieces - baseline
        largest = max(largest, rise)
        window_pitches = [piece[3] for piece in window if piece[3]]
        pitch_rise = (_semitones(statistics.median(window_pitches), pitch_baseline)
                      if pitch_baseline and window_pitches else None)
        if rise < level_limit:
            continue
        if pitch_rise_spreads is not None and (
                pitch_rise is None or pitch_rise < pitch_rise_spreads * population.pitch_spread_semitones):
            continue
        loud = [piece for piece in window if piece[2] - baseline >= level_limit] or window
        windows.append(RaisedStretch(loud[0][0], loud[-1][1], rise, pitch_rise))  # the raised pieces' span
    merged: list[RaisedStretch] = []
    for window in windows:
        if merged and window.start - merged[-1].end <= MAX_WINDOW_GAP_S:
            last = merged[-1]
            pitch = max((p for p in (last.pitch_rise_semitones, window.pitch_rise_semitones) if p is not None),
                        default=None)
            merged[-1] = RaisedStretch(last.start, max(last.end, window.end),
                                       max(last.level_rise_db, window.level_rise_db), pitch)
        else:
            merged.append(window)
    return tuple(merged), round(largest, 2)


def population_reference(channels: list[ChannelFeatures]) -> PopulationReference:
    """The spread (standard deviation) of per-second level and pitch around each speaker's own median, pooled
    over calm calls: the reference `raised_stretches` measures rises in."""
    levels: list[float] = []
    pitches: list[float] = []
    for channel in channels:
        pieces = [tuple(piece) for piece in channel.speech_levels]
        if len(pieces) < MIN_BASELINE_PIECES:
            continue
        baseline = statistics.median(piece[2] for piece in pieces)
        levels += [piece[2] - baseline for piece in pieces]
        voiced = [piece[3] for piece in pieces if piece[3]]
        if len(voiced) >= MIN_BASELINE_PIECES:
            pitch_baseline = statistics.median(voiced)
            pitches += [_semitones(p, pitch_baseline) for p in voiced]
    if not levels:
        raise ValueError("no channel has enough speech (per-second levels) for a population reference")
    return PopulationReference(round(statistics.pstdev(levels), 2),
                               round(statistics.pstdev(pitches), 2) if pitches else DEFAULT_POPULATION.pitch_spread_semitones)


@dataclass(frozen=True)
class Agitation:
    """Agent agitation over a call: `score` 0..1 (0.5 = the decision point of the agitation rule: a raised
    stretch exactly `AGITATION_RISE_SPREADS` population spreads above the agent's own level) and its evidence."""

    score: float
    largest_rise_db: float
    stretches: tuple[RaisedStretch, ...]

    @property
    def loud_spans(self) -> tuple[Span, ...]:
        return tuple(Span(s.start, s.end) for s in self.stretches)


def agent_agitation(features: AcousticFeatures, speaker: str = "agent",
                    population: PopulationReference = DEFAULT_POPULATION) -> Agitation | None:
    """Raised stretches of the agent against their own baseline and the population; None without an agent
    channel or without per-second levels (features stored before they were measured)."""
    agent = features.channel(speaker)  # type: ignore[arg-type]
    if agent is None or not agent.speech_levels:
        return None
    stretches, largest = raised_stretches(agent, population)
    limit = AGITATION_RISE_SPREADS * population.level_spread_db
    score = _clip01(0.5 * largest / limit) if largest < limit else _clip01(0.5 + 0.5 * (largest - limit) / limit)
    return Agitation(round(score, 4), largest, stretches)


def segment_agitation(segment: Segment, agitation: Agitation) -> float:
    """One agent segment: the call's agitation where the segment lies in a raised stretch, else half of it."""
    duration = segment.end - segment.start
    raised = sum(_overlap(span, segment.start, segment.end) for span in agitation.loud_spans)
    coverage = raised / duration if duration > 0 else 0.0
    return round(agitation.score * (0.5 + 0.5 * _clip01(2 * coverage)), 4)


@dataclass(frozen=True)
class CustomerCues:
    """Acoustic evidence about the customer: `arousal` (loud, fast, varied pitch: anger) and `low_energy`
    (quiet and slow relative to the agent: distress), each 0..1."""

    arousal: float
    low_energy: float
    loud_spans: tuple[Span, ...] = ()


def customer_cues(features: AcousticFeatures | None) -> CustomerCues:
    customer: ChannelFeatures | None = features.channel("customer") if features else None
    if features is None or customer is None or customer.speech_seconds <= 0:
        return CustomerCues(0.0, 0.0)
    agent = features.channel("agent")
    gap = customer.loudness_dbfs_mean - agent.loudness_dbfs_mean if agent and agent.speech_seconds > 0 else 0.0
    rate = customer.speech_rate_sps
    loud_fraction = sum(s.duration for s in customer.loud_spans) / customer.speech_seconds
    arousal = (0.4 * _clip01(gap / 6.0) + 0.3 * _clip01(loud_fraction / LOUD_FRACTION_FULL)
               + 0.15 * _clip01(((customer.pitch_std_hz or 0.0) - PITCH_STD_CALM_HZ) / PITCH_STD_SPAN_HZ)
               + 0.15 * (1.0 if rate and rate > FAST_SPEECH_SPS else 0.0))
    low_energy = 0.6 * _clip01(-gap / 9.0) + 0.4 * (1.0 if rate and rate < SLOW_SPEECH_SPS else 0.0)
    return CustomerCues(round(arousal, 4), round(low_energy, 4), customer.loud_spans)


def segment_loudness_share(segment: Segment, cues: CustomerCues) -> float:
    """Share of a customer segment that lies in the customer's own loud spans (raised voice)."""
    duration = segment.end - segment.start
    if duration <= 0:
        return 0.0
    return _clip01(sum(_overlap(span, segment.start, segment.end) for span in cues.loud_spans) / duration)
