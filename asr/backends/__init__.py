"""Whisper backends behind one interface, loaded once per process.

A backend turns 16 kHz float32 mono samples into raw segments (times relative to the samples given). VAD,
quality guards, speaker attribution and Simplified conversion are the pipeline's job (asr.transcribe), so both
backends see exactly the same audio and their outputs are directly comparable.
"""

from __future__ import annotations

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
    condition_on_previous_text: bool = False
    word_timestamps: bool = False
    # Whisper's own per-window checks (used for temperature fallback and to skip silent windows)
    no_speech_threshold: float = 0.6
    logprob_threshold: float = -1.0
    compression_ratio_threshold: float = 2.4


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
           "load_backend", "resolve_device", "resolve_model"]
