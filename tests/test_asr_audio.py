"""Audio loading, acoustic features, guards and weights — everything in asr/ that runs without Whisper."""

from __future__ import annotations

import io
import struct

import numpy as np
import pytest
import soundfile as sf

from asr.audio import AudioError, load_audio, normalise_loudness, probe_audio, frame_rms_dbfs
from asr.backends.weights import ModelNotFoundError, read_ct2_variables, resolve_model
from asr.features import acoustic_features, channel_features
from asr.guards import cut_repetition_loops, remove_phantom_phrases, to_simplified
from tests.asr_fixtures import CALLS_DIR, call_turns, require_dir, tone, write_m4a

CHANNEL_MAP = {"left": "agent", "right": "customer"}


def dominant_frequency(samples: np.ndarray, rate: int = 16000) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[np.argmax(spectrum)])


# (file name, soundfile format/subtype or "m4a", sample rate, channels)
FORMATS = [
    ("pcm8k_mono.wav", ("WAV", "PCM_16"), 8000, 1),
    ("ulaw8k_mono.wav", ("WAV", "ULAW"), 8000, 1),
    ("alaw8k_stereo.wav", ("WAV", "ALAW"), 8000, 2),
    ("pcm16k_stereo.wav", ("WAV", "PCM_16"), 16000, 2),
    ("flac44k_stereo.flac", ("FLAC", "PCM_16"), 44100, 2),
    ("flac8k_mono.flac", ("FLAC", "PCM_16"), 8000, 1),
    ("mp3_48k_mono.mp3", ("MP3", "MPEG_LAYER_III"), 48000, 1),
    ("mp3_44k_stereo.mp3", ("MP3", "MPEG_LAYER_III"), 44100, 2),
    ("vorbis16k_stereo.ogg", ("OGG", "VORBIS"), 16000, 2),
    ("opus48k_mono.ogg", ("OGG", "OPUS"), 48000, 1),
    ("aac44k_stereo.m4a", "m4a", 44100, 2),
    ("aac16k_mono.m4a", "m4a", 16000, 1),
]


@pytest.mark.parametrize("name, kind, rate, channels", FORMATS, ids=[f[0] for f in FORMATS])
def test_each_format_and_rate_loads_at_16k_with_channels_kept(tmp_path, name, kind, rate, channels):
    left, right = tone(1.5, rate, 440.0), tone(1.5, rate, 1000.0, level=0.2)
    samples = np.stack([left, right], axis=1)[:, :channels]
    path = tmp_path / name
    if kind == "m4a":
        write_m4a(path, samples, rate)
    else:
        sf.write(path, samples, rate, format=kind[0], subtype=kind[1])

    audio = load_audio(path)

    assert audio.info.sample_rate == rate
    assert audio.info.channels == channels
    assert audio.info.duration_s == pytest.approx(1.5, abs=0.15)  # codecs pad (AAC priming: ~0.1 s)
    assert audio.sample_rate == 16000
    assert [c.position for c in audio.channels] == (["mono"] if channels == 1 else ["left", "right"])
    for channel, frequency in zip(audio.channels, (440.0, 1000.0)):
        assert channel.samples.dtype == np.float32
        assert len(channel.samples) == pytest.approx(1.5 * 16000, rel=0.07)
        assert dominant_frequency(channel.samples) == pytest.approx(frequency, abs=5.0)
    # the same bytes in memory give the same description
    assert probe_audio(path.read_bytes(), name=name).channels == channels


def test_identical_channels_are_treated_as_mono(tmp_path):
    speech_like = tone(2.0, 16000, 300.0)
    path = tmp_path / "dual.wav"
    sf.write(path, np.stack([speech_like, speech_like], axis=1), 16000)
    audio = load_audio(path)
    assert audio.info.dual_mono and audio.info.channels == 2
    assert [c.position for c in audio.channels] == ["mono"]
    assert audio.speaker_of(audio.channels[0], CHANNEL_MAP) == "unknown"


def test_channel_map_attributes_left_and_right(tmp_path):
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([tone(1.0, 8000, 440.0), tone(1.0, 8000, 880.0)], axis=1), 8000)
    audio = load_audio(path)
    assert not audio.info.dual_mono
    assert [audio.speaker_of(c, CHANNEL_MAP) for c in audio.channels] == ["agent", "customer"]
    assert [audio.speaker_of(c, {"left": "customer", "right": "agent"}) for c in audio.channels] == [
        "customer", "agent"]
    # agencies also name the channels as their turn tables do (L / R, any case)
    assert [audio.speaker_of(c, {"L": "agent", "R": "customer"}) for c in audio.channels] == ["agent", "customer"]
    assert [audio.speaker_of(c, {"r": "agent", "Left": "customer"}) for c in audio.channels] == ["customer", "agent"]
    with pytest.raises(ValueError, match="unknown channel 'ch1'"):  # not a silently unattributed channel
        audio.speaker_of(audio.channels[0], {"ch1": "agent", "ch2": "customer"})


def _wav_bytes(samples: np.ndarray, rate: int) -> bytes:
    buffer = io.BytesIO()
    sf.write(buffer, samples, rate, format="WAV")
    return buffer.getvalue()


def test_bad_recordings_raise_typed_errors_naming_the_file(tmp_path):
    real = _wav_bytes(tone(1.0, 8000), 8000)
    cases = {
        "empty.wav": (b"", "empty"),
        "no_samples.wav": (_wav_bytes(np.zeros((0, 1), np.float32), 8000), "empty"),
        "notes.wav": ("这不是音频 just text\n".encode() * 20, "not_audio"),
        "truncated.wav": (real[:44] + b"\x00" * 3, "corrupt"),
        "header_only.flac": (b"fLaC" + b"\x00" * 60, "corrupt"),
        "six_channels.wav": (_wav_bytes(np.zeros((800, 6), np.float32), 8000), "unsupported"),
    }
    for name, (data, reason) in cases.items():
        with pytest.raises(AudioError) as caught:
            probe_audio(data, name=name)
        assert caught.value.reason == reason, name
        assert name in str(caught.value)
    flac = io.BytesIO()
    sf.write(flac, tone(3.0, 8000), 8000, format="FLAC")
    with pytest.raises(AudioError) as caught:
        probe_audio(flac.getvalue()[: len(flac.getvalue()) // 2], name="half.flac")
    assert caught.value.reason == "corrupt" and "half.flac" in str(caught.value)
    path = tmp_path / "long.wav"
    path.write_bytes(_wav_bytes(np.zeros((8000 * 5, 1), np.float32), 8000))
    with pytest.raises(AudioError) as caught:
        load_audio(path, max_duration_s=4.0)
    assert caught.value.reason == "too_long" and "long.wav" in str(caught.value)
    with pytest.raises(AudioError) as caught:
        load_audio(tmp_path / "missing.wav")
    assert "missing.wav" in str(caught.value)


def test_loudness_normalisation_raises_a_quiet_channel_without_clipping():
    quiet = np.concatenate([tone(1.0, 16000, level=0.01), np.zeros(16000 * 3, np.float32)])
    louder = normalise_loudness(quiet, target_dbfs=-20.0)
    speech_level = frame_rms_dbfs(louder).max()
    assert speech_level == pytest.approx(-20.0, abs=1.5)
    assert np.max(np.abs(louder)) < 1.0
    noise_only = np.random.default_rng(0).normal(0, 10 ** (-70 / 20), 16000 * 2).astype(np.float32)
    assert frame_rms_dbfs(normalise_loudness(noise_only, max_gain_db=30.0)).max() < -35.0


# ---- acoustic features -------------------------------------------------------------------------------

def _stereo(left: np.ndarray, right: np.ndarray, tmp_path, rate: int = 16000):
    path = tmp_path / "features.wav"
    sf.write(path, np.stack([left, right], axis=1), rate)
    return load_audio(path)


def test_features_find_overtalk_silence_and_loud_spans(tmp_path):
    rate = 16000
    silence = lambda s: np.zeros(int(s * rate), np.float32)  # noqa: E731
    voice = lambda s, level=0.1: tone(s, rate, 220.0, level)  # noqa: E731
    # agent: 0-3 s, then 9-10 s shouting; customer: 2-5 s (1 s overtalk), nobody speaks 5-9 s
    left = np.concatenate([voice(3), silence(6), voice(1, 0.6), silence(1)])
    right = np.concatenate([silence(2), voice(3), silence(6)])
    features = acoustic_features(_stereo(left, right, tmp_path), CHANNEL_MAP)

    assert [c.speaker for c in features.channels] == ["agent", "customer"]
    assert len(features.overtalk_spans) == 1
    assert features.overtalk_spans[0].start == pytest.approx(2.0, abs=0.1)
    assert features.overtalk_spans[0].end == pytest.approx(3.0, abs=0.1)
    assert features.longest_silence_s == pytest.approx(4.0, abs=0.15)
    agent = features.channel("agent")
    assert agent.speech_seconds == pytest.approx(4.0, abs=0.2)
    assert [round(s.start) for s in agent.loud_spans] == [9]
    assert agent.loudness_dbfs_peak > agent.loudness_dbfs_mean + 6
    assert agent.pitch_mean_hz == pytest.approx(220.0, abs=5.0)
    assert features.channel("customer").longest_silence_s == pytest.approx(6.0, abs=0.15)


def test_features_of_a_silent_channel():
    features = channel_features(np.zeros(16000 * 3, np.float32), "customer")
    assert features.speech_spans == () and features.speech_seconds == 0.0
    assert features.longest_silence_s == pytest.approx(3.0)
    assert features.pitch_mean_hz is None and features.speech_rate_sps is None


def test_call_speech_spans_follow_the_script_turns():
    require_dir(CALLS_DIR)
    audio = load_audio(CALLS_DIR / "callA_06.flac")
    features = acoustic_features(audio, CHANNEL_MAP)
    for turn in call_turns("callA_06"):
        spans = features.channel(turn.role).speech_spans
        inside = [s for s in spans if s.end > turn.start and s.start < turn.end]
        assert inside, f"no speech found for {turn}"
        assert min(s.start for s in inside) == pytest.approx(turn.start, abs=0.5)
        assert max(s.end for s in inside) == pytest.approx(turn.end, abs=0.5)
    assert features.overtalk_spans == ()  # the script has no overlapping turns
    for channel in features.channels:
        assert 2.0 < channel.speech_rate_sps < 9.0  # syllables per second of Mandarin speech
        assert 80 < channel.pitch_mean_hz < 350


# ---- guards --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected, cut", [
    ("说一句话说一句话说一句话说一句话", "说一句话", True),
    ("我知道了我知道了我知道了我知道了我知道了", "我知道了", True),
    ("啊啊啊啊啊啊啊啊", "啊啊啊", True),
    ("对对对，好的好的", "对对对，好的好的", False),
    ("欠款金额是100000元", "欠款金额是100000元", False),
    ("thank you thank you thank you thank you", "thank you thank you", True),
])
def test_repetition_loops_are_cut(text, expected, cut):
    assert cut_repetition_loops(text) == (expected, cut)


@pytest.mark.parametrize("text, expected", [
    ("字幕由Amara.org社群提供", ""),
    ("请不吝点赞 订阅 转发 打赏支持明镜与点点栏目", ""),
    ("谢谢观看", ""),
    ("Thank you for watching!", ""),
    ("好的，您这边今天能还款吗", "好的，您这边今天能还款吗"),
])
def test_phantom_phrases_are_removed(text, expected):
    assert remove_phantom_phrases(text)[0] == expected


def test_traditional_output_becomes_simplified():
    assert to_simplified("為你好，您這邊是不是忘記還了") == "为你好，您这边是不是忘记还了"


# ---- weights ---------------------------------------------------------------------------------------------

def test_model_resolution_needs_no_network_and_names_bad_paths(tmp_path):
    base = resolve_model("base")
    assert base.kind == "ct2" and len(base.ct2_file("model.bin")) > 100_000_000
    tiny = resolve_model("tiny.en")
    assert (tiny.path / "model.bin").is_file()
    with pytest.raises(ModelNotFoundError, match="large-v3"):
        resolve_model("large-v3")
    (tmp_path / "model.bin").write_bytes(b"")
    with pytest.raises(ModelNotFoundError, match="tokenizer.json"):
        resolve_model(str(tmp_path))


def test_ct2_reader_returns_typed_tensors_and_aliases():
    variables = read_ct2_variables(resolve_model("tiny.en").ct2_file("model.bin"))
    embeddings = variables["decoder/embeddings/weight"]
    assert embeddings.shape == (51864, 384) and embeddings.dtype == np.float16
    assert variables["decoder/projection/weight"] is embeddings  # alias, tied weights
    assert int(variables["encoder/num_heads"]) == 6
    _, key_bias, _ = np.split(variables["encoder/layer_0/self_attention/linear_0/bias"], 3)
    assert not np.any(key_bias)  # the fused key bias is all zero: dropping it is lossless
    assert struct.unpack("<I", resolve_model("tiny.en").ct2_file("model.bin")[:4])[0] >= 5


def _piece(index, start, end, speaker, text, logprob=-0.2):
    from qc.domain import Segment

    return Segment(id=index, start=start, end=end, speaker=speaker, text=text, avg_logprob=logprob,
                   no_speech_prob=0.01, compression_ratio=1.2)


def test_pieces_of_one_turn_are_merged_and_other_speakers_keep_turns_apart():
    from asr.transcribe import merge_turns

    pieces = [_piece(0, 0.5, 2.0, "agent", "This is an attempt"), _piece(1, 2.6, 4.0, "agent", "to collect a debt."),
              _piece(2, 4.5, 6.0, "customer", "Okay."), _piece(3, 6.4, 8.0, "agent", "Thanks.", logprob=-0.8),
              _piece(4, 12.0, 13.0, "agent", "Goodbye.")]
    turns = merge_turns(pieces, max_gap_s=1.0, max_turn_s=30.0, language="en")
    assert [(t.speaker, t.text) for t in turns] == [
        ("agent", "This is an attempt to collect a debt."), ("customer", "Okay."), ("agent", "Thanks."),
        ("agent", "Goodbye.")]  # a 4 s pause starts a new turn
    assert [t.id for t in turns] == [0, 1, 2, 3] and (turns[0].start, turns[0].end) == (0.5, 4.0)
    assert turns[0].avg_logprob == -0.2


def test_chinese_pieces_are_joined_with_a_clause_break_and_long_turns_are_capped():
    from asr.transcribe import merge_turns

    pieces = [_piece(0, 0.0, 3.0, "agent", "我们不会"), _piece(1, 3.5, 6.0, "agent", "起诉您。"),
              _piece(2, 6.2, 9.0, "agent", "请按时还款")]
    assert merge_turns(pieces, 1.0, 30.0, "zh")[0].text == "我们不会，起诉您。请按时还款"
    assert len(merge_turns(pieces, 1.0, 6.5, "zh")) == 2  # 0–6 s is one turn; the next piece would pass 6.5 s
    assert len(merge_turns(pieces, 0.0, 30.0, "zh")) == 3  # merging switched off
