"""Recording → speaker-attributed Transcript (+ acoustic features), fully offline.

Per channel: loudness normalisation → Silero VAD (shipped inside faster-whisper) → Whisper on the speech only,
at temperature 0 with the configured language → segments split back at the VAD speech regions (word
timestamps tell which region each word came from, so one segment never spans the other party's turn) →
guards (Simplified output, phantom phrases, repetition loops, no-speech / low-confidence checks). Stereo
channels are transcribed separately, attributed through the channel map and merged by time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from asr.audio import TARGET_SAMPLE_RATE, LoadedAudio, load_audio, normalise_loudness
from asr.backends import DecodeOptions, RawSegment, load_backend
from asr.guards import cut_repetition_loops, is_empty_text, remove_phantom_phrases, to_simplified
from qc.domain import AcousticFeatures, Segment, Transcript, Word

# Simplified-Chinese prompt: steers Whisper towards Simplified characters and punctuation.
DEFAULT_INITIAL_PROMPTS = {"zh": "以下是普通话的句子。"}


@dataclass(frozen=True)
class TranscribeOptions:
    backend: str = "faster-whisper"  # faster-whisper | openai-whisper
    model: str = "base"  # base | tiny.en | a CT2 directory | an openai .pt file
    language: str | None = "zh"  # never auto-detected by default: detection mislabels Mandarin phone audio
    beam_size: int = 1
    compute_type: str = "int8"  # faster-whisper only
    device: str = "auto"
    cpu_threads: int = 2
    vad: bool = True
    word_timestamps: bool = False  # keep words on the segments (they are always computed to split at VAD gaps)
    temperatures: tuple[float, ...] = (0.0,)  # add fallbacks only knowingly: 3-10x slower on bad audio
    initial_prompt: str | None = None  # None: DEFAULT_INITIAL_PROMPTS for the language
    condition_on_previous_text: bool = False  # True lets one hallucination seed the next window
    max_duration_s: float | None = None
    loudness_target_dbfs: float = -20.0
    # VAD (Silero): speech probability threshold, pause that ends a speech region, padding around regions
    vad_threshold: float = 0.5
    vad_min_silence_ms: int = 500
    vad_speech_pad_ms: int = 200
    # Guards. A segment is dropped when no_speech_prob > no_speech_threshold and avg_logprob < logprob_threshold
    # (Whisper's own silence rule), or when avg_logprob < drop_logprob_threshold; it is flagged
    # "low_confidence" below logprob_threshold and "high_compression" above compression_ratio_threshold.
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    drop_logprob_threshold: float = -1.5  # 8 calls: real speech >= -1.06, a hallucination -1.75
    compression_ratio_threshold: float = 2.4
    max_char_repeats: int = 4  # one character repeated more than this is a loop (cut to three)
    # More text than anyone can say in the segment's time is a decoding loop on padding (seen on a 1 s clip:
    # 600 characters in 0.06 s); Mandarin speech runs ~4-8 characters/s, English ~15.
    max_chars_per_second: float = 40.0
    # ... and far less text than the time holds is a collapsed decode (seen: 4 characters for 24 s of clear
    # speech); such a stretch is decoded again one VAD region at a time, still at temperature 0, without the
    # prompt (on a short region Whisper may read the prompt back instead of the speech).
    min_chars_per_second: float = 1.0
    to_simplified: bool = True  # OpenCC t2s for Chinese

    @classmethod
    def from_settings(cls, asr_settings, **overrides) -> "TranscribeOptions":
        """Options from callqc.settings.AsrSettings (settings.asr), with keyword overrides."""
        values = dict(backend=asr_settings.backend, model=asr_settings.model, language=asr_settings.language,
                      beam_size=asr_settings.beam_size, compute_type=asr_settings.compute_type,
                      device=asr_settings.device, cpu_threads=asr_settings.cpu_threads, vad=asr_settings.vad)
        values.update(overrides)
        return cls(**values)

    def decode_options(self) -> DecodeOptions:
        prompt = self.initial_prompt if self.initial_prompt is not None else DEFAULT_INITIAL_PROMPTS.get(
            self.language or "")
        prompt = prompt or None  # "" switches the prompt off
        return DecodeOptions(
            language=self.language, beam_size=self.beam_size, temperatures=self.temperatures,
            initial_prompt=prompt, condition_on_previous_text=self.condition_on_previous_text,
            word_timestamps=True, no_speech_threshold=self.no_speech_threshold,
            logprob_threshold=self.logprob_threshold, compression_ratio_threshold=self.compression_ratio_threshold)


@dataclass(frozen=True)
class TranscriptionResult:
    transcript: Transcript
    features: AcousticFeatures


# Silence put between VAD speech regions when they are concatenated: gives Whisper's timestamps slack, so
# each word lands inside the region it was spoken in.
REGION_GAP_S = 0.3


@dataclass(frozen=True)
class _SpeechMap:
    """Where each VAD speech region sits in the concatenated speech audio and in the original channel."""

    original_starts: tuple[float, ...]  # seconds
    concatenated_starts: tuple[float, ...]
    lengths: tuple[float, ...]

    def region_of(self, start: float, end: float) -> int:
        """The region a stretch of concatenated time overlaps most (the nearest one if it overlaps none)."""
        def overlap(i: int) -> float:
            region_start = self.concatenated_starts[i]
            return min(end, region_start + self.lengths[i]) - max(start, region_start)

        return max(range(len(self.lengths)), key=overlap)

    def to_original(self, t: float, region: int) -> float:
        offset = min(max(t - self.concatenated_starts[region], 0.0), self.lengths[region])
        return round(self.original_starts[region] + offset, 3)


def _speech_regions(samples: np.ndarray, options: TranscribeOptions) -> tuple[np.ndarray, _SpeechMap | None]:
    """Concatenated speech and its map, or (samples, None) when VAD is off."""
    if not options.vad:
        return samples, None
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    regions = get_speech_timestamps(samples, VadOptions(
        threshold=options.vad_threshold, min_silence_duration_ms=options.vad_min_silence_ms,
        speech_pad_ms=options.vad_speech_pad_ms), sampling_rate=TARGET_SAMPLE_RATE)
    if not regions:
        return samples[:0], _SpeechMap((), (), ())
    gap = np.zeros(int(REGION_GAP_S * TARGET_SAMPLE_RATE), dtype=np.float32)
    pieces, original, concatenated, lengths, position = [], [], [], [], 0
    for region in regions:
        if pieces:
            pieces.append(gap)
            position += len(gap)
        pieces.append(samples[region["start"]:region["end"]])
        original.append(region["start"] / TARGET_SAMPLE_RATE)
        concatenated.append(position / TARGET_SAMPLE_RATE)
        lengths.append((region["end"] - region["start"]) / TARGET_SAMPLE_RATE)
        position += region["end"] - region["start"]
    return np.concatenate(pieces), _SpeechMap(tuple(original), tuple(concatenated), tuple(lengths))


def _split_at_regions(segment: RawSegment, speech: _SpeechMap | None) -> list[RawSegment]:
    """Map a segment of the concatenated speech back to original time, one piece per VAD region it covers."""
    if speech is None:
        return [segment]
    if not segment.words:
        region = speech.region_of(segment.start, segment.end)
        return [replace(segment, start=speech.to_original(segment.start, region),
                        end=speech.to_original(segment.end, region))]
    groups: list[tuple[int, list[Word]]] = []
    for word in segment.words:
        region = speech.region_of(word.start, word.end)
        mapped = Word(speech.to_original(word.start, region), speech.to_original(word.end, region),
                      word.text, word.probability)
        if groups and groups[-1][0] == region:
            groups[-1][1].append(mapped)
        else:
            groups.append((region, [mapped]))
    return [replace(segment, start=words[0].start, end=words[-1].end,
                    text="".join(w.text for w in words).strip(), words=tuple(words))
            for _, words in groups]


@dataclass(frozen=True)
class _Guarded:
    segment: RawSegment
    text: str
    flags: tuple[str, ...] = field(default_factory=tuple)


def _guard(segment: RawSegment, options: TranscribeOptions, language: str | None,
           prompt: str | None) -> _Guarded | None:
    """The segment's cleaned text and flags, or None when it must be dropped."""
    if segment.no_speech_prob > options.no_speech_threshold and segment.avg_logprob < options.logprob_threshold:
        return None
    if segment.avg_logprob < options.drop_logprob_threshold:
        return None
    if len(segment.text) > options.max_chars_per_second * max(segment.end - segment.start, 0.25):
        return None
    text = segment.text.replace("\ufffd", "")  # half a UTF-8 character from a split token
    if options.to_simplified and (language or "").startswith("zh"):
        text = to_simplified(text)
    flags: list[str] = []
    text, removed = remove_phantom_phrases(text)
    if prompt and prompt.strip("。.") in text:  # on a short unclear stretch Whisper may read back its prompt
        text, removed = text.replace(prompt, "").replace(prompt.strip("。."), ""), True
    if removed:
        flags.append("phantom_removed")
    text, cut = cut_repetition_loops(text, options.max_char_repeats)
    if cut:
        flags.append("repetition_cut")
    if is_empty_text(text):
        return None
    if segment.avg_logprob < options.logprob_threshold:
        flags.append("low_confidence")
    if segment.compression_ratio > options.compression_ratio_threshold:
        flags.append("high_compression")
    return _Guarded(segment, text, tuple(flags))


def _spoken_length(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _collapsed(segment: RawSegment, options: TranscribeOptions) -> bool:
    duration = segment.end - segment.start
    return duration > 4.0 and _spoken_length(segment.text) < options.min_chars_per_second * duration


def _decode_speech(backend, speech: np.ndarray, speech_map: _SpeechMap | None,
                   options: TranscribeOptions) -> list[RawSegment]:
    """Raw segments in original channel time, collapsed stretches re-decoded region by region."""
    decode = options.decode_options()
    retry_decode = replace(decode, initial_prompt=None)
    pieces: list[RawSegment] = []
    for raw in backend.transcribe(speech, decode):
        if speech_map is None or not _collapsed(raw, options):
            pieces.extend(_split_at_regions(raw, speech_map))
            continue
        for region in range(len(speech_map.lengths)):
            start = speech_map.concatenated_starts[region]
            end = start + speech_map.lengths[region]
            if end <= raw.start or start >= raw.end:
                continue
            audio = speech[int(start * TARGET_SAMPLE_RATE):int(end * TARGET_SAMPLE_RATE)]
            single = _SpeechMap((speech_map.original_starts[region],), (0.0,), (speech_map.lengths[region],))
            for retry in backend.transcribe(audio, retry_decode):
                pieces.extend(_split_at_regions(retry, single))
    return pieces


def transcribe_channel(samples: np.ndarray, options: TranscribeOptions) -> list[_Guarded]:
    """One channel (16 kHz float32) → guarded segments in original channel time, in time order."""
    backend = load_backend(options.backend, options.model, options.device, options.compute_type,
                           options.cpu_threads)
    normalised = normalise_loudness(samples, options.loudness_target_dbfs)
    speech, speech_map = _speech_regions(normalised, options)
    if len(speech) < TARGET_SAMPLE_RATE * 0.1:
        return []
    language = options.language if backend.multilingual else "en"
    prompt = options.decode_options().initial_prompt
    kept: list[_Guarded] = []
    for piece in _decode_speech(backend, speech, speech_map, options):
        guarded = _guard(piece, options, language, prompt)
        if guarded is None:
            continue
        if kept and guarded.text == kept[-1].text and len(guarded.text) >= 4:
            continue  # the same sentence again: a loop across segments
        kept.append(guarded)
    return kept


def transcribe_loaded(audio: LoadedAudio, options: TranscribeOptions,
                      channel_map: dict[str, str] | None = None) -> Transcript:
    """Transcript of decoded audio: each channel separately, speakers from the channel map, merged by time."""
    backend = load_backend(options.backend, options.model, options.device, options.compute_type,
                           options.cpu_threads)
    timed: list[tuple[float, float, str, _Guarded]] = []
    for channel in audio.channels:
        speaker = audio.speaker_of(channel, channel_map)
        for guarded in transcribe_channel(channel.samples, options):
            timed.append((guarded.segment.start, guarded.segment.end, speaker, guarded))
    timed.sort(key=lambda item: (item[0], item[1]))
    segments = tuple(
        Segment(id=index, start=start, end=end, speaker=speaker, text=guarded.text,
                avg_logprob=round(guarded.segment.avg_logprob, 4),
                no_speech_prob=round(guarded.segment.no_speech_prob, 4),
                compression_ratio=round(guarded.segment.compression_ratio, 4),
                words=guarded.segment.words if options.word_timestamps else (), flags=guarded.flags)
        for index, (start, end, speaker, guarded) in enumerate(timed)
    )
    language = options.language if backend.multilingual else "en"
    return Transcript(segments=segments, language=language or "", duration=round(audio.duration_s, 3),
                      backend=backend.name, model=backend.model_name)


def transcribe_audio(source: bytes | Path | str, options: TranscribeOptions,
                     channel_map: dict[str, str] | None = None, name: str = "") -> TranscriptionResult:
    """Decode a recording (bytes or path), transcribe it and measure its acoustic features.

    Raises asr.audio.AudioError for unusable audio, asr.backends.ModelNotFoundError for a missing model.
    """
    from asr.features import acoustic_features

    audio = load_audio(source, name=name, max_duration_s=options.max_duration_s)
    transcript = transcribe_loaded(audio, options, channel_map)
    return TranscriptionResult(transcript=transcript, features=acoustic_features(audio, channel_map))
