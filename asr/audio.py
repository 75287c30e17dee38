"""Decode a recording, validate it, split its channels and resample them to 16 kHz.

libsndfile (via soundfile) reads wav (PCM, float, μ-law, A-law), flac, mp3 and ogg; anything it cannot read
(m4a/aac, opus in mp4, …) goes through FFmpeg's libraries as bundled in PyAV (a faster-whisper dependency), so
no system ffmpeg is needed. Resampling uses soxr. Samples keep their recorded level: acoustic features need the
real loudness; `normalise_loudness` is applied by the transcriber to what it feeds Whisper.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qc.domain import channel_map_of

TARGET_SAMPLE_RATE = 16000
MAX_CHANNELS = 2
# Channels whose difference is this far below their level are one signal recorded twice (dual mono);
# jfk.flac (a mono speech re-encoded as stereo) measures -31.5 dB, two separate call channels about 0 dB.
DUAL_MONO_DIFFERENCE_DB = -25.0

_KNOWN_AUDIO_MAGIC = (b"RIFF", b"RF64", b"fLaC", b"OggS", b"ID3", b"\xff\xfb", b"\xff\xf3", b"\xff\xf2",
                      b"FORM", b".snd", b"caff")
_PYAV_FORMAT_NAMES = {"mov,mp4,m4a,3gp,3g2,mj2": "m4a", "aac": "aac", "matroska,webm": "webm", "amr": "amr"}


class AudioError(Exception):
    """A recording that cannot be used. `reason` is a short machine code; the message names the file.

    Reasons: "not_found" (no such file), "empty" (no bytes or no samples), "not_audio" (not a recognisable audio
    file), "corrupt" (an audio file whose data cannot be decoded), "too_long" (over the configured maximum),
    "unsupported" (decodable but not usable, e.g. more than two channels).
    """

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class AudioInfo:
    duration_s: float
    channels: int  # as recorded, before dual-mono collapsing
    sample_rate: int  # as recorded
    format: str  # container: wav, flac, mp3, ogg, m4a, …
    dual_mono: bool  # two identical channels: treated as mono
    codec: str = ""  # e.g. PCM_16, ULAW, VORBIS, aac


@dataclass(frozen=True, eq=False)
class ChannelAudio:
    """One channel at 16 kHz, float32, at its recorded level."""

    position: str  # "left" | "right" | "mono"
    samples: np.ndarray

    @property
    def duration_s(self) -> float:
        return len(self.samples) / TARGET_SAMPLE_RATE


@dataclass(frozen=True, eq=False)
class LoadedAudio:
    name: str
    info: AudioInfo
    channels: tuple[ChannelAudio, ...]  # one ("mono") or two ("left", "right"); dual mono gives one
    sample_rate: int = TARGET_SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.info.duration_s

    def speaker_of(self, channel: ChannelAudio, channel_map: dict[str, str] | None) -> str:
        """The speaker on a channel: from the channel map for stereo (channels named left/right or L/R;
        qc.domain.channel_map_of); "unknown" for mono (no diarizer)."""
        channel_map = channel_map_of(channel_map)
        if channel.position == "mono" or not channel_map:
            return "unknown"
        speaker = channel_map.get(channel.position, "unknown")
        return speaker if speaker in ("agent", "customer") else "unknown"


def _read_bytes(source: bytes | Path | str, name: str) -> tuple[bytes | Path, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), name or "<bytes>"
    path = Path(source)
    label = name or str(path)
    if not path.exists():
        raise AudioError("not_found", f"{label}: file does not exist")
    return path, label


def _source_size(source: bytes | Path) -> int:
    return len(source) if isinstance(source, bytes) else source.stat().st_size


def _head(source: bytes | Path, n: int = 16) -> bytes:
    if isinstance(source, bytes):
        return source[:n]
    with open(source, "rb") as handle:
        return handle.read(n)


def _looks_like_audio(head: bytes) -> bool:
    return head.startswith(_KNOWN_AUDIO_MAGIC) or head[4:8] == b"ftyp"


def _opened(source: bytes | Path):
    return io.BytesIO(source) if isinstance(source, bytes) else source


def _decode_soundfile(source: bytes | Path, max_duration_s: float | None, label: str):
    """(samples [frames, channels] float32, sample_rate, format, codec); raises on anything unreadable."""
    import soundfile

    with soundfile.SoundFile(_opened(source)) as handle:
        if max_duration_s is not None and handle.frames > 0 and handle.frames / handle.samplerate > max_duration_s:
            raise AudioError("too_long", f"{label}: {handle.frames / handle.samplerate:.1f} s is longer than "
                                         f"the maximum of {max_duration_s:g} s")
        samples = handle.read(dtype="float32", always_2d=True)
        if handle.frames > 0 and len(samples) < handle.frames * 0.99:  # e.g. FLAC cut off mid-stream
            raise AudioError("corrupt", f"{label}: truncated audio (the header declares "
                                        f"{handle.frames / handle.samplerate:.1f} s, only "
                                        f"{len(samples) / handle.samplerate:.1f} s could be decoded)")
        return samples, handle.samplerate, handle.format.lower(), handle.subtype


def _decode_pyav(source: bytes | Path, max_duration_s: float | None, label: str):
    import av

    with av.open(_opened(source), mode="r", metadata_errors="ignore") as container:
        if not container.streams.audio:
            raise AudioError("not_audio", f"{label}: the file has no audio stream")
        stream = container.streams.audio[0]
        if max_duration_s is not None and stream.duration and stream.time_base:
            declared = float(stream.duration * stream.time_base)
            if declared > max_duration_s:
                raise AudioError("too_long", f"{label}: {declared:.1f} s is longer than the maximum of "
                                             f"{max_duration_s:g} s")
        channels = stream.codec_context.channels or 1
        if channels > MAX_CHANNELS:
            raise AudioError("unsupported", f"{label}: {channels} channels; only mono and stereo are supported")
        rate = stream.codec_context.sample_rate
        layout = "mono" if channels == 1 else "stereo"
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        pieces = []
        for frame in container.decode(stream):
            for converted in resampler.resample(frame):
                pieces.append(converted.to_ndarray())
        for converted in resampler.resample(None):
            pieces.append(converted.to_ndarray())
        samples = np.concatenate(pieces, axis=1).T if pieces else np.zeros((0, channels), np.float32)
        container_name = _PYAV_FORMAT_NAMES.get(container.format.name, container.format.name)
        return np.ascontiguousarray(samples, dtype=np.float32), rate, container_name, stream.codec_context.name


def _check_wav_not_truncated(source: bytes | Path, label: str) -> None:
    """libsndfile quietly reads what is there of a cut-off WAV; compare the data chunk's declared size."""
    head = _head(source, 4096)
    if not (head.startswith(b"RIFF") and head[8:12] == b"WAVE"):
        return
    position = 12
    while position + 8 <= len(head):
        chunk_id, size = head[position:position + 4], struct.unpack_from("<I", head, position + 4)[0]
        if chunk_id == b"data":
            available = _source_size(source) - (position + 8)
            if size != 0xFFFFFFFF and available < size * 0.99:
                raise AudioError("corrupt", f"{label}: truncated WAV (the header declares {size} bytes of "
                                            f"audio, the file holds {max(available, 0)})")
            return
        position += 8 + size + (size & 1)


def _decode(source: bytes | Path, label: str, max_duration_s: float | None):
    if _source_size(source) == 0:
        raise AudioError("empty", f"{label}: the file is empty (0 bytes)")
    _check_wav_not_truncated(source, label)
    try:
        return _decode_soundfile(source, max_duration_s, label)
    except AudioError:
        raise
    except Exception:  # noqa: BLE001 - libsndfile raises several types; FFmpeg gets the next try
        pass
    try:
        return _decode_pyav(source, max_duration_s, label)
    except AudioError:
        raise
    except Exception as ffmpeg_error:  # noqa: BLE001
        detail = str(getattr(ffmpeg_error, "strerror", None) or ffmpeg_error)
        if _looks_like_audio(_head(source)):
            raise AudioError("corrupt", f"{label}: audio data cannot be decoded ({detail})") from None
        raise AudioError("not_audio", f"{label}: not a recognisable audio file ({detail})") from None


def _is_dual_mono(samples: np.ndarray) -> bool:
    if samples.shape[1] != 2:
        return False
    left, right = samples[:, 0].astype(np.float64), samples[:, 1].astype(np.float64)
    level = max(np.sqrt(np.mean(left**2)), np.sqrt(np.mean(right**2)))
    if level == 0.0:
        return True
    difference = np.sqrt(np.mean((left - right) ** 2))
    return bool(difference <= level * 10 ** (DUAL_MONO_DIFFERENCE_DB / 20))


def _decode_validated(source: bytes | Path | str, name: str, max_duration_s: float | None):
    data, label = _read_bytes(source, name)
    samples, rate, container, codec = _decode(data, label, max_duration_s)
    if samples.shape[1] > MAX_CHANNELS:
        raise AudioError("unsupported", f"{label}: {samples.shape[1]} channels; only mono and stereo are supported")
    if samples.shape[0] == 0:
        raise AudioError("empty", f"{label}: the file contains no audio samples")
    if not np.all(np.isfinite(samples)):
        raise AudioError("corrupt", f"{label}: the audio contains NaN or infinite samples")
    duration = samples.shape[0] / rate
    if max_duration_s is not None and duration > max_duration_s:
        raise AudioError("too_long", f"{label}: {duration:.1f} s is longer than the maximum of {max_duration_s:g} s")
    info = AudioInfo(duration_s=duration, channels=samples.shape[1], sample_rate=rate, format=container,
                     dual_mono=_is_dual_mono(samples), codec=codec)
    return samples, info, label


def probe_audio(source: bytes | Path | str, name: str = "", max_duration_s: float | None = None) -> AudioInfo:
    """Decode the whole recording to validate it and describe it. Raises AudioError with the reason."""
    return _decode_validated(source, name, max_duration_s)[1]


def resample(samples: np.ndarray, source_rate: int, target_rate: int = TARGET_SAMPLE_RATE) -> np.ndarray:
    """soxr high-quality resampling of a 1-D float32 signal."""
    if source_rate == target_rate:
        return np.ascontiguousarray(samples, dtype=np.float32)
    import soxr

    return soxr.resample(samples, source_rate, target_rate, quality="HQ").astype(np.float32, copy=False)


def load_audio(source: bytes | Path | str, name: str = "", max_duration_s: float | None = None) -> LoadedAudio:
    """Decode, validate, split channels (dual mono → one) and resample each to 16 kHz float32."""
    samples, info, label = _decode_validated(source, name, max_duration_s)
    if samples.shape[1] == 1 or info.dual_mono:
        channels = (ChannelAudio("mono", resample(samples[:, 0], info.sample_rate)),)
    else:
        channels = (ChannelAudio("left", resample(samples[:, 0], info.sample_rate)),
                    ChannelAudio("right", resample(samples[:, 1], info.sample_rate)))
    return LoadedAudio(name=label, info=info, channels=channels)


def frame_rms_dbfs(samples: np.ndarray, frame: int = 400, hop: int = 160) -> np.ndarray:
    """RMS level per 25 ms frame (10 ms hop at 16 kHz) in dBFS; -120 for digital silence."""
    if len(samples) < frame:
        samples = np.pad(samples, (0, frame - len(samples)))
    windows = np.lib.stride_tricks.sliding_window_view(samples, frame)[::hop]
    rms = np.sqrt(np.mean(np.square(windows, dtype=np.float64), axis=1))
    return 20 * np.log10(np.maximum(rms, 1e-6))


def normalise_loudness(samples: np.ndarray, target_dbfs: float = -20.0, max_gain_db: float = 30.0) -> np.ndarray:
    """Scale a channel so that its loud (speech) frames sit at target_dbfs, without clipping.

    The speech level is the mean of the frames within 30 dB of the loudest frame, so long silences do not
    count; the gain is capped so a silent or noise-only channel is not blown up into loud noise.
    """
    if not len(samples) or not np.any(samples):
        return samples.astype(np.float32, copy=False)
    levels = frame_rms_dbfs(samples)
    speech_level = float(np.mean(levels[levels >= levels.max() - 30.0]))
    gain_db = min(target_dbfs - speech_level, max_gain_db)
    peak = float(np.max(np.abs(samples)))
    gain = min(10 ** (gain_db / 20), 0.99 / peak)
    return (samples * gain).astype(np.float32)
