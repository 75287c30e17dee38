"""ASR accuracy under the conditions a call centre produces: every real clip of an audio directory (its
MANIFEST.tsv: file, language, reference_transcript) re-encoded with ffmpeg as telephone audio, transcribed by the
pipeline (asr.transcribe.transcribe_loaded, the packaged base model), and scored against its reference: pooled
CER for Mandarin, pooled WER for English, per condition and per decoding option set, with the clips that came
back empty. 16 kHz is the reference condition; "8k gap" is each condition's pooled error minus it.

    python bench/asr_accuracy.py [--audio-dir DIR] [--beams 1,5] [--conditions 16k,8k,ulaw,...]

Conditions (each applied alone to the original clip, then decoded back to PCM as a recorder would store it):
16k (resampled only), 8k (8 kHz PCM), ulaw / alaw (G.711, 8 kHz), gsm (GSM 06.10), g726 (32 kbit/s), opus8k
(Opus at 8 kbit/s), speex (8 kHz), noise20 / noise10 (white noise at 20 / 10 dB SNR, then 8 kHz μ-law),
quiet (20 dB down, then μ-law), clipped (+20 dB gain, hard-clipped, then μ-law).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from asr.audio import load_audio  # noqa: E402
from asr.transcribe import TranscribeOptions, transcribe_loaded  # noqa: E402
from tests.asr_fixtures import AUDIO_DIR, edit_distance, normalise_en, normalise_zh  # noqa: E402

TELEPHONE = ["-ar", "8000", "-ac", "1"]
# condition → (ffmpeg output options, container suffix); None: built in numpy first, then μ-law
CODECS: dict[str, tuple[list[str], str]] = {
    "16k": (["-ar", "16000", "-ac", "1", "-c:a", "pcm_s16le"], ".wav"),
    "8k": (TELEPHONE + ["-c:a", "pcm_s16le"], ".wav"),
    "ulaw": (TELEPHONE + ["-c:a", "pcm_mulaw"], ".wav"),
    "alaw": (TELEPHONE + ["-c:a", "pcm_alaw"], ".wav"),
    "gsm": (TELEPHONE + ["-c:a", "libgsm", "-f", "gsm"], ".gsm"),
    "g726": (TELEPHONE + ["-c:a", "adpcm_g726", "-b:a", "32k"], ".wav"),
    "opus8k": (TELEPHONE + ["-c:a", "libopus", "-b:a", "8k"], ".ogg"),
    "speex": (TELEPHONE + ["-c:a", "libspeex"], ".ogg"),
}
SIGNAL_CHANGES = ("noise20", "noise10", "quiet", "clipped")
CONDITIONS = tuple(CODECS) + SIGNAL_CHANGES


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", *args], check=True)


def _changed_signal(source: Path, condition: str, work: Path) -> Path:
    """The clip (mono, 16 kHz) with noise, attenuation or clipping applied, as a WAV file."""
    plain = work / f"{source.stem}.16k.wav"
    _ffmpeg("-i", str(source), "-ar", "16000", "-ac", "1", "-c:a", "pcm_f32le", str(plain))
    samples, rate = sf.read(plain, dtype="float32")
    rms = float(np.sqrt(np.mean(samples ** 2))) or 1e-6
    if condition.startswith("noise"):
        snr_db = float(condition.removeprefix("noise"))
        noise = np.random.default_rng(7).normal(0.0, rms / 10 ** (snr_db / 20), len(samples))
        samples = samples + noise.astype(np.float32)
    elif condition == "quiet":
        samples = samples * 10 ** (-20 / 20)
    elif condition == "clipped":
        samples = np.clip(samples * 10 ** (20 / 20), -1.0, 1.0)
    changed = work / f"{source.stem}.{condition}.wav"
    sf.write(changed, samples, rate, subtype="FLOAT")
    return changed


def telephone_copy(source: Path, condition: str, work: Path) -> Path:
    """The clip as a recording system would store it under `condition`: encoded, then decoded to 16-bit PCM."""
    if condition in SIGNAL_CHANGES:
        source, condition = _changed_signal(source, condition, work), "ulaw"
    options, suffix = CODECS[condition]
    encoded = work / f"{source.stem}.{condition}{suffix}"
    _ffmpeg("-i", str(source), *options, str(encoded))
    stored = work / f"{source.stem}.{condition}.stored.wav"
    _ffmpeg("-i", str(encoded), "-c:a", "pcm_s16le", str(stored))
    return stored


def _edits(language: str, reference: str, hypothesis: str) -> tuple[int, int]:
    normalise = normalise_zh if language.startswith("zh") else normalise_en
    ref, hyp = normalise(reference), normalise(hypothesis)
    return edit_distance(ref, hyp), len(ref)


def _clips(audio_dir: Path) -> list[tuple[Path, str, str]]:
    """Mono clips of the manifest (a two-channel clip with one text per channel is skipped)."""
    import csv

    rows = csv.DictReader((audio_dir / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")
    return [(audio_dir / r["file"], r["language"], r["reference_transcript"]) for r in rows
            if " | " not in r["reference_transcript"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--audio-dir", type=Path, default=AUDIO_DIR)
    parser.add_argument("--beams", default="1", help="comma-separated beam sizes to try (1 = greedy, the default)")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    args = parser.parse_args()
    clips = _clips(args.audio_dir)
    conditions = args.conditions.split(",")
    beams = [int(b) for b in args.beams.split(",")]
    print(f"{len(clips)} clips from {args.audio_dir}; conditions: {', '.join(conditions)}; beams: {beams}")

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for beam in beams:
            for condition in conditions:
                totals = {"zh": [0, 0], "en": [0, 0]}
                empty, seconds, per_clip = [], 0.0, []
                for path, language, reference in clips:
                    stored = telephone_copy(path, condition, work)
                    options = TranscribeOptions(language=language, beam_size=beam)
                    started = time.perf_counter()
                    transcript = transcribe_loaded(load_audio(stored), options, None)
                    seconds += time.perf_counter() - started
                    text = "".join(s.text for s in transcript.segments) if language == "zh" else \
                        " ".join(s.text for s in transcript.segments)
                    edits, length = _edits(language, reference, text)
                    totals["zh" if language.startswith("zh") else "en"][0] += edits
                    totals["zh" if language.startswith("zh") else "en"][1] += length
                    per_clip.append(f"{path.stem[:12]} {edits / max(length, 1):.2f}")
                    if not text.strip():
                        empty.append(path.name)
                pooled = {lang: (e / n if n else float("nan")) for lang, (e, n) in totals.items()}
                rows.append((beam, condition, pooled, empty, seconds, per_clip))
                print(f"beam {beam} {condition:8s} CER zh {pooled['zh']:.3f}  WER en {pooled['en']:.3f}  "
                      f"empty {len(empty)} {empty or ''}  decode {seconds:5.1f} s  | {'; '.join(per_clip)}",
                      flush=True)

    print("\n| beam | condition | pooled CER (zh) | gap vs 16k | pooled WER (en) | gap vs 16k | empty clips |")
    print("|---|---|---|---|---|---|---|")
    for beam, condition, pooled, empty, _seconds, _ in rows:
        base = next((p for b, c, p, *_ in rows if b == beam and c == "16k"), None)
        gap = {lang: (pooled[lang] - base[lang]) if base else float("nan") for lang in pooled}
        print(f"| {beam} | {condition} | {pooled['zh']:.3f} | {gap['zh']:+.3f} | {pooled['en']:.3f} | "
              f"{gap['en']:+.3f} | {', '.join(empty) or '0'} |")


if __name__ == "__main__":
    main()
