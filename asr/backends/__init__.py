"""Whisper backends behind one interface, loaded once per process.

A backend turns 16 kHz float32 mono samples into raw segments (times relative to the samples given). VAD,
quality guards, speaker attribution and Simplified conversion are the pipeline's job (asr.transcribe), so both
backends see exactly the same audio and their outputs are directly comparable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

import numpy as np

from asr.backends.weights import ModelNotFoundError, ModelSource, resolve_model
from qc.domain import Word

BACKENDS = ("faster-whisper", "openai-whisper")


@dataclass(frozen=True)
class DecodeOptions:
    """What one backend call needs. Temperatures after the first are fallbacks (off by default)."""

    language: str | None
    beam_size: int = 1
    temperatures: tuple[float, ...] = (0.0,)
    initial_prompt: str | None = None
    hotwords: str | None = None  # faster-whisper: words put before the prompt (openai-whisper: ignored)
    condition_on_previous_text: bool = False
    word_timestamps: bool = False
    # Whisper's own per-window checks (used for temperature fallback and to skip silent windows)
    no_speech_threshold: float | None = 0.6  # None: never skip a window (the caller's guards judge segments)
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4
    # Batched decoding (faster-whisper's BatchedInferencePipeline, for GPUs): with batch_size > 1 and clips
    # ((start, end) seconds of the samples, each at most 30 s) the clips are decoded batch_size at a time.
    # Backends without batching decode sequentially.
    batch_size: int = 0
    clips: tuple[tuple[float, float], ...] = ()


@dataclass(frozen=True)
class RawSegment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float
    words: tuple[Word, ...] = ()


class Backend(Protocol):
    name: str
    model_name: str
    multilingual: bool

    def transcribe(self, samples: np.ndarray, options: DecodeOptions) -> list[RawSegment]: ...

    def language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        """Whisper's language identification on the first 30 s of the samples: language → probability."""
        ...


def resolve_device(device: str, backend: str = "faster-whisper") -> str:
    """"auto" → "cuda" when the backend's runtime (CTranslate2 or torch) sees a CUDA device, else "cpu"."""
    if device != "auto":
        return device
    try:
        if backend == "openai-whisper":
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # noqa: BLE001 - a CPU-only build
        return "cpu"


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask: a container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


@lru_cache(maxsize=4)
def load_backend(backend: str, model: str, device: str = "auto", compute_type: str = "int8",
                 cpu_threads: int = 2) -> Backend:
    """The backend with its model loaded; cached per (backend, model, device, compute_type, threads)."""
    source = resolve_model(model)
    device = resolve_device(device, backend)
    if backend == "faster-whisper":
        from asr.backends.faster_whisper import FasterWhisperBackend

        return FasterWhisperBackend(source, device=device, compute_type=compute_type, cpu_threads=cpu_threads)
    if backend == "openai-whisper":
        from asr.backends.openai_whisper import OpenAIWhisperBackend

        return OpenAIWhisperBackend(source, device=device, cpu_threads=cpu_threads)
    raise ValueError(f"unknown ASR backend '{backend}'; choose one of {', '.join(BACKENDS)}")


__all__ = ["BACKENDS", "Backend", "DecodeOptions", "ModelNotFoundError", "ModelSource", "RawSegment",
           "available_cores", "load_backend", "resolve_device", "resolve_model"]
