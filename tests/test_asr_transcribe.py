"""Real Whisper on real audio: accuracy, channel attribution, turn timing, guards, both backends, offline, CLI.

Models are loaded once per process (asr.backends.load_backend is cached), so every test after the first
reuses them. Thresholds are the measured error rates plus a margin (see the ASR issue's closing report).
"""

from __future__ import annotations

import json
import re
import socket
import numpy as np
import pytest
import soundfile as sf

from asr.audio import AudioError, load_audio
from asr.transcribe import TranscribeOptions, TranscriptionResult, transcribe_audio, transcribe_loaded
from tests.asr_fixtures import (AUDIO_DIR, CALLS_DIR, call_turns, cer, error_rate, heard_share, manifest_clips,
                                normalise_en, require_dir)

pytestmark = [pytest.mark.slow, pytest.mark.asr_output]

CHANNEL_MAP = {"left": "agent", "right": "customer"}
DEFAULT = TranscribeOptions()  # faster-whisper, base, int8, greedy, VAD, zh

# ASR-dependent thresholds. CTranslate2's int8 kernels differ by instruction set, so each threshold is the worst
# value measured over CT2_FORCE_CPU_ISA = AVX512, AVX2, GENERIC × cpu_threads 1, 2 on two CPUs (an AVX-512 and an
# AVX2-only AMD EPYC; the real clips also on a third, an AMD EPYC with AVX-512 VNNI; bench/asr_spread.py, tables in docs/asr-robustness.md) plus the stated margin. CER for zh,
# WER for en, default options (faster-whisper base int8, greedy, VAD). scripts/test.sh runs this module under two instruction sets.
CLIP_THRESHOLDS = {
    # 12 characters; worst 0.250 (GENERIC on the AVX2-only CPU; 广州市房地产 → 佛地产, 中介 → 中间); margin ≈ 1 character
    "BAC009S0724W0121.wav": 0.35,
    "zh.wav": 0.10,  # worst 0.000; margin 0.10 = 2 of 20 characters
    # 0.200 on the first two CPUs (砸 → 扎 in a 5-character, 1 s idiom); on a third, an AMD EPYC with AVX-512 VNNI
    # (2026-12-01), 1.200 under its native choice, AVX2 and GENERIC at 1 and 2 threads: a hallucinated tail
    # 这次的新的 after the idiom (forced AVX512: 0.200). Margin 0.40 = two more characters.
    "chinese.flac": 1.60,
    "librispeech-1995-1837-0001.wav": 0.10,  # worst 0.000; margin 0.10 ≈ 2 of 22 words
    "english.wav": 0.10,  # worst 0.000 ("1, 2, 3." read as one two three)
    "jfk.flac": 0.10,  # worst 0.000; margin 0.10 = 2 of 22 words
}
STEREO_WER_THRESHOLD = 0.10  # per channel of stereo_diarization.wav; worst 0.000; margin 2 of 20 words
CALL_CER_THRESHOLD = 0.25  # per channel; worst 0.181 on the two test calls, 0.221 on all 8; margin ≥ 0.03
TURN_TIME_TOLERANCE_S = 1.0  # a turn's first/last segment vs the script; worst 0.43 s on the 8 Mandarin calls
LOOP_CLIP_MAX_CHARS = 20  # chinese.flac (0.96 s, 5 characters) came back as 6 characters on every ISA
TEST_CALLS = ("callA_06", "callA_04")  # the two shortest calls (56 s, 59 s)


def joined(transcript, speaker: str | None = None) -> str:
    return " ".join(s.text for s in transcript.segments if speaker is None or s.speaker == speaker)


@pytest.fixture(scope="module")
def clips():
    require_dir(AUDIO_DIR)
    return {clip.file.name: clip for clip in manifest_clips()}


@pytest.fixture(scope="module")
def clip_transcript(clips):
    """Default-options transcript of a manifest clip, computed once per module."""
    done = {}

    def transcribe(file_name: str):
        if file_name not in done:
            clip = clips[file_name]
            done[file_name] = transcribe_loaded(load_audio(clip.file), TranscribeOptions(language=clip.language),
                                                CHANNEL_MAP)
        return done[file_name]

    return transcribe


@pytest.mark.parametrize("file_name", sorted(CLIP_THRESHOLDS))
def test_real_clips_stay_under_measured_error_rates(clips, clip_transcript, file_name):
    clip = clips[file_name]
    transcript = clip_transcript(file_name)
    rate = error_rate(clip.language, clip.reference, joined(transcript))
    assert rate <= CLIP_THRESHOLDS[file_name], f"{file_name}: {rate:.3f} for {joined(transcript)!r}"
    assert transcript.language == clip.language and transcript.model == "base"
    assert [s.id for s in transcript.segments] == list(range(len(transcript.segments)))
    assert all(0 <= s.start < s.end <= transcript.duration + 0.05 for s in transcript.segments)


def test_stereo_channels_are_attributed_through_the_channel_map(clips):
    stereo = clips["stereo_diarization.wav"]
    options = TranscribeOptions(language="en")
    left_text, right_text = (part.split(": ", 1)[1] for part in stereo.reference.split(" | "))
    transcript = transcribe_loaded(load_audio(stereo.file), options, CHANNEL_MAP)
    assert error_rate("en", left_text, joined(transcript, "agent")) <= STEREO_WER_THRESHOLD
    assert error_rate("en", right_text, joined(transcript, "customer")) <= STEREO_WER_THRESHOLD
    swapped = transcribe_loaded(load_audio(stereo.file), options, {"left": "customer", "right": "agent"})
    assert joined(swapped, "customer") == joined(transcript, "agent")
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts)  # merged by time


@pytest.fixture(scope="module")
def call_results() -> dict[str, TranscriptionResult]:
    require_dir(CALLS_DIR)
    return {call: transcribe_audio(CALLS_DIR / f"{call}.flac", DEFAULT, CHANNEL_MAP) for call in TEST_CALLS}


@pytest.mark.parametrize("call", TEST_CALLS)
def test_call_segments_match_script_turns_speakers_and_times(call_results, call):
    transcript = call_results[call].transcript
    turns = call_turns(call)
    by_turn: dict[int, list] = {i: [] for i in range(len(turns))}
    for segment in transcript.segments:  # each segment belongs to the script turn it overlaps most
        overlaps = [min(segment.end, t.end) - max(segment.start, t.start) for t in turns]
        best = int(np.argmax(overlaps))
        assert overlaps[best] > 0, f"{call}: segment outside every turn: {segment}"
        assert segment.speaker == turns[best].role, f"{call}: {segment} attributed wrongly (turn {turns[best]})"
        by_turn[best].append(segment)
    for index, turn in enumerate(turns):
        segments = by_turn[index]
        assert segments, f"{call}: nothing transcribed for turn {turn}"
        assert min(s.start for s in segments) == pytest.approx(turn.start, abs=TURN_TIME_TOLERANCE_S), turn
        assert max(s.end for s in segments) == pytest.approx(turn.end, abs=TURN_TIME_TOLERANCE_S), turn


@pytest.mark.parametrize("call", TEST_CALLS)
def test_call_text_is_simplified_and_under_the_measured_cer(call_results, call):
    transcript = call_results[call].transcript
    turns = call_turns(call)
    for role in ("agent", "customer"):
        reference = "".join(t.text for t in turns if t.role == role)
        rate = cer(reference, joined(transcript, role))
        assert rate <= CALL_CER_THRESHOLD, f"{call} {role}: CER {rate:.3f}"
    from asr.guards import to_simplified

    assert all(to_simplified(s.text) == s.text for s in transcript.segments)


def test_call_features_come_with_the_transcript(call_results):
    features = call_results[TEST_CALLS[0]].features
    assert [c.speaker for c in features.channels] == ["agent", "customer"]
    assert features.duration == pytest.approx(call_results[TEST_CALLS[0]].transcript.duration)
    assert features.overtalk_spans == ()
    assert 0.3 <= features.longest_silence_s < 5.0


def test_silence_and_noise_yield_no_text(tmp_path):
    rate = 8000
    rng = np.random.default_rng(7)
    silence = np.zeros(rate * 8, np.float32)
    hiss = rng.normal(0, 0.05, rate * 8).astype(np.float32)  # -26 dBFS white noise
    hum = (0.2 * np.sin(2 * np.pi * 50 * np.arange(rate * 8) / rate)).astype(np.float32)
    path = tmp_path / "no_speech.wav"
    sf.write(path, np.stack([silence, hiss + hum], axis=1), rate)
    transcript = transcribe_loaded(load_audio(path), DEFAULT, CHANNEL_MAP)
    assert transcript.segments == ()
    mono = tmp_path / "hiss.wav"
    sf.write(mono, hiss, rate)
    assert transcribe_loaded(load_audio(mono), TranscribeOptions(vad=False), None).segments == ()


def test_a_clip_known_to_provoke_loops_comes_back_without_one(clip_transcript):
    """On some CPUs Whisper base writes 「这次的新的新的新的…」 (600 characters) after this 1 s idiom; on others
    the raw decode is clean. Either way the output must hold the invariant: no unit of 2+ characters repeated
    3 or more times in a row, and no more text than the speech can hold. (The guards themselves are proved on
    segment sequences built to loop in tests/test_asr_guards.py.)"""
    text = joined(clip_transcript("chinese.flac"))
    assert not re.search(r"(.{2,})\1{2,}", text), text
    assert len(text) <= LOOP_CLIP_MAX_CHARS, text


def test_corrupt_recording_raises_the_typed_error(tmp_path):
    path = tmp_path / "broken.flac"
    path.write_bytes((CALLS_DIR / "callA_06.flac").read_bytes()[:300] if CALLS_DIR.is_dir() else b"fLaC\0\0")
    with pytest.raises(AudioError) as caught:
        transcribe_audio(path, DEFAULT, CHANNEL_MAP)
    assert caught.value.reason in ("corrupt", "empty") and "broken.flac" in str(caught.value)


def test_both_backends_give_the_same_text_on_english(clips):
    """Same weights, same precision (float32; int8 turns LibriSpeech's "cotton" into "carton"), same text."""
    for name in ("jfk.flac", "librispeech-1995-1837-0001.wav"):
        audio = load_audio(clips[name].file)
        texts = {}
        for backend in ("faster-whisper", "openai-whisper"):
            options = TranscribeOptions(backend=backend, model="tiny.en", language="en", compute_type="float32")
            transcript = transcribe_loaded(audio, options, None)
            assert transcript.backend == backend
            texts[backend] = normalise_en(joined(transcript))
        assert texts["faster-whisper"] == texts["openai-whisper"], name
        assert error_rate("en", clips[name].reference, " ".join(texts["openai-whisper"])) <= 0.15


def test_openai_backend_reads_an_official_checkpoint_file(tmp_path, clips):
    """A `.pt` in openai-whisper's own format (here: the converted tiny.en saved as one) loads and transcribes."""
    from asr.backends.weights import write_openai_checkpoint

    checkpoint = write_openai_checkpoint("tiny.en", tmp_path / "tiny.en.pt")
    options = TranscribeOptions(backend="openai-whisper", model=str(checkpoint), language="en")
    transcript = transcribe_loaded(load_audio(clips["jfk.flac"].file), options, None)
    assert "ask not what your country" in joined(transcript).lower()


def test_transcription_works_with_sockets_blocked(monkeypatch, clips):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted during offline transcription")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    # cpu_threads=1 is a new cache key: the model is loaded from the packaged weights under the block
    options = TranscribeOptions(cpu_threads=1, language="zh")
    transcript = transcribe_loaded(load_audio(clips["zh.wav"].file), options, None)
    assert cer(clips["zh.wav"].reference, joined(transcript)) <= CLIP_THRESHOLDS["zh.wav"]


def test_cli_prints_the_transcript_json(clips):
    from typer.testing import CliRunner

    from callqc.cli import app

    # no --language: the English agency's language (settings agencies.acme-recovery.language), as the nightly
    result = CliRunner().invoke(app, ["transcribe", str(clips["stereo_diarization.wav"].file),
                                      "--agency", "acme-recovery", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert set(payload) == {"language", "duration", "backend", "model", "segments"}
    assert payload["backend"] == "faster-whisper" and payload["model"] == "base" and payload["language"] == "en"
    assert {s["speaker"] for s in payload["segments"]} == {"agent", "customer"}
    assert all(set(s) == {"start", "end", "speaker", "text"} for s in payload["segments"])


def test_cli_reports_a_bad_file_by_name(tmp_path):
    from typer.testing import CliRunner

    from callqc.cli import app

    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    result = CliRunner().invoke(app, ["transcribe", str(bad)])
    assert result.exit_code == 1
    assert "not_audio.wav" in result.output and "not_audio" in result.output
    missing = tmp_path / "missing.wav"
    result = CliRunner().invoke(app, ["transcribe", str(missing)])
    assert result.exit_code == 1
    assert "missing.wav" in result.output and "(not_found)" in result.output


def test_language_check_warns_when_the_configured_language_is_not_spoken(clips):
    """English decoded as zh gives confident nonsense: the CLI warns when Whisper's language identification on
    the first 30 s of speech disagrees strongly with the configured language, and stays quiet when it agrees.
    (Identification of these clean clips is far from the thresholds: no exact Whisper output is pinned.)"""
    from typer.testing import CliRunner

    from asr.transcribe import check_language
    from callqc.cli import app

    english, mandarin = load_audio(clips["jfk.flac"].file), load_audio(clips["zh.wav"].file)
    wrong = check_language(english, TranscribeOptions(language="zh"))
    assert wrong is not None and wrong.disagrees and wrong.detected == "en", wrong
    assert not check_language(english, TranscribeOptions(language="en")).disagrees
    assert not check_language(mandarin, TranscribeOptions(language="zh")).disagrees
    assert check_language(english, TranscribeOptions(language=None)) is None  # nothing configured to check

    result = CliRunner().invoke(app, ["transcribe", str(clips["jfk.flac"].file), "--language", "zh"])
    assert result.exit_code == 0, result.output
    assert "warning: jfk.flac is decoded as 'zh', but Whisper hears 'en'" in result.output
    result = CliRunner().invoke(app, ["transcribe", str(clips["jfk.flac"].file), "--language", "en"])
    assert result.exit_code == 0 and "warning" not in result.output


# Telephone versions of clear read speech (docs/asr-robustness.md, "Telephone conditions"): never returned empty,
# and what comes back is the speech: at least a quarter of the reference's characters / words, in order. Not an
# error rate: on a 12-character clip the words Whisper adds after the speech decide it. Measured spread on a
# 2-core Intel Xeon (2026-12-01), 9 cases × {AVX512, AVX2, GENERIC} at 2 threads and AVX512 at 1 thread: lowest
# share 0.417 (BAC009 at 8 kHz, 「《博》中间协会分析，这次的新的」: CER 1.00 there, 0.42-0.58 on two AMD EPYC
# machines); every other case 0.58-1.00. The floor leaves two characters of margin below that.
TELEPHONE_HEARD_FLOOR = 0.25


def _telephone(clip_file, condition: str, tmp_path):
    """8 kHz PCM, G.711 μ-law at 8 kHz, or 20 dB quieter (peak at -20 dBFS) then μ-law: written as WAV."""
    import soxr

    samples = load_audio(clip_file).channels[0].samples
    narrow = soxr.resample(samples, 16000, 8000).astype(np.float32)
    if condition == "quiet":
        narrow = narrow * (10 ** (-20 / 20) / max(float(np.max(np.abs(narrow))), 1e-6))
    path = tmp_path / f"{clip_file.stem}-{condition}.wav"
    sf.write(path, narrow, 8000, subtype="PCM_16" if condition == "8khz" else "ULAW")
    return path


@pytest.mark.parametrize("condition", ["8khz", "ulaw", "quiet"])
@pytest.mark.parametrize("file_name", ["BAC009S0724W0121.wav", "zh.wav", "librispeech-1995-1837-0001.wav"])
def test_clear_speech_on_a_telephone_line_is_never_returned_empty(clips, file_name, condition, tmp_path):
    clip = clips[file_name]
    audio = load_audio(_telephone(clip.file, condition, tmp_path))
    assert audio.info.sample_rate == 8000
    transcript = transcribe_loaded(audio, TranscribeOptions(language=clip.language), None)
    text = joined(transcript)
    assert text.strip(), f"{file_name} ({condition}) came back empty"
    assert heard_share(clip.language, clip.reference, text) >= TELEPHONE_HEARD_FLOOR, text
