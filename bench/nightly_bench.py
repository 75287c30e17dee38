"""The whole nightly flow against raw faster-whisper on the same audio, in one run.

    python bench/nightly_bench.py [--calls 8] [--repeat 1] [--runner threads|dask] [--concurrency 1] [--profile]
                                  [--models]

Peer: faster-whisper's WhisperModel on each channel of each call (the pipeline transcribes per channel), with the
pipeline's decoding options (configured model and compute type, beam 1, temperature 0, Silero VAD, language, same
threads), model loaded before the clock starts. Ours: `nightly_qc` for one day through Prefect (temporary local
server) over the same calls in a local SeaweedFS bucket and a SQLite database: ingest (list, sidecars, probe),
fetch, transcription with VAD + guards + acoustic features, scoring, persistence, attribution report, summary.
Both warm: models loaded, the Prefect server up and numba compiled by a warm-up before timing.
Prints the ratio ours / raw (target ≤ 1.10) and audio hours per wall hour. --profile adds where the flow's time
outside transcription goes: Prefect task runs per recording with their summed wall time, and SQL statements per
recording (counted in this process: threads runner).
"""

from __future__ import annotations

import argparse
import json
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


def bench_settings(work: Path, concurrency: int, device: str = "auto", compute_type: str = "int8"):
    from callqc.settings import DatabaseSettings, Settings, load_settings

    base = load_settings(environ={})
    ports = {"master_port": _free_port(), "volume_port": _free_port(), "filer_port": _free_port(),
             "s3_port": _free_port(), "startup_timeout_s": 90}
    data = base.model_dump()
    data["work_dir"] = str(work)
    data["storage"] = {**data["storage"], "endpoint": f"127.0.0.1:{ports['s3_port']}", "bucket": "bench",
                       "embedded": True, "seaweedfs": ports}
    data["prefect"] = {**data["prefect"], "transcribe_concurrency": concurrency}
    data["asr"] = {**data["asr"], "device": device, "compute_type": compute_type}
    settings = Settings.model_validate(data)
    return settings.model_copy(update={"database": DatabaseSettings(url=f"sqlite:///{work / 'bench.db'}")})


def raw_faster_whisper(settings, audio_files: list[Path], word_timestamps: bool = True) -> float:
    """Seconds for faster-whisper alone on every channel of every file (model loaded beforehand). The pipeline
    decodes with word timestamps (they split segments at the VAD regions), so the peer does too by default."""
    import numpy as np
    import soundfile
    import soxr
    from faster_whisper import WhisperModel

    from asr.transcribe import DEFAULT_INITIAL_PROMPTS

    model = _raw_model(settings, WhisperModel)
    asr = settings.asr
    hotwords = settings.transcription_for("")["hotwords"]  # the configured vocabulary, when asr.use_vocabulary
    started = time.perf_counter()
    for path in audio_files:
        samples, rate = soundfile.read(path, dtype="float32", always_2d=True)
        for channel in range(samples.shape[1]):
            audio = soxr.resample(samples[:, channel], rate, 16000).astype(np.float32)
            peak = float(np.max(np.abs(audio))) or 1.0
            segments, _ = model.transcribe(audio / peak, language=asr.language, beam_size=asr.beam_size,
                                           temperature=0.0, vad_filter=asr.vad, condition_on_previous_text=False,
                                           word_timestamps=word_timestamps, hotwords=hotwords,
                                           initial_prompt=DEFAULT_INITIAL_PROMPTS.get(asr.language or ""))
            list(segments)  # the generator does the decoding
    return time.perf_counter() - started


def _raw_model(settings, whisper_model_class):
    """The same weights the pipeline loads, opened directly with faster-whisper."""
    from asr.backends import load_backend
    from callqc.pipeline import whisper_threads

    backend = load_backend(settings.asr.backend, settings.asr.model, settings.asr.device, settings.asr.compute_type,
                           whisper_threads(settings))
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


class StatementCounter:
    """SQL statements executed in this process while active (SQLAlchemy's before_cursor_execute event)."""

    def __init__(self):
        self.count = 0

    def __enter__(self):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.listen(Engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc):
        from sqlalchemy import event
        from sqlalchemy.engine import Engine

        event.remove(Engine, "before_cursor_execute", self._count)

    def _count(self, *args, **kwargs):
        self.count += 1


def task_run_profile(flow_run_id) -> list[tuple[str, int, float]]:
    """(task name, runs, summed wall seconds) of one flow run's task runs, from the Prefect API."""
    from collections import defaultdict

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    runs, page = [], 200  # the API returns at most 200 per request
    with get_client(sync_client=True) as client:
        while not runs or len(runs) % page == 0:
            batch = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])),
                                          limit=page, offset=len(runs))
            if not batch:
                break
            runs.extend(batch)
    by_name: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        wall = (run.end_time - run.start_time).total_seconds() if run.start_time and run.end_time else 0.0
        by_name[run.task_key.rsplit("-", 1)[0]].append(wall)  # task_key: "{function}-{hash}"
    return sorted(((name, len(walls), sum(walls)) for name, walls in by_name.items()), key=lambda r: -r[2])


NIGHT_H, CALL_MIN, NIGHT_CALLS = 8, 3, 10_000


def print_projection(audio_s: float, wall_s: float, concurrency: int) -> None:
    """Capacity at the measured rate: calls of CALL_MIN minutes per NIGHT_H-hour night on one machine like this
    one, and such machines for NIGHT_CALLS calls a night."""
    import math

    per_night = NIGHT_H * 3600 * (audio_s / wall_s) / (CALL_MIN * 60)
    print(f"\ncapacity at this rate ({os.cpu_count()}-core worker, transcribe_concurrency {concurrency}): "
          f"{per_night:,.0f} calls of {CALL_MIN} min per {NIGHT_H}-hour night; "
          f"{NIGHT_CALLS:,} calls need {math.ceil(NIGHT_CALLS / per_night)} such workers")


def train_and_promote(settings) -> None:
    """Train the seed models and promote them (what an operator does with `callqc models train` / `promote`)."""
    from callqc import db
    from callqc.model_registry import ensure_promoted_models
    from callqc.storage import RecordingStore

    ensure_promoted_models(db.sessions_for(settings.database_url), RecordingStore(settings))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=8, help="How many sample calls (default: all 8).")
    parser.add_argument("--runner", choices=("threads", "dask"), default="threads")
    parser.add_argument("--concurrency", type=int, default=1, help="prefect.transcribe_concurrency")
    parser.add_argument("--repeat", type=int, default=1, help="Upload each call this many times (64 calls: "
                                                                 "--calls 8 --repeat 8).")
    parser.add_argument("--device", default="auto", help="asr.device: auto | cpu | cuda")
    parser.add_argument("--compute-type", default="int8", help="asr.compute_type (float16 on a GPU)")
    parser.add_argument("--profile", action="store_true", help="Task runs and SQL statements per recording.")
    parser.add_argument("--models", action="store_true", help="Train and promote the seed models first, so the flow "
                                                              "also scores with them (the violation model's two heads).")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="callqc-bench-"))
    os.environ.update({"PREFECT_HOME": str(work / "prefect-home"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                       "DO_NOT_TRACK": "1", "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120"})
    os.environ.setdefault("NUMBA_CACHE_DIR", str(REPO_ROOT / ".work" / "numba-cache"))
    os.environ.pop("PREFECT_API_URL", None)
    for name in [n for n in os.environ if n.startswith("CALLQC_") and n not in ("CALLQC_S3_ACCESS_KEY",
                                                                               "CALLQC_S3_SECRET_KEY")]:
        os.environ.pop(name)
    os.environ.pop("CALLQC_S3_ACCESS_KEY", None), os.environ.pop("CALLQC_S3_SECRET_KEY", None)

    from callqc import db, seaweed
    from callqc.pipeline import whisper_threads
    from callqc.samples import SAMPLE_CALLS_DIR, sample_calls, upload_samples
    from callqc.storage import RecordingStore
    from flows.nightly import nightly_qc
    from flows.runners import task_runner

    settings = bench_settings(work, args.concurrency, args.device, args.compute_type)
    calls = [c for c in sample_calls() if c.call_id.startswith("callA_")][: args.calls]  # Mandarin, like asr.language
    chosen = work / "calls"
    chosen.mkdir()
    audio_files = []
    for copy in range(args.repeat):  # copy k of a call is another recording with call id <id>-r<k>
        for call in calls:
            call_id = call.call_id if copy == 0 else f"{call.call_id}-r{copy}"
            shutil.copy(call.audio, chosen / f"{call_id}{call.audio.suffix}")
            sidecar = json.loads((SAMPLE_CALLS_DIR / f"{call.call_id}.json").read_text(encoding="utf-8"))
            (chosen / f"{call_id}.json").write_text(json.dumps({**sidecar, "call_id": call_id}, ensure_ascii=False),
                                                    encoding="utf-8")
            audio_files.append(call.audio)
    seaweed.start(settings)
    try:
        store = RecordingStore(settings)
        upload_samples(settings, store, day=BENCH_DAY, samples_dir=chosen)
        db.upgrade(settings.database_url)
        if args.models:  # in a child process, so that training's BLAS threads stay out of the timed runs
            import multiprocessing

            child = multiprocessing.get_context("spawn").Process(target=train_and_promote, args=(settings,))
            child.start()
            child.join()
            assert child.exitcode == 0, "training the seed models failed"
        flow = nightly_qc.with_options(task_runner=task_runner(settings.prefect, args.runner))

        # warm-up: Prefect's temporary server, imports, the Whisper model, numba's compiled features
        flow(day=date(2000, 1, 1), settings=settings)
        from asr.transcribe import TranscribeOptions, transcribe_audio

        transcribe_audio(calls[0].audio, TranscribeOptions.from_settings(settings.asr,
                                                                         cpu_threads=whisper_threads(settings)),
                         name="warm-up")

        raw_s = raw_faster_whisper(settings, audio_files)
        raw_words_off_s = raw_faster_whisper(settings, audio_files, word_timestamps=False)
        started = time.perf_counter()
        with StatementCounter() as statements:
            state = flow(day=BENCH_DAY, settings=settings, return_state=True)
        ours_s = time.perf_counter() - started
        summary = state.result()
        asr_s = _asr_stage_seconds(settings.database_url)
        tasks = task_run_profile(state.state_details.flow_run_id) if args.profile else []
    finally:
        seaweed.stop(settings)
        shutil.rmtree(work, ignore_errors=True)

    audio_s = sum(o.duration_s for o in summary.processed)
    assert len(summary.processed) == len(audio_files), summary.counts()
    print(f"\nnightly flow vs raw faster-whisper — {len(audio_files)} calls, {audio_s:.1f} s of stereo audio "
          f"({args.runner} runner, transcribe_concurrency {args.concurrency}, model {settings.asr.model} "
          f"{'+ promoted seed QC models ' if args.models else ''}"
          f"{settings.asr.compute_type}, {whisper_threads(settings)} threads each, {os.cpu_count()} CPUs)")
    print("| pipeline | wall s | audio h / wall h | ratio to raw |")
    print("|---|---|---|---|")
    print(f"| raw faster-whisper, the pipeline's decode options (per channel, word timestamps) | {raw_s:.1f} | "
          f"{audio_s / raw_s:.1f} | 1.00 |")
    print(f"| raw faster-whisper without word timestamps | {raw_words_off_s:.1f} | {audio_s / raw_words_off_s:.1f} | "
          f"{raw_words_off_s / raw_s:.2f} |")
    print(f"| nightly_qc flow (whole run) | {ours_s:.1f} | {audio_s / ours_s:.1f} | {ours_s / raw_s:.2f} |")
    print(f"target ≤ 1.10×: {'met' if ours_s / raw_s <= 1.10 else 'NOT met'}")
    if args.concurrency == 1 and args.runner == "threads":
        print(f"of the flow's {ours_s:.1f} s: asr.transcribe_audio (decode, VAD, Whisper per channel, guards, "
              f"acoustic features) {asr_s:.1f} s = {asr_s / raw_s:.2f}× raw; everything else (ingest, S3, Prefect, "
              f"DB, scoring, report) {ours_s - asr_s:.1f} s")
    else:
        print(f"asr.transcribe_audio busy time summed over parallel tasks: {asr_s:.1f} s")
    print_projection(audio_s, ours_s, args.concurrency)
    if args.profile:
        n = len(audio_files)
        print(f"\nprofile: {sum(runs for _, runs, _ in tasks)} task runs = {sum(r for _, r, _ in tasks) / n:.1f} per "
              f"recording; {statements.count} SQL statements in this process = {statements.count / n:.1f} per "
              "recording (the Prefect server's own are not counted)")
        print("| task | runs | summed wall s | per recording s |")
        print("|---|---|---|---|")
        for name, runs, wall in tasks:
            print(f"| {name} | {runs} | {wall:.2f} | {wall / n:.3f} |")


if __name__ == "__main__":
    main()
