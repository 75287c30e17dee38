"""Recording → speaker-attributed Transcript (+ acoustic features), fully offline.

Per channel: loudness normalisation → Silero VAD (shipped inside faster-whisper) → Whisper on the speech only,
at temperature 0 with the configured language → segments split back at the VAD speech regions (word
timestamps tell which region each word came from, so one segment never spans the other party's turn) →
guards (Simplified output, phantom phrases, repetition loops, no-speech / low-confidence checks). Stereo
channels are transcribed separately, attributed through the channel map and merged by time. One mixed channel
is split into two voices (asr.speakers): Whisper's words are cut at the voice turns, and each voice is named
agent or customer by what it says.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

import numpy as np

from asr.audio import TARGET_SAMPLE_RATE, LoadedAudio, load_audio, normalise_loudness
from asr.backends import DecodeOptions, RawSegment, available_cores, load_backend, resolve_device
from asr.guards import cut_repetition_loops, is_empty_text, remove_phantom_phrases, to_simplified
from asr.speakers import VoiceTurn, assign_roles, role_spans, split_voices, voice_at
from qc.domain import AcousticFeatures, Segment, Span, Transcript, Word

log = logging.getLogger(__name__)

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
    # > 1: the VAD regions, grouped into ≤ 30 s clips, are decoded this many at a time (faster-whisper's
    # BatchedInferencePipeline: the GPU path). 0: one 30 s window after another (the CPU path).
    batch_size: int = 0
    vad: bool = True
    word_timestamps: bool = False  # keep words on the segments (they are always computed to split at VAD gaps)
    temperatures: tuple[float, ...] = (0.0,)  # add fallbacks only knowingly: 3-10x slower on bad audio
    initial_prompt: str | None = None  # None: DEFAULT_INITIAL_PROMPTS for the language
    # Domain words for the decoder (faster-whisper `hotwords`: agency names, 工号, collection vocabulary);
    # dropped on re-decodes, and read back as a segment's whole text they are removed like the prompt.
    hotwords: str | None = None
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
    # True: a segment that Whisper's silence rule or drop_logprob_threshold would drop is kept, flagged "unsure"
    # (and "low_confidence"), and Whisper no longer skips a window by its silence rule; known phantoms, the
    # prompt read back and loops are still removed. Off by default: on the 8 sample calls every segment these
    # rules dropped was a hallucination (avg log-prob -1.75), which the rules would then judge.
    keep_unsure: bool = False
    max_char_repeats: int = 4  # one character repeated more than this is a loop (cut to three)
    # More text than anyone can say in the segment's time, once loops are cut, is a decode on padding (seen on a
    # 1 s clip: 600 characters in 0.06 s); Mandarin speech runs ~4-8 characters/s, English ~15.
    max_chars_per_second: float = 40.0
    # ... and far less text than the time holds is a collapsed decode (seen: 4 characters for 24 s of clear
    # speech); such a stretch is decoded again at temperature 0 without the prompt (on a short region Whisper
    # may read the prompt back instead of the speech): as a whole first, one VAD region at a time only where it
    # collapses again (each region costs a whole 30 s Whisper window).
    min_chars_per_second: float = 1.0
    to_simplified: bool = True  # OpenCC t2s for Chinese
    # Consecutive pieces of one speaker with no other speaker in between and a pause of at most this many
    # seconds are one turn: VAD splits a turn at every breath, and a phrase a rule looks for (a mini-Miranda,
    # 自报家门) must not be cut in two. 0 keeps Whisper's pieces. A turn is never merged past max_turn_s.
    turn_merge_gap_s: float = 1.0
    max_turn_s: float = 30.0
    # One mixed channel (mono or dual mono) is split into two voices named agent and customer (asr.speakers);
    # False leaves its segments "unknown". agent_cues: more of the collector's words (the agency's name).
    split_mono: bool = True
    agent_cues: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, asr_settings, **overrides) -> "TranscribeOptions":
        """Options from callqc.settings.AsrSettings (settings.asr), with keyword overrides. cpu_threads "auto"
        is every available core (one transcription at a time; callers running several pass their share);
        batching is on where the model runs on CUDA."""
        cpu_threads = asr_settings.cpu_threads
        on_gpu = resolve_device(asr_settings.device, asr_settings.backend) == "cuda"
        values = dict(backend=asr_settings.backend, model=asr_settings.model, language=asr_settings.language,
                      beam_size=asr_settings.beam_size, compute_type=asr_settings.compute_type,
                      device=asr_settings.device, vad=asr_settings.vad,
                      cpu_threads=available_cores() if cpu_threads == "auto" else cpu_threads,
                      batch_size=asr_settings.batch_size if on_gpu else 0,
                      keep_unsure=asr_settings.keep_unsure, split_mono=asr_settings.split_mono)
        values.update(overrides)
        return cls(**values)

    def decode_options(self) -> DecodeOptions:
        prompt = self.initial_prompt if self.initial_prompt is not None else DEFAULT_INITIAL_PROMPTS.get(
            self.language or "")
        prompt = prompt or None  # "" switches the prompt off
        return DecodeOptions(
            language=self.language, beam_size=self.beam_size, temperatures=self.temperatures,
            initial_prompt=prompt, hotwords=self.hotwords or None,
            condition_on_previous_text=self.condition_on_previous_text,
            word_timestamps=True,
            # Whisper's own silence rule skips a whole 30 s window; with keep_unsure the guards judge each segment
            no_speech_threshold=None if self.keep_unsure else self.no_speech_threshold,
            logprob_threshold=self.logprob_threshold, compression_ratio_threshold=self.compression_ratio_threshold)


@dataclass(frozen=True)
class TranscriptionResult:
    transcript: Transcript
    features: AcousticFeatures


# Silence put between VAD speech regions when they are concatenated: gives Whisper's timestamps slack, so
# each word lands inside the region it was spoken in. (1.0 s avoided one collapse on the 8 calls and was 6%
# faster, but lost an agent's whole closing turn on callA_03: kept at 0.3 s.)
REGION_GAP_S = 0.3
# A VAD region at least this long that no decoded segment came from is decoded again (_decode_unheard).
MIN_UNHEARD_S = 0.5
# A loop across segments repeats the previous segment at once; a person who says the same thing again a while
# later (「我没钱还」 twice in a call) is not a loop. Only sentences count (letters and digits, not punctuation):
# 「对」「好的」 repeat legitimately.
REPEAT_WITHIN_S = 2.0
REPEAT_MIN_CHARS = 4


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

    def overlapping(self, start: float, end: float) -> list[int]:
        """The regions a stretch of concatenated time overlaps."""
        return [i for i, (region_start, length) in enumerate(zip(self.concatenated_starts, self.lengths))
                if region_start < end and region_start + length > start]

    def excerpt(self, speech: np.ndarray, start: float, end: float) -> tuple[np.ndarray, _SpeechMap]:
        """The whole regions a stretch overlaps (with the gaps between them) and their own map."""
        regions = self.overlapping(start, end) or [self.region_of(start, end)]
        first, last = regions[0], regions[-1]
        offset = self.concatenated_starts[first]
        audio = speech[int(offset * TARGET_SAMPLE_RATE):
                       int((self.concatenated_starts[last] + self.lengths[last]) * TARGET_SAMPLE_RATE)]
        return audio, _SpeechMap(self.original_starts[first:last + 1],
                                 tuple(s - offset for s in self.concatenated_starts[first:last + 1]),
                                 self.lengths[first:last + 1])

    def clips(self, max_s: float = 30.0) -> tuple[tuple[float, float], ...]:
        """Consecutive regions (with the gaps between them) grouped into clips of concatenated time of at most
        max_s, Whisper's window. A longer region is cut into equal pieces: a batched decode reads only the
        first 30 s of a clip."""
        clips: list[list[float]] = []
        for start, length in zip(self.concatenated_starts, self.lengths):
            if clips and start + length - clips[-1][0] <= max_s:
                clips[-1][1] = start + length
                continue
            pieces = math.ceil(length / max_s)
            clips.extend([start + length * i / pieces, start + length * (i + 1) / pieces] for i in range(pieces))
        return tuple((round(a, 3), round(b, 3)) for a, b in clips)

    def excerpt_region(self, speech: np.ndarray, region: int) -> tuple[np.ndarray, _SpeechMap]:
        start = self.concatenated_starts[region]
        audio = speech[int(start * TARGET_SAMPLE_RATE):int((start + self.lengths[region]) * TARGET_SAMPLE_RATE)]
        return audio, _SpeechMap((self.original_starts[region],), (0.0,), (self.lengths[region],))


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


def _regroup(segment: RawSegment, keyed_words: Iterable[tuple[int, Word]]) -> list[RawSegment]:
    """One piece of the segment per run of consecutive words with the same key (a VAD region, a voice)."""
    groups: list[tuple[int, list[Word]]] = []
    for key, word in keyed_words:
        if groups and groups[-1][0] == key:
            groups[-1][1].append(word)
        else:
            groups.append((key, [word]))
    return [replace(segment, start=words[0].start, end=words[-1].end,
                    text="".join(w.text for w in words).strip(), words=tuple(words))
            for _, words in groups]


def _split_at_regions(segment: RawSegment, speech: _SpeechMap | None) -> list[RawSegment]:
    """Map a segment of the concatenated speech back to original time, one piece per VAD region it covers."""
    if speech is None:
        return [segment]
    if not segment.words:
        region = speech.region_of(segment.start, segment.end)
        return [replace(segment, start=speech.to_original(segment.start, region),
                        end=speech.to_original(segment.end, region))]

    def mapped(word: Word) -> tuple[int, Word]:
        region = speech.region_of(word.start, word.end)
        return region, Word(speech.to_original(word.start, region), speech.to_original(word.end, region),
                            word.text, word.probability)

    return _regroup(segment, map(mapped, segment.words))


def _split_at_voices(segment: RawSegment, turns: tuple[VoiceTurn, ...]) -> list[RawSegment]:
    """A segment (original time) cut where the voice changes, by the turn each word falls in."""
    if not segment.words or not turns:
        return [segment]
    return _regroup(segment, ((voice_at(turns, w.start, w.end), w) for w in segment.words))


@dataclass(frozen=True)
class _Guarded:
    segment: RawSegment
    text: str
    flags: tuple[str, ...] = field(default_factory=tuple)


def _guard(segment: RawSegment, options: TranscribeOptions, language: str | None,
           prompt: str | None) -> _Guarded | str:
    """The segment's cleaned text and flags, or why it must be dropped (see docs/asr-robustness.md, "Every drop
    decision, audited")."""
    flags: list[str] = []
    silent = (segment.no_speech_prob > options.no_speech_threshold
              and segment.avg_logprob < options.logprob_threshold)
    # Whisper's avg_logprob is its whole window's: a clear 「喂？」 decoded in a window with garbled audio shares the
    # window's score. The floor therefore also asks the segment's own words, when it has them.
    own = _words_logprob(segment)
    below_floor = segment.avg_logprob < options.drop_logprob_threshold and (
        own is None or own < options.drop_logprob_threshold)
    if silent or below_floor:
        if not options.keep_unsure:
            return "silence rule" if silent else "log-prob floor"
        flags.append("unsure")  # kept: VAD heard speech here; the phantom and loop guards below still apply
    text = segment.text.replace("\ufffd", "")  # half a UTF-8 character from a split token
    if options.to_simplified and (language or "").startswith("zh"):
        text = to_simplified(text)
    text, removed = remove_phantom_phrases(text)
    if prompt and prompt.strip("。.") in text:  # on a short unclear stretch Whisper may read back its prompt
        text, removed = text.replace(prompt, "").replace(prompt.strip("。."), ""), True
    if options.hotwords and _read_back(text, options.hotwords):
        text, removed = "", True
    if removed:
        flags.append("phantom_removed")
    text, cut = cut_repetition_loops(text, options.max_char_repeats)
    if cut:
        flags.append("repetition_cut")
    if len(text) > options.max_chars_per_second * max(segment.end - segment.start, 0.25):
        return "text faster than speech"  # after the loop cut: a loop is cut down, not lost with its segment
    if is_empty_text(text):
        return "phantom or read-back only" if removed else "no text"
    if segment.avg_logprob < options.logprob_threshold:
        flags.append("low_confidence")
    if segment.compression_ratio > options.compression_ratio_threshold:
        flags.append("high_compression")
    return _Guarded(segment, text, tuple(flags))


def _words_logprob(segment: RawSegment) -> float | None:
    """The mean log-probability of the segment's own words (None without word probabilities)."""
    probabilities = [w.probability for w in segment.words if w.probability is not None]
    if not probabilities:
        return None
    return float(np.mean(np.log(np.clip(probabilities, 1e-6, 1.0))))


def _read_back(text: str, hotwords: str) -> bool:
    """The whole text (4+ characters) is a run of the hotwords: Whisper reading its vocabulary back."""
    core = "".join(ch for ch in text if ch.isalnum())
    return len(core) >= 4 and core in "".join(ch for ch in hotwords if ch.isalnum())


def _spoken_length(text: str) -> int:
    return sum(1 for ch in text if ch.isalnum())


def _collapsed(segment: RawSegment, options: TranscribeOptions) -> bool:
    duration = segment.end - segment.start
    return duration > 4.0 and _spoken_length(segment.text) < options.min_chars_per_second * duration


def _decode_speech(backend, speech: np.ndarray, speech_map: _SpeechMap | None,
                   options: TranscribeOptions) -> list[RawSegment]:
    """Raw segments in original channel time, collapsed stretches decoded again without the prompt.

    A collapsed stretch is first decoded again as a whole (one Whisper call, usually enough: the collapse
    comes from the prompt); only what collapses again is decoded one VAD region at a time, since each
    region costs a full 30 s encoder window.
    """
    decode = options.decode_options()
    retry_decode = replace(decode, initial_prompt=None, hotwords=None)
    if options.batch_size > 1 and speech_map is not None:
        # Batched, without the prompt: with it, faster-whisper's batched pipeline collapsed whole clips into a
        # loop of "。" (callA_07's customer: CER 1.00; without it 0.11). The guards convert to Simplified anyway.
        decode = replace(decode, batch_size=options.batch_size, clips=speech_map.clips(), initial_prompt=None)
    pieces: list[RawSegment] = []
    heard: set[int] = set()  # VAD regions some decoded segment overlaps
    for raw in backend.transcribe(speech, decode):
        if speech_map is not None:
            heard.update(speech_map.overlapping(raw.start, raw.end))
        if speech_map is None or not _collapsed(raw, options):
            pieces.extend(_split_at_regions(raw, speech_map))
            continue
        retried = _decode_collapsed(backend, speech, speech_map, raw, retry_decode, options)
        # the retry replaces the collapsed decode only when it heard something: never lose the few words it had
        pieces.extend(retried if any(_spoken_length(piece.text) for piece in retried)
                      else _split_at_regions(raw, speech_map))
    if speech_map is not None:
        pieces.extend(_decode_unheard(backend, speech, speech_map, heard, retry_decode))
    return sorted(pieces, key=lambda piece: piece.start)


def _decode_collapsed(backend, speech: np.ndarray, speech_map: _SpeechMap, raw: RawSegment,
                      retry_decode: DecodeOptions, options: TranscribeOptions) -> list[RawSegment]:
    """A collapsed stretch decoded again without the prompt: as a whole, then region by region where it
    collapses again."""
    pieces: list[RawSegment] = []
    stretch, stretch_map = speech_map.excerpt(speech, raw.start, raw.end)
    for retry in backend.transcribe(stretch, retry_decode):
        if len(stretch_map.lengths) == 1 or not _collapsed(retry, options):
            pieces.extend(_split_at_regions(retry, stretch_map))
            continue
        for region in stretch_map.overlapping(retry.start, retry.end):
            audio, single = stretch_map.excerpt_region(stretch, region)
            for again in backend.transcribe(audio, retry_decode):
                pieces.extend(_split_at_regions(again, single))
    return pieces


def _decode_unheard(backend, speech: np.ndarray, speech_map: _SpeechMap, heard: set[int],
                    decode: DecodeOptions) -> list[RawSegment]:
    """Decode again, without the prompt, each run of consecutive VAD regions no segment came from.

    Whisper sometimes jumps over speech: a window ends early and the next starts later (seen on mono calls:
    the first 14 s of one, the last 22 s of another, clear speech). Each run costs one more Whisper window."""
    runs: list[list[int]] = []
    for region in range(len(speech_map.lengths)):
        if region in heard or speech_map.lengths[region] < MIN_UNHEARD_S:
            continue
        if runs and runs[-1][-1] == region - 1:
            runs[-1].append(region)
        else:
            runs.append([region])
    pieces: list[RawSegment] = []
    for run in runs:
        start = speech_map.concatenated_starts[run[0]]
        end = speech_map.concatenated_starts[run[-1]] + speech_map.lengths[run[-1]]
        audio, run_map = speech_map.excerpt(speech, start + 0.01, end - 0.01)
        for again in backend.transcribe(audio, decode):
            pieces.extend(_split_at_regions(again, run_map))
    return pieces


def transcribe_channel(samples: np.ndarray, options: TranscribeOptions,
                       voices: tuple[VoiceTurn, ...] = ()) -> list[_Guarded]:
    """One channel (16 kHz float32) → guarded segments in original channel time, in time order; with voice
    turns (a mixed channel), no segment spans two voices."""
    backend = load_backend(options.backend, options.model, options.device, options.compute_type,
                           options.cpu_threads)
    normalised = normalise_loudness(samples, options.loudness_target_dbfs)
    speech, speech_map = _speech_regions(normalised, options)
    if len(speech) < TARGET_SAMPLE_RATE * 0.1:
        return []
    language = options.language if backend.multilingual else "en"
    pieces = _decode_speech(backend, speech, speech_map, options)
    if voices:
        pieces = [piece for raw in pieces for piece in _split_at_voices(raw, voices)]
    return guard_segments(pieces, options, language)


def guard_segments(pieces: Iterable[RawSegment], options: TranscribeOptions, language: str | None) -> list[_Guarded]:
    """The guards over a channel's decoded segments, in order: each segment cleaned, flagged or dropped
    (`_guard`), and a sentence that merely repeats the one kept just before it (starting within REPEAT_WITHIN_S of
    its end) dropped: a loop across segments. The same words said again later are speech, and kept.
    What was dropped, and why, is logged (logger `asr.transcribe`, INFO)."""
    prompt = options.decode_options().initial_prompt
    kept: list[_Guarded] = []
    loop_end = 0.0  # end of the last kept segment or of the last repeat of it dropped since
    dropped: Counter[str] = Counter()
    for piece in pieces:
        guarded = _guard(piece, options, language, prompt)
        if isinstance(guarded, str):
            dropped[guarded] += 1
            log.info("guard dropped %.2f-%.2f s (%s): %r", piece.start, piece.end, guarded, piece.text[:80])
            continue
        if kept and guarded.text == kept[-1].text and _spoken_length(guarded.text) >= REPEAT_MIN_CHARS \
                and piece.start - loop_end <= REPEAT_WITHIN_S:
            dropped["repeated sentence"] += 1  # the same sentence again at once: a loop across segments
            log.info("guard dropped %.2f-%.2f s (repeated sentence): %r", piece.start, piece.end, piece.text[:80])
            loop_end = piece.end
            continue
        kept.append(guarded)
        loop_end = piece.end
    if dropped:
        log.info("guards kept %d segment(s), dropped %d: %s", len(kept), sum(dropped.values()),
                 ", ".join(f"{reason} {count}" for reason, count in dropped.most_common()))
    return kept


def transcribe_loaded(audio: LoadedAudio, options: TranscribeOptions,
                      channel_map: dict[str, str] | None = None) -> Transcript:
    """Transcript of decoded audio: each channel separately, speakers from the channel map (or, for one mixed
    channel, from its voices), merged by time."""
    return _transcribe(audio, options, channel_map)[0]


def _transcribe(audio: LoadedAudio, options: TranscribeOptions,
                channel_map: dict[str, str] | None) -> tuple[Transcript, dict[str, tuple[Span, ...]] | None]:
    """The transcript, and for a split mixed channel the time spans of each speaker (else None)."""
    backend = load_backend(options.backend, options.model, options.device, options.compute_type,
                           options.cpu_threads)
    timed: list[tuple[float, float, str, _Guarded]] = []
    speaker_spans = None
    if len(audio.channels) == 1 and options.split_mono:
        timed, speaker_spans = _transcribe_mixed(audio.channels[0].samples, options)
    else:
        for channel in audio.channels:
            speaker = audio.speaker_of(channel, channel_map)
            for guarded in transcribe_channel(channel.samples, options):
                timed.append((guarded.segment.start, guarded.segment.end, speaker, guarded))
    timed.sort(key=lambda item: (item[0], item[1]))
    pieces = [
        Segment(id=index, start=start, end=end, speaker=speaker, text=guarded.text,
                avg_logprob=round(guarded.segment.avg_logprob, 4),
                no_speech_prob=round(guarded.segment.no_speech_prob, 4),
                compression_ratio=round(guarded.segment.compression_ratio, 4),
                words=guarded.segment.words if options.word_timestamps else (), flags=guarded.flags)
        for index, (start, end, speaker, guarded) in enumerate(timed)
    ]
    language = options.language if backend.multilingual else "en"
    segments = merge_turns(pieces, options.turn_merge_gap_s, options.max_turn_s, language)
    return Transcript(segments=segments, language=language or "", duration=round(audio.duration_s, 3),
                      backend=backend.name, model=backend.model_name), speaker_spans


def _transcribe_mixed(samples: np.ndarray, options: TranscribeOptions
                      ) -> tuple[list[tuple[float, float, str, _Guarded]], dict[str, tuple[Span, ...]]]:
    """One mixed channel: voice turns, Whisper's words cut at them, each voice named by what it says."""
    turns = split_voices(normalise_loudness(samples, options.loudness_target_dbfs))
    guarded = transcribe_channel(samples, options, turns)
    voices = [voice_at(turns, g.segment.start, g.segment.end) for g in guarded]
    texts: dict[int, list[str]] = {}
    seconds: dict[int, float] = {}
    for piece, voice in zip(guarded, voices):
        texts.setdefault(voice, []).append(piece.text)
    for turn in turns:
        seconds[turn.voice] = seconds.get(turn.voice, 0.0) + turn.duration
    roles = assign_roles(texts, seconds, options.agent_cues)
    timed = [(g.segment.start, g.segment.end, roles.get(v, "unknown"), g) for g, v in zip(guarded, voices)]
    return timed, role_spans(turns, roles)


_CLAUSE_END = tuple("，。！？、,.!?;；:：")


def merge_turns(pieces: list[Segment], max_gap_s: float, max_turn_s: float, language: str | None) -> tuple[Segment, ...]:
    """Join consecutive same-speaker pieces (time-sorted, so nobody else spoke in between) into turns.

    Text is joined with a clause break (「，」 in Chinese, a space in English) so a negation in one piece never
    reaches a phrase in the next; confidences become the duration-weighted mean, the worst compression ratio
    and no-speech probability are kept, flags and words are combined."""
    if max_gap_s <= 0:
        return tuple(replace(piece, id=index) for index, piece in enumerate(pieces))
    turns: list[list[Segment]] = []
    for piece in pieces:
        last = turns[-1] if turns else None
        if (last and last[-1].speaker == piece.speaker and piece.start - last[-1].end <= max_gap_s
                and piece.end - last[0].start <= max_turn_s):
            last.append(piece)
        else:
            turns.append([piece])
    chinese = (language or "").startswith("zh")

    def joined_text(group: list[Segment]) -> str:
        text = group[0].text
        for piece in group[1:]:
            if chinese:
                text += ("" if text.endswith(_CLAUSE_END) else "，") + piece.text
            else:
                text = f"{text} {piece.text}"
        return text

    def weighted(values: list[float | None], weights: list[float]) -> float | None:
        pairs = [(v, w) for v, w in zip(values, weights) if v is not None]
        if not pairs:
            return None
        total = sum(w for _, w in pairs) or 1.0
        return round(sum(v * w for v, w in pairs) / total, 4)

    merged = []
    for index, group in enumerate(turns):
        if len(group) == 1:
            merged.append(replace(group[0], id=index))
            continue
        durations = [max(p.end - p.start, 0.01) for p in group]
        merged.append(Segment(
            id=index, start=group[0].start, end=max(p.end for p in group), speaker=group[0].speaker,
            text=joined_text(group),
            avg_logprob=weighted([p.avg_logprob for p in group], durations),
            no_speech_prob=max((p.no_speech_prob for p in group if p.no_speech_prob is not None), default=None),
            compression_ratio=max((p.compression_ratio for p in group if p.compression_ratio is not None),
                                  default=None),
            words=tuple(w for p in group for w in p.words),
            flags=tuple(dict.fromkeys(f for p in group for f in p.flags))))
    return tuple(merged)


def transcribe_audio(source: bytes | Path | str, options: TranscribeOptions,
                     channel_map: dict[str, str] | None = None, name: str = "") -> TranscriptionResult:
    """Decode a recording (bytes or path), transcribe it and measure its acoustic features.

    Raises asr.audio.AudioError for unusable audio, asr.backends.ModelNotFoundError for a missing model.
    """
    from concurrent.futures import ThreadPoolExecutor

    from asr.features import acoustic_features

    audio = load_audio(source, name=name, max_duration_s=options.max_duration_s)
    if len(audio.channels) == 1 and options.split_mono:  # the features need the speakers' turns first
        transcript, speaker_spans = _transcribe(audio, options, channel_map)
        return TranscriptionResult(transcript, acoustic_features(audio, channel_map, speaker_spans))
    # The features (librosa, numpy) are measured while Whisper decodes: the decoder leaves part of the cores idle
    # between its steps, and the features' FFTs release the GIL.
    with ThreadPoolExecutor(max_workers=1) as pool:
        features = pool.submit(acoustic_features, audio, channel_map)
        transcript, _ = _transcribe(audio, options, channel_map)
        return TranscriptionResult(transcript=transcript, features=features.result())


# `check_language`: the configured language "disagrees strongly" with what Whisper hears when Whisper gives it
# less than this probability and another language at least LANGUAGE_DETECTED_PROBABILITY. English read as
# zh gives confident nonsense, so the CLI warns; Mandarin with English words in it keeps zh well above this.
LANGUAGE_DISAGREEMENT_PROBABILITY = 0.2
LANGUAGE_DETECTED_PROBABILITY = 0.5


@dataclass(frozen=True)
class LanguageCheck:
    """Whisper's language identification on the first seconds of speech against the configured language."""

    configured: str
    detected: str
    detected_probability: float
    configured_probability: float

    @property
    def disagrees(self) -> bool:
        return (self.detected != self.configured
                and self.configured_probability < LANGUAGE_DISAGREEMENT_PROBABILITY
                and self.detected_probability >= LANGUAGE_DETECTED_PROBABILITY)


def check_language(audio: LoadedAudio, options: TranscribeOptions, first_s: float = 30.0) -> LanguageCheck | None:
    """Identify the language of the first `first_s` seconds of speech (VAD regions joined, from the channel with
    the most speech) and compare it with options.language. None when no language is configured, the model is
    English-only, or there is no speech."""
    backend = load_backend(options.backend, options.model, options.device, options.compute_type,
                           options.cpu_threads)
    if not options.language or not backend.multilingual:
        return None
    speech = max((_speech_regions(normalise_loudness(channel.samples, options.loudness_target_dbfs), options)[0]
                  for channel in audio.channels), key=len)
    if len(speech) < TARGET_SAMPLE_RATE:
        return None
    probabilities = backend.language_probabilities(speech[:int(first_s * TARGET_SAMPLE_RATE)])
    detected = max(probabilities, key=probabilities.get)
    return LanguageCheck(configured=options.language, detected=detected,
                         detected_probability=round(probabilities[detected], 3),
                         configured_probability=round(probabilities.get(options.language, 0.0), 3))
