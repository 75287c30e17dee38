"""Acoustic cues from qc.domain.AcousticFeatures: agent agitation, and customer arousal for emotion.

There is no labelled acoustic data to train on (the synthetic calls carry emotion in wording and level only,
see shared/data/calls/README.md), so these are transparent weighted scores with documented constants, not
trained models. Each weight says how much one cue moves a 0..1 score.
"""

from __future__ import annotations

from dataclasses import dataclass

from qc.domain import AcousticFeatures, ChannelFeatures, Segment, Span

LONG_LOUD_SPAN_S = 4.0  # a loud stretch this long (or longer) counts fully as shouting
LOUD_FRACTION_FULL = 0.25  # a quarter of the agent's speech loud counts fully
LEVEL_GAP_FULL_DB = 10.0  # agent this much louder than the customer counts fully
PITCH_STD_CALM_HZ = 30.0  # pitch spread up to here is ordinary speech
PITCH_STD_SPAN_HZ = 60.0  # ... and this much more counts fully as excited
FAST_SPEECH_SPS = 5.5  # syllable-like onsets per second above which speech counts as hurried
SLOW_SPEECH_SPS = 3.0
AGITATION_WEIGHTS = {"longest_loud": 0.4, "loud_fraction": 0.3, "level_over_customer": 0.2, "pitch_spread": 0.1}


def _clip01(value: float) -> float:
    return max(0.0, min(1.0, value))


def _overlap(span: Span, start: float, end: float) -> float:
    return max(0.0, min(span.end, end) - max(span.start, start))


@dataclass(frozen=True)
class Agitation:
    """Agent agitation over a call: `score` 0..1 plus the measurements it was made from."""

    score: float
    loud_seconds: float
    longest_loud_s: float
    loud_fraction: float
    level_over_customer_db: float | None
    loud_spans: tuple[Span, ...]


def agent_agitation(features: AcousticFeatures, speaker: str = "agent") -> Agitation | None:
    """Shouting and long loud spans in the agent channel → a 0..1 score; None without an agent channel."""
    agent = features.channel(speaker)  # type: ignore[arg-type]
    if agent is None:
        return None
    customer = features.channel("customer")
    loud_seconds = sum(span.duration for span in agent.loud_spans)
    longest = max((span.duration for span in agent.loud_spans), default=0.0)
    fraction = loud_seconds / agent.speech_seconds if agent.speech_seconds > 0 else 0.0
    gap = (agent.loudness_dbfs_mean - customer.loudness_dbfs_mean) if customer and customer.speech_seconds > 0 else None
    pitch = ((agent.pitch_std_hz or 0.0) - PITCH_STD_CALM_HZ) / PITCH_STD_SPAN_HZ
    cues = {
        "longest_loud": _clip01(longest / LONG_LOUD_SPAN_S),
        "loud_fraction": _clip01(fraction / LOUD_FRACTION_FULL),
        "level_over_customer": _clip01((gap or 0.0) / LEVEL_GAP_FULL_DB),
        "pitch_spread": _clip01(pitch),
    }
    score = sum(AGITATION_WEIGHTS[name] * value for name, value in cues.items())
    return Agitation(round(score, 4), round(loud_seconds, 3), round(longest, 3), round(fraction, 4),
                     None if gap is None else round(gap, 2), agent.loud_spans)


def segment_agitation(segment: Segment, agitation: Agitation) -> float:
    """One agent segment: half the call's agitation, half the share of the segment spoken loudly."""
    duration = segment.end - segment.start
    loud = sum(_overlap(span, segment.start, segment.end) for span in agitation.loud_spans)
    coverage = loud / duration if duration > 0 else 0.0
    return round(0.5 * agitation.score + 0.5 * _clip01(coverage), 4)


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
