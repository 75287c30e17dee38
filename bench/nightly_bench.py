"""The whole nightly flow against raw faster-whisper on the same audio, in one run.

    python bench/nightly_bench.py [--calls 8] [--runner threads|dask] [--concurrency 1]

Peer: faster-whisper's WhisperModel on each channel of each call (the pipeline transcribes per channel), with the
pipeline's decoding options (configured model and compute type, beam 1, temperature 0, Silero VAD, language, same
threads), model loaded before the clock starts. Ours: `nightly_qc` for one day through Prefect (temporary local
server) over the same calls in a local SeaweedFS bucket and a SQLite database: ingest (list, sidecars, probe),
fetch, transcription with VAD + guards + acoustic features, scoring, persistence, attribution report, summary.
Both warm: models loaded, the Prefect server up and numba compiled by a warm-up before timing.
Prints the ratio ours / raw (target ≤ 1.10) and audio hours per wall hour.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
BENCH_DAY = date(2026, 11, 21)


def _free_port() -> int:
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + 10000 <= 65535:
            return port


def bench_settings(work: Path, concurrency: int):
    from callqc.settings import DatabaseSettings, Settings, load_settings

    base = load_settings(environ={})
    ports = {"master_port": _free_port(), "volume_port": _free_port(), "filer_port": _free_port(),
             "s3_port": _free_port(), "startup_timeout_s": 90}
    data = base.model_dump()
    data["work_dir"] = str(work)
    data["storage"] = {**data["storage"], "endpoint": f"127.0.0.1:{ports['s3_port']}", "bucket": "bench",
                       "embedded": True, "seaweedfs": ports}
    data["prefect"] = {**data["prefect"], "transcribe_concurrency": concurrency}
    settings = Settings.model_validate(data)
    return settings.model_copy(update={"database": DatabaseSettings(url=f"sqlite:///{work / 'bench.db'}")})


def raw_faster_whisper(settings, audio_files: list[Path]) -> float:
    """Seconds for faster-whisper alone on every channel of every file (model loaded beforehand)."""
    import numpy as np
    import soundfile
    import soxr
    from faster_whisper import WhisperModel

    from asr.transcribe import DEFAULT_INITIAL_PROMPTS

    model = _raw_model(settings, WhisperModel)
    asr = settings.asr
    started = time.perf_counter()
    for path in audio_files:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        for channel in range(samples.shape[1]):
            audio = soxr.resample(samples[:, channel], rate, 16000).astype(np.float32)
            peak = float(np.max(np.abs(audio))) or 1.0
            segments, _ = model.transcribe(audio / peak, language=asr.language, beam_size=asr.beam_size,
                                           temperature=0.0, vad_filter=asr.vad, condition_on_previous_text=False,
                                           initial_prompt=DEFAULT_INITIAL_PROMPTS.get(asr.language or ""))
            list(segments)  # the generator does the decoding
    return time.perf_counter() - started


def _raw_model(settings, whisper_model_class):
    """The same weights the pipeline loads, opened directly with faster-whisper."""
    from asr.backends import load_backend

    backend = load_backend(settings.asr.backend, settings.asr.model, settings.asr.device, settings.asr.compute_type,
                           settings.asr.cpu_threads)
    model = getattr(backend, "model", None)
    if isinstance(model, whisper_model_class):
        return model
    raise SystemExit("the configured ASR backend is not faster-whisper; set asr.backend: faster-whisper")


def _asr_stage_seconds(database_url: str) -> float:
    """Seconds spent inside asr.transcribe_audio, as the pipeline recorded per transcript."""
    from sqlalchemy import func, select

    from callqc.db import make_engine
    from callqc.db.models import TranscriptRow

    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            return float(connection.scalar(select(func.sum(TranscriptRow.processing_s))) or 0.0)
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=8, help="How many sample calls (default: all 8).")
    parser.add_argument("--runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--concurrency", type=int, default=1, help="prefect.transcribe_concurrency")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="callqc-bench-"))
    os.environ.update({"PREFECT_HOME": str(work / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "DO_NOT_TRACK": "1"})
    os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO_ROOT / ".work" / "numba-cache"))
    os.environ.pop("PREFECT_API_URL", None)
    for name in [n for n in os.environ if n.startswith("CALLQC_") and n not in ("CALLQC_S3_ACCESS_KEY",
                                                                               "CALLQC_S3_SECRET_KEY")]:
        os.environ.pop(name)
    os.environ.pop("CALLQC_S3_ACCESS_KEY", None), os.environ.pop("CALLQC_S3_SECRET_KEY", None)

    from callqc import db, seaweed
    from callqc.samples import SAMPLE_CALLS_DIR, sample_calls, upload_samples
    from callqc.storage import RecordingStore
    from flows.nightly import nightly_qc
    from flows.runners import task_runner

    settings = bench_settings(work, args.concurrency)
    calls = [c for c in sample_calls() if c.call_id.startswith("callA_")][: args.calls]  # Mandarin, like asr.language
    chosen = work / "calls"
    chosen.mkdir()
    for call in calls:
        shutil.copy(call.audio, chosen / call.audio.name)
        shutil.copy(SAMPLE_CALLS_DIR / f"{call.call_id}.json", chosen / f"{call.call_id}.json")
    seaweed.start(settings)
    try:
        store = RecordingStore(settings)
        upload_samples(settings, store, day=BENCH_DAY, samples_dir=chosen)
        db.upgrade(settings.database_url)
        flow = nightly_qc.with_options(task_runner=task_runner(settings.prefect, args.runner))

        # warm-up: Prefect's temporary server, imports, the Whisper model, numba's compiled features
        flow(day=date(2000, 1, 1), settings=settings)
        from asr.transcribe import TranscribeOptions, transcribe_audio

        transcribe_audio(calls[0].audio, TranscribeOptions.from_settings(settings.asr), name="warm-up")

        raw_s = raw_faster_whisper(settings, [c.audio for c in calls])
        started = time.perf_counter()
        summary = flow(day=BENCH_DAY, settings=settings)
        ours_s = time.perf_counter() - started
        asr_s = _asr_stage_seconds(settings.database_url)
    finally:
        seaweed.stop(settings)
        shutil.rmtree(work, ignore_errors=True)

    audio_s = sum(o.duration_s for o in summary.processed)
    assert len(summary.processed) == len(calls), summary.counts()
    print(f"\nnightly flow vs raw faster-whisper — {len(calls)} calls, {audio_s:.1f} s of stereo audio "
          f"({args.runner} runner, transcribe_concurrency {args.concurrency}, model {settings.asr.model} "
          f"{settings.asr.compute_type}, {settings.asr.cpu_threads} threads, {os.cpu_count()} CPUs)")
    print("| pipeline | wall s | audio h / wall h | ratio to raw |")
    print("|---|---|---|---|")
    print(f"| raw faster-whisper (per channel) | {raw_s:.1f} | {audio_s / raw_s:.1f} | 1.00 |")
    print(f"| nightly_qc flow (whole run) | {ours_s:.1f} | {audio_s / ours_s:.1f} | {ours_s / raw_s:.2f} |")
    print(f"target ≤ 1.10×: {'met' if ours_s / raw_s <= 1.10 else 'NOT met'}")
    if args.concurrency == 1 and args.runner == "threads":
        print(f"of the flow's {ours_s:.1f} s: asr.transcribe_audio (decode, VAD, Whisper per channel, guards, "
              f"acoustic features) {asr_s:.1f} s = {asr_s / raw_s:.2f}× raw; everything else (ingest, S3, Prefect, "
              f"DB, scoring, report) {ours_s - asr_s:.1f} s")
    else:
        print(f"asr.transcribe_audio busy time summed over parallel tasks: {asr_s:.1f} s")


if __name__ == "__main__":
    main()
