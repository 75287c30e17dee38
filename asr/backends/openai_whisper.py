"""openai-whisper (PyTorch): the reference implementation; fp16 on CUDA.

Runs the packaged CTranslate2 weights through the lossless converter in weights.py, or an official `.pt`.
"""

from __future__ import annotations

import numpy as np

from asr.backends import DecodeOptions, RawSegment
from asr.backends.weights import ModelSource, ct2_to_openai_whisper
from qc.domain import Word


class OpenAIWhisperBackend:
    name = "openai-whisper"

    def __init__(self, source: ModelSource, device: str, cpu_threads: int):
        import torch
        import whisper

        if device == "cpu":
            torch.set_num_threads(cpu_threads)
        if source.kind == "openai":
            self.model = whisper.load_model(str(source.path), device=device)
        else:
            self.model = ct2_to_openai_whisper(source).to(device)
        self.model.eval()
        self.device = device
        self.model_name = source.name
        self.multilingual = self.model.is_multilingual

    def transcribe(self, samples: np.ndarray, options: DecodeOptions) -> list[RawSegment]:
        import whisper

        result = whisper.transcribe(
            self.model,
            samples,
            verbose=None,
            language=options.language if self.multilingual else "en",
            task="transcribe",
            temperature=options.temperatures,
            beam_size=options.beam_size if options.beam_size > 1 else None,
            initial_prompt=options.initial_prompt,
            condition_on_previous_text=options.condition_on_previous_text,
            word_timestamps=options.word_timestamps,
            no_speech_threshold=options.no_speech_threshold,
            logprob_threshold=options.logprob_threshold,
            compression_ratio_threshold=options.compression_ratio_threshold,
            fp16=self.device == "cuda",
        )
        return [
            RawSegment(
                start=float(s["start"]), end=float(s["end"]), text=s["text"].strip(),
                avg_logprob=float(s["avg_logprob"]), no_speech_prob=float(s["no_speech_prob"]),
                compression_ratio=float(s["compression_ratio"]),
                words=tuple(Word(float(w["start"]), float(w["end"]), w["word"], float(w["probability"]))
                            for w in s.get("words") or ()),
            )
            for s in result["segments"]
        ]

    def language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        import torch
        import whisper

        if not self.multilingual:
            return {"en": 1.0}
        mel = whisper.log_mel_spectrogram(whisper.pad_or_trim(samples), self.model.dims.n_mels).to(self.device)
        with torch.no_grad():
            _tokens, probabilities = self.model.detect_language(mel)
        return {language: float(probability) for language, probability in probabilities.items()}
