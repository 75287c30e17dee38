"""Acoustic features per channel (librosa): the inputs of the silence / overtalk / speech-rate / agitation rules.

Speech is found by energy: a 25 ms frame (10 ms hop) is voiced when it is well above the channel's own noise
floor, so line noise and digital silence both count as silence. All levels are measured on the samples as
recorded (not loudness-normalised) and reported in dBFS.
"""

from __future__ import annotations

import numpy as np

from asr.audio import TARGET_SAMPLE_RATE, LoadedAudio, frame_rms_dbfs
from qc.domain import AcousticFeatures, ChannelFeatures, Span

HOP_S = 0.010
FRAME = 400  # 25 ms at 16 kHz
HOP = 160
SPEECH_ABOVE_FLOOR_DB = 15.0  # voiced frames are this far above the noise floor (10th percentile level)
SPEECH_BELOW_PEAK_DB = 45.0  # ... and within this range of the loudest frame
ABSOLUTE_SILENCE_DBFS = -70.0  # nothing quieter than this is speech
MERGE_GAP_S = 0.3  # pauses shorter than this stay inside one speech span
MIN_SPEECH_S = 0.15
MIN_SILENCE_S = 0.5  # shorter gaps are not reported as silence spans
LOUD_MARGIN_DB = 6.0  # loud span: speech this far above the channel's median speech level
MIN_LOUD_S = 0.3
PITCH_FMIN_HZ, PITCH_FMAX_HZ = 60.0, 400.0
NARROWBAND_RATE = 8000  # pitch and onsets are measured at telephone bandwidth
NARROWBAND_DECIMATION = TARGET_SAMPLE_RATE // NARROWBAND_RATE
PITCH_FRAME, PITCH_HOP = 512, 80  # 64 ms window (a 60 Hz period fits 3.8 times), 10 ms hop at 8 kHz
NO_SPEECH_DBFS = -120.0  # reported level of a channel without speech
LEVEL_PIECE_S = 1.0  # speech is cut into pieces this long for the per-second levels (agitation)
LEVEL_PIECE_MIN_S = 0.3
ONSET_LEAD = 5  # frames of envelope before a span, so the onset that starts it can be a peak
LEVEL_PIECE_MIN_FRAMES = 20  # voiced 10 ms frames a piece needs to have a level


def _frames_to_spans(mask: np.ndarray, merge_gap_s: float, min_length_s: float) -> tuple[Span, ...]:
    spans: list[list[float]] = []
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    for start, end in zip(edges[::2], edges[1::2]):
        start_s, end_s = start * HOP_S, end * HOP_S + (FRAME - HOP) / TARGET_SAMPLE_RATE
        if spans and start_s - spans[-1][1] < merge_gap_s:
            spans[-1][1] = end_s
        else:
            spans.append([start_s, end_s])
    return tuple(Span(round(float(a), 3), round(float(b), 3)) for a, b in spans if b - a >= min_length_s)


def _gaps(spans: tuple[Span, ...], duration: float, min_length_s: float) -> tuple[Span, ...]:
    gaps, position = [], 0.0
    for span in spans:
        if span.start - position >= min_length_s:
            gaps.append(Span(round(position, 3), round(span.start, 3)))
        position = max(position, span.end)
    if duration - position >= min_length_s:
        gaps.append(Span(round(position, 3), round(duration, 3)))
    return tuple(gaps)


def _union(spans: list[Span]) -> tuple[Span, ...]:
    merged: list[list[float]] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], span.end)
        else:
            merged.append([span.start, span.end])
    return tuple(Span(a, b) for a, b in merged)


def _intersection(a: tuple[Span, ...], b: tuple[Span, ...], min_length_s: float) -> tuple[Span, ...]:
    overlaps = []
    for x in a:
        for y in b:
            start, end = max(x.start, y.start), min(x.end, y.end)
            if end - start >= min_length_s:
                overlaps.append(Span(round(start, 3), round(end, 3)))
    return tuple(sorted(overlaps, key=lambda s: s.start))


def speech_mask(levels_db: np.ndarray, floor_db: float | None = None) -> np.ndarray:
    """Voiced frames of a channel from its per-frame levels (floor_db: the noise floor, when the levels are
    of a part of a channel only)."""
    floor = float(np.percentile(levels_db, 10)) if floor_db is None else floor_db
    threshold = max(floor + SPEECH_ABOVE_FLOOR_DB, float(levels_db.max()) - SPEECH_BELOW_PEAK_DB,
                    ABSOLUTE_SILENCE_DBFS)
    return levels_db > threshold


def _pitch(samples: np.ndarray, speech_spans: tuple[Span, ...]) -> tuple[float | None, float | None, np.ndarray]:
    """Median and spread of F0 over the speech spans only, tracked on audio decimated to 8 kHz; and the F0 of
    every 10 ms frame of the channel (NaN where unvoiced or not tracked), for the per-second speech levels.

    Silence frames are dropped anyway, and a 60-400 Hz pitch needs no more than 8 kHz (call audio is recorded
    at 8 kHz): yin on the speech alone at half the rate costs about a quarter of yin over the whole channel.
    """
    import librosa
    import soxr

    frame_f0 = np.full(len(samples) // HOP + 1, np.nan)
    voiced_f0 = []
    for span in speech_spans:
        piece = samples[int(span.start * TARGET_SAMPLE_RATE):int(span.end * TARGET_SAMPLE_RATE)]
        if len(piece) < PITCH_FRAME * NARROWBAND_DECIMATION:
            continue
        f0 = librosa.yin(soxr.resample(piece, TARGET_SAMPLE_RATE, NARROWBAND_RATE), fmin=PITCH_FMIN_HZ,
                         fmax=PITCH_FMAX_HZ, sr=NARROWBAND_RATE, frame_length=PITCH_FRAME, hop_length=PITCH_HOP,
                         center=False)
        # yin answers every frame; values pinned at the search limits are unvoiced frames, not pitch
        f0 = np.where((f0 > PITCH_FMIN_HZ * 1.05) & (f0 < PITCH_FMAX_HZ * 0.95), f0, np.nan)
        first = int(round(span.start / HOP_S))
        frame_f0[first:first + len(f0)] = f0[:len(frame_f0) - first]
        voiced_f0.append(f0[~np.isnan(f0)])
    f0 = np.concatenate(voiced_f0) if voiced_f0 else np.array([])
    if len(f0) < 10:
        return None, None, frame_f0
    return round(float(np.median(f0)), 1), round(float(np.std(f0)), 1), frame_f0


def _speech_levels(levels: np.ndarray, voiced: np.ndarray, frame_f0: np.ndarray,
                   speech_spans: tuple[Span, ...]) -> tuple[tuple[float, float, float, float | None], ...]:
    """Per ≈1 s piece of each speech span: (start, end, median level of its voiced frames, median F0 or None)."""
    pieces = []
    for span in speech_spans:
        start = span.start
        while span.end - start >= LEVEL_PIECE_MIN_S:
            end = min(start + LEVEL_PIECE_S, span.end)
            if span.end - end < LEVEL_PIECE_MIN_S:
                end = span.end  # a short tail joins the piece before it
            frames = slice(int(start / HOP_S), int(end / HOP_S))
            piece_levels = levels[frames][voiced[frames]]
            if len(piece_levels) >= LEVEL_PIECE_MIN_FRAMES:
                f0 = frame_f0[frames]
                f0 = f0[~np.isnan(f0)]
                pitch = round(float(np.median(f0)), 1) if len(f0) >= LEVEL_PIECE_MIN_FRAMES // 2 else None
                pieces.append((round(start, 3), round(end, 3), round(float(np.median(piece_levels)), 2), pitch))
            start = end
    return tuple(pieces)


def _speech_rate(samples: np.ndarray, speech_spans: tuple[Span, ...], speech_seconds: float) -> float | None:
    """Syllable-like energy onsets per second of speech.

    One onset-strength envelope for the whole channel (one mel spectrogram), peaks picked span by span: per-span
    spectrograms cost five times as much, most of it rebuilding the same mel filter bank for every span. The
    envelope is computed at 8 kHz (telephone speech has nothing above 4 kHz) with the same 10 ms hop: 3.5x
    cheaper, and the rates of the 12 sample calls' channels moved by at most 0.07 (Mandarin) / 0.21 (English
    espeak) onsets per second."""
    import librosa
    import soxr

    if speech_seconds < 1.0:
        return None
    hop = HOP // NARROWBAND_DECIMATION  # 10 ms at 8 kHz
    envelope = librosa.onset.onset_strength(y=soxr.resample(samples, TARGET_SAMPLE_RATE, NARROWBAND_RATE),
                                            sr=NARROWBAND_RATE, hop_length=hop, n_fft=1024)
    onsets = 0
    for span in speech_spans:
        first, last = int(span.start * TARGET_SAMPLE_RATE) // HOP, int(span.end * TARGET_SAMPLE_RATE) // HOP
        if (last - first) * HOP < FRAME * 4:
            continue
        onsets += len(librosa.onset.onset_detect(onset_envelope=envelope[max(0, first - ONSET_LEAD):last + 1],
                                                 sr=NARROWBAND_RATE, hop_length=hop, units="frames"))
    return round(onsets / speech_seconds, 2)


def channel_features(samples: np.ndarray, speaker: str, floor_db: float | None = None) -> ChannelFeatures:
    duration = len(samples) / TARGET_SAMPLE_RATE
    levels = frame_rms_dbfs(samples, FRAME, HOP)
    voiced = speech_mask(levels, floor_db)
    spans = _frames_to_spans(voiced, MERGE_GAP_S, MIN_SPEECH_S)
    speech_seconds = round(sum(s.duration for s in spans), 3)
    silences = _gaps(spans, duration, 0.0)
    if not spans:
        return ChannelFeatures(speaker=speaker, speech_spans=(), speech_seconds=0.0,
                               longest_silence_s=round(duration, 3), loudness_dbfs_mean=NO_SPEECH_DBFS,
                               loudness_dbfs_peak=round(float(levels.max()), 2), loud_spans=(),
                               pitch_mean_hz=None, pitch_std_hz=None, speech_rate_sps=None)
    speech_levels = levels[voiced]
    mean_level = float(np.mean(speech_levels))
    # the median is the speaker's usual level: shouting, however long, does not raise its own reference
    loud = voiced & (levels > float(np.median(speech_levels)) + LOUD_MARGIN_DB)
    pitch_mean, pitch_std, frame_f0 = _pitch(samples, spans)
    return ChannelFeatures(
        speaker=speaker,
        speech_spans=spans,
        speech_seconds=speech_seconds,
        longest_silence_s=round(max((g.duration for g in silences), default=0.0), 3),
        loudness_dbfs_mean=round(mean_level, 2),
        loudness_dbfs_peak=round(float(speech_levels.max()), 2),
        loud_spans=_frames_to_spans(loud, MERGE_GAP_S, MIN_LOUD_S),
        pitch_mean_hz=pitch_mean,
        pitch_std_hz=pitch_std,
        speech_rate_sps=_speech_rate(samples, spans, speech_seconds),
        speech_levels=_speech_levels(levels, voiced, frame_f0, spans),
    )


def _only(samples: np.ndarray, spans: tuple[Span, ...]) -> np.ndarray:
    """The samples inside the spans; digital silence elsewhere."""
    kept = np.zeros_like(samples)
    for span in spans:
        first, last = int(span.start * TARGET_SAMPLE_RATE), int(span.end * TARGET_SAMPLE_RATE)
        kept[first:last] = samples[first:last]
    return kept


def acoustic_features(audio: LoadedAudio, channel_map: dict[str, str] | None = None,
                      speaker_spans: dict[str, tuple[Span, ...]] | None = None) -> AcousticFeatures:
    """Per-channel features plus the call-level overtalk (both voiced) and silence (nobody voiced) spans.

    speaker_spans (a mixed channel split into speakers, asr.speakers): one set of features per speaker, measured
    on that speaker's turns of the channel; overtalk cannot be told apart on one channel and is not reported."""
    if speaker_spans and len(audio.channels) == 1:
        samples = audio.channels[0].samples
        floor = float(np.percentile(frame_rms_dbfs(samples, FRAME, HOP), 10))  # the mix's, not a masked part's
        channels = tuple(channel_features(_only(samples, spans), speaker, floor)
                         for speaker, spans in sorted(speaker_spans.items()))
    else:
        channels = tuple(channel_features(c.samples, audio.speaker_of(c, channel_map)) for c in audio.channels)
    duration = round(audio.duration_s, 3)
    overtalk: tuple[Span, ...] = ()
    if len(channels) == 2 and len(audio.channels) == 2:
        overtalk = _intersection(channels[0].speech_spans, channels[1].speech_spans, MIN_SPEECH_S)
    anyone = _union([s for c in channels for s in c.speech_spans])
    silences = _gaps(anyone, duration, MIN_SILENCE_S)
    return AcousticFeatures(duration=duration, channels=channels, overtalk_spans=overtalk, silence_spans=silences,
                            longest_silence_s=round(max((s.duration for s in silences), default=0.0), 3))
