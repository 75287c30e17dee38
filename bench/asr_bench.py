"""ASR throughput: the `whisper` CLI vs raw faster-whisper vs our pipeline, on the same recordings, in one run.

    python bench/asr_bench.py [RECORDING ...] [--language zh] [--threads 2]

Default recordings: the two shortest synthetic calls in ../shared/data/calls. Each way runs in a fresh
subprocess (so peak memory is its own) and includes loading the model once:
  whisper-cli     openai-whisper's command line, default settings (beam 5, temperature fallback, previous-text
                  conditioning), on the same multilingual base weights (converted to a .pt once, not timed)
  faster-whisper  WhisperModel(base, int8).transcribe(file, language) with its defaults (beam 5, no VAD)
  ours            asr.transcribe.transcribe_audio: per channel, VAD, greedy, guards, plus acoustic features
Prints wall time (load included), load time, RTF with and without loading, audio-hours per hour, peak RSS and
the wall-time ratios; ratios are "times faster than the peer".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
DEFAULT_CALLS = ("callA_06", "callA_04")
WAYS = ("whisper-cli", "faster-whisper", "ours")


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it does not inherit the parent's peak across exec),
    or its child's for the whisper CLI."""
    own_kb = next(int(line.split()[1]) for line in Path("/proc/self/status").read_text().splitlines()
                  if line.startswith("VmHWM:"))
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own_kb, children_kb) / 1024


def _run_whisper_cli(files: list[str], language: str, threads: int, checkpoint: str) -> float:
    """Returns 0: the CLI loads its model inside the run, so load time cannot be separated."""
    whisper_cli = shutil.which("whisper", path=str(Path(sys.executable).parent)) or shutil.which("whisper")
    with tempfile.TemporaryDirectory() as out:
        subprocess.run([whisper_cli, *files, "--model", checkpoint, "--language", language, "--device", "cpu",
                        "--fp16", "False", "--threads", str(threads), "--output_dir", out,
                        "--output_format", "txt", "--verbose", "False"],
                       check=True, stdout=subprocess.DEVNULL)
    return 0.0


def _run_faster_whisper(files: list[str], language: str, threads: int) -> float:
    """Returns the seconds spent importing and loading the model."""
    start = time.perf_counter()
    from faster_whisper import WhisperModel

    from asr.backends.weights import resolve_model

    source = resolve_model("base")
    model = WhisperModel("base", device="cpu", compute_type="int8", cpu_threads=threads, files=dict(source.files))
    loaded = time.perf_counter() - start
    for file in files:
        segments, _ = model.transcribe(file, language=language)
        list(segments)
    return loaded


def _run_ours(files: list[str], language: str, threads: int) -> float:
    """Returns the seconds spent importing and loading the model."""
    start = time.perf_counter()
    import asr.features  # noqa: F401 - librosa's import is part of loading
    from asr.backends import load_backend
    from asr.transcribe import TranscribeOptions, transcribe_audio

    options = TranscribeOptions(language=language, cpu_threads=threads)
    load_backend(options.backend, options.model, options.device, options.compute_type, options.cpu_threads)
    loaded = time.perf_counter() - start
    for file in files:
        transcribe_audio(Path(file), options, channel_map={"left": "agent", "right": "customer"})
    return loaded


def worker(way: str, files: list[str], language: str, threads: int, checkpoint: str) -> None:
    start = time.perf_counter()
    if way == "whisper-cli":
        load_s = _run_whisper_cli(files, language, threads, checkpoint)
    elif way == "faster-whisper":
        load_s = _run_faster_whisper(files, language, threads)
    else:
        load_s = _run_ours(files, language, threads)
    print(json.dumps({"wall_s": time.perf_counter() - start, "load_s": load_s, "peak_rss_mb": _peak_rss_mb()}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recordings", nargs="*")
    parser.add_argument("--language", default="zh")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--ways", default=",".join(WAYS))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--checkpoint", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker, args.recordings, args.language, args.threads, args.checkpoint)
        return

    import soundfile

    from asr.backends.weights import write_openai_checkpoint

    calls_dir = REPO_ROOT.parent / "shared" / "data" / "calls"
    files = args.recordings or [str(calls_dir / f"{call}.flac") for call in DEFAULT_CALLS]
    audio_seconds = sum(soundfile.info(f).duration for f in files)
    ways = args.ways.split(",")
    if "whisper-cli" in ways and not shutil.which("ffmpeg"):
        sys.exit("the whisper CLI needs the ffmpeg program (apt-get install ffmpeg)")
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        # the packaged base weights as an openai-whisper .pt, so the CLI runs exactly the same model
        checkpoint = str(write_openai_checkpoint("base", Path(tmp) / "base.pt")) if "whisper-cli" in ways else ""
        env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
        for way in ways:
            completed = subprocess.run(
                [sys.executable, __file__, "--worker", way, "--language", args.language, "--threads",
                 str(args.threads), "--checkpoint", checkpoint, *files],
                check=True, capture_output=True, text=True, env=env)
            results[way] = json.loads(completed.stdout.strip().splitlines()[-1])

    print(f"{len(files)} recordings, {audio_seconds:.1f} s of audio, language {args.language}, "
          f"{args.threads} CPU threads, CPU: {os.cpu_count()} cores; GPU not measured")
    print(f"{'way':16} {'wall s':>7} {'load s':>7} {'RTF':>6} {'RTF excl. load':>15} {'audio h/h':>10} "
          f"{'peak RSS MB':>12} {'vs whisper-cli':>15} {'vs faster-whisper':>18}")
    for way, result in results.items():
        wall = result["wall_s"]
        ratio_cli = results["whisper-cli"]["wall_s"] / wall if "whisper-cli" in results else float("nan")
        ratio_fw = results["faster-whisper"]["wall_s"] / wall if "faster-whisper" in results else float("nan")
        excl = f"{(wall - result['load_s']) / audio_seconds:15.3f}" if result["load_s"] else f"{'n/a':>15}"
        print(f"{way:16} {wall:7.1f} {result['load_s']:7.1f} {wall / audio_seconds:6.3f} {excl} "
              f"{audio_seconds / wall:10.1f} {result['peak_rss_mb']:12.0f} {ratio_cli:14.2f}x {ratio_fw:17.2f}x")
    fw, ours = results.get("faster-whisper"), results.get("ours")
    if fw and ours:
        print(f"transcription alone (load excluded): ours is "
              f"{(fw['wall_s'] - fw['load_s']) / (ours['wall_s'] - ours['load_s']):.2f}x raw faster-whisper")
    print("ratios: how many times faster than the peer (higher is better)")


if __name__ == "__main__":
    main()
