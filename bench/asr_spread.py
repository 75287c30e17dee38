"""How much the transcripts — and what the rules find in them — move across CPUs: the spread table.

    python bench/asr_spread.py [--out .work/asr-spread] [--isa AVX512 AVX2 GENERIC] [--threads 1 2]
    python bench/asr_spread.py --rescore .work/asr-spread      # score stored transcripts again (new rules)

CTranslate2's int8 kernels differ by instruction set (CT2_FORCE_CPU_ISA) and thread count, so the same model
on the same audio gives slightly different tokens on different machines. Each configuration runs in its own
subprocess (the ISA is fixed when CTranslate2 loads) and transcribes, with the default options:
  - the 12 labelled sample calls of samples/calls (8 synthetic Mandarin, 4 espeak-ng English; stereo 8 kHz),
    each in its agency's language: CER (zh) / WER (en) per channel against the script, turn timing (largest
    start/end offset of a turn's segments from the script), and what the agency's rule pack finds in the
    transcript (tests/labelled_calls.py: labels found on their turn,
    compliant calls flagged, findings of categories the call is not labelled with);
  - the real clips the ASR tests use: CER (zh) / WER (en);
  - the 1 s clip that provokes a repetition loop: the longest repeated n-gram run after the guards.
Prints one table per measure (configuration × item) and the worst value per column, from which the
ASR-dependent test thresholds are set (see docs/asr-robustness.md). Transcripts are kept in --out as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

CHANNEL_MAP = {"left": "agent", "right": "customer"}
CLIPS = ("BAC009S0724W0121.wav", "zh.wav", "chinese.flac", "librispeech-1995-1837-0001.wav", "english.wav",
         "jfk.flac", "stereo_diarization.wav")
BACKEND_CLIPS = ("jfk.flac", "librispeech-1995-1837-0001.wav")
ISAS = ("AVX512", "AVX2", "GENERIC")
SAMPLE_CALLS_DIR = REPO_ROOT / "samples" / "calls"  # the 8 labelled Mandarin calls + 4 labelled English ones


def longest_repeat_run(text: str) -> int:
    """How many times in a row the most repeated unit of 2+ characters occurs (1: nothing repeats)."""
    best = 1
    for match in re.finditer(r"(.{2,}?)\1+", text):
        best = max(best, len(match.group(0)) // len(match.group(1)))
    return best


# ---- worker: one configuration --------------------------------------------------------------------

def _worker(threads: int, out: Path, redo: list[str] | None) -> None:
    from asr.audio import load_audio
    from asr.transcribe import TranscribeOptions, transcribe_audio, transcribe_loaded
    from callqc.db.mapping import features_to_json
    from callqc.settings import load_settings
    from tests.asr_fixtures import AUDIO_DIR, manifest_clips

    settings = load_settings(environ={})
    started = time.perf_counter()
    data = json.loads(out.read_text(encoding="utf-8")) if redo is not None else {"calls": {}}
    for path in sorted(SAMPLE_CALLS_DIR.glob("*.flac")):
        if redo is None or path.stem in redo:
            agency = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))["agency"]
            language = settings.language_for(settings.agency_code(agency) or agency)
            result = transcribe_audio(path, TranscribeOptions(cpu_threads=threads, language=language), CHANNEL_MAP)
            data["calls"][path.stem] = {"transcript": result.transcript.to_dict(),
                                        "features": features_to_json(result.features)}
    if redo is None:
        data["seconds"] = round(time.perf_counter() - started, 1)
    by_name = {clip.file.name: clip for clip in manifest_clips()}
    data["clips"] = {}
    for name in CLIPS:
        clip = by_name[name]
        transcript = transcribe_loaded(load_audio(AUDIO_DIR / clip.file), TranscribeOptions(
            language=clip.language, cpu_threads=threads), CHANNEL_MAP)
        if clip.reference.startswith("L: "):  # "left text | right text", as the manifest writes it
            data["clips"][name] = " | ".join(" ".join(s.text for s in transcript.segments if s.speaker == role)
                                             for role in ("agent", "customer"))
        else:
            data["clips"][name] = " ".join(s.text for s in transcript.segments)
    # the same tiny.en weights in float32 through both backends (the test expects the same words)
    data["backends_float32"] = {}
    for name in BACKEND_CLIPS:
        data["backends_float32"][name] = {
            backend: " ".join(s.text for s in transcribe_loaded(load_audio(AUDIO_DIR / by_name[name].file), (
                TranscribeOptions(backend=backend, model="tiny.en", language="en", compute_type="float32",
                                  cpu_threads=threads))).segments)
            for backend in ("faster-whisper", "openai-whisper")}
    data.update(isa=os.environ.get("CT2_FORCE_CPU_ISA", "native"), threads=threads)
    out.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")


# ---- evaluation of one configuration's transcripts ---------------------------------------------------

def _evaluate(data: dict) -> dict:
    from callqc.db.mapping import features_from_json
    from callqc.settings import load_settings
    from qc.domain import Call, Transcript
    from qc.rules.pack import load_pack
    from qc.scoring import score_call
    from tests.asr_fixtures import error_rate, manifest_clips, normalise_en
    from tests.labelled_calls import FoundFinding, evaluate_call, script_turns

    settings = load_settings(environ={})
    references = {clip.file.name: clip for clip in manifest_clips()}
    row = {"config": f"{data['isa']}/{data['threads']}t", "seconds": data["seconds"], "calls": {}, "clips": {}}
    for call_id, stored in sorted(data["calls"].items()):
        transcript = Transcript.from_dict(stored["transcript"])
        features = features_from_json(stored["features"])
        turns = script_turns(SAMPLE_CALLS_DIR, call_id)
        rates = {}
        for role in ("agent", "customer"):
            reference = " ".join(t.text for t in turns if t.role == role)
            rates[role] = error_rate(transcript.language, reference,
                                     " ".join(s.text for s in transcript.segments if s.speaker == role))
        offsets, empty_turns, wrong_speaker = [], 0, 0
        by_turn: dict[int, list] = {}
        for segment in transcript.segments:
            overlaps = [min(segment.end, t.end) - max(segment.start, t.start) for t in turns]
            best = max(range(len(turns)), key=overlaps.__getitem__)
            wrong_speaker += overlaps[best] <= 0 or segment.speaker != turns[best].role
            by_turn.setdefault(best, []).append(segment)
        for index, turn in enumerate(turns):
            segments = by_turn.get(index)
            if not segments:
                empty_turns += 1
                continue
            offsets.append(max(abs(min(s.start for s in segments) - turn.start),
                               abs(max(s.end for s in segments) - turn.end)))
        call = Call.from_dict(json.loads((SAMPLE_CALLS_DIR / f"{call_id}.json").read_text(encoding="utf-8")))
        pack = load_pack(settings.rule_pack_for(settings.agency_code(call.agency) or call.agency))
        score = score_call(call, transcript, pack, features=features)
        evaluation = evaluate_call(SAMPLE_CALLS_DIR, call_id, [FoundFinding(f.category, f.start, f.end, f.rule_id)
                                                         for f in score.findings], score.flagged)
        row["calls"][call_id] = {"cer_agent": round(rates["agent"], 3), "cer_customer": round(rates["customer"], 3),
                                 "max_turn_offset_s": round(max(offsets, default=0.0), 2),
                                 "empty_turns": empty_turns, "wrong_speaker": wrong_speaker,
                                 "compliant": evaluation.compliant, "flagged": evaluation.flagged,
                                 "score": round(score.score, 1),
                                 "found": list(evaluation.found), "missed": list(evaluation.missed),
                                 "unexpected": list(evaluation.unexpected)}
    for name, text in data["clips"].items():
        clip = references[name]
        if clip.reference.startswith("L: "):  # the worse channel of the stereo clip
            references_lr = [part.split(": ", 1)[1] for part in clip.reference.split(" | ")]
            error = max(error_rate(clip.language, ref, hyp) for ref, hyp in zip(references_lr, text.split(" | ")))
        else:
            error = error_rate(clip.language, clip.reference, text)
        row["clips"][name] = {"error": round(error, 3),
                              "longest_repeat": longest_repeat_run(text), "chars": len(text)}
    row["backends_agree"] = {name: normalise_en(texts["faster-whisper"]) == normalise_en(texts["openai-whisper"])
                             for name, texts in data.get("backends_float32", {}).items()}
    return row


def _print_tables(rows: list[dict]) -> None:
    calls = sorted(rows[0]["calls"])
    clips = sorted(rows[0]["clips"])
    width = max(len(r["config"]) for r in rows) + 2

    def table(title: str, columns: list[str], cell) -> None:
        print(f"\n{title}")
        print("config".ljust(width) + "".join(c[:12].rjust(13) for c in columns))
        for row in rows:
            print(row["config"].ljust(width) + "".join(str(cell(row, c)).rjust(13) for c in columns))

    table("CER agent / customer per call", calls,
          lambda r, c: f"{r['calls'][c]['cer_agent']:.3f}/{r['calls'][c]['cer_customer']:.3f}")
    worst = {c: max(max(r["calls"][c]["cer_agent"], r["calls"][c]["cer_customer"]) for r in rows) for c in calls}
    print("worst".ljust(width) + "".join(f"{worst[c]:.3f}".rjust(13) for c in calls))
    table("largest turn start/end offset (s) · turns with no text · segments on the wrong speaker", calls,
          lambda r, c: f"{r['calls'][c]['max_turn_offset_s']:.2f}·{r['calls'][c]['empty_turns']}"
                       f"·{r['calls'][c]['wrong_speaker']}")
    table("labelled violations found / labelled (compliant calls: F = flagged)", calls,
          lambda r, c: ("F" if r["calls"][c]["flagged"] else "ok") if r["calls"][c]["compliant"] else
          f"{len(r['calls'][c]['found'])}/{len(r['calls'][c]['found']) + len(r['calls'][c]['missed'])}")
    table("call score (flagged below the pack's threshold, 80 by default)", calls,
          lambda r, c: f"{r['calls'][c].get('score', float('nan')):.0f}")
    table("clip error rate (CER zh / WER en) · longest repeat run", clips,
          lambda r, c: f"{r['clips'][c]['error']:.3f}·{r['clips'][c]['longest_repeat']}")
    print("\nper configuration: recall, missed labels, compliant calls flagged, unexpected findings, seconds")
    for row in rows:
        found = sum(len(v["found"]) for v in row["calls"].values())
        labelled = found + sum(len(v["missed"]) for v in row["calls"].values())
        missed = [f"{c}:{m}" for c, v in row["calls"].items() for m in v["missed"]]
        flagged = [c for c, v in row["calls"].items() if v["compliant"] and v["flagged"]]
        unexpected = [f"{c}:{u}" for c, v in row["calls"].items() for u in v["unexpected"]]
        agree = "; ".join(f"{k}: {'same' if v else 'DIFFERENT'}" for k, v in row.get("backends_agree", {}).items())
        print(f"{row['config'].ljust(width)} backends (tiny.en float32): {agree}")
        print(f"{row['config'].ljust(width)} recall {found}/{labelled} = {found / labelled:.2f}  missed {missed}  "
              f"compliant flagged {flagged}  unexpected {len(unexpected)} {unexpected}  {row['seconds']} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".work" / "asr-spread")
    parser.add_argument("--isa", nargs="+", default=list(ISAS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--rescore", type=Path, help="evaluate the transcripts stored in this folder again")
    parser.add_argument("--redo", nargs="*", metavar="CALL",
                        help="transcribe these calls and the clips again, into the stored transcripts' files")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--worker-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        _worker(args.worker, args.worker_out, args.redo)
        return 0
    folder = args.rescore or args.out
    folder.mkdir(parents=True, exist_ok=True)
    if not args.rescore:
        for isa in args.isa:
            for threads in args.threads:
                out = folder / f"{isa}-{threads}t.json"
                env = {**os.environ, "CT2_FORCE_CPU_ISA": isa}
                print(f"==> {isa}, {threads} thread(s)", flush=True)
                subprocess.run([sys.executable, __file__, "--worker", str(threads), "--worker-out", str(out),
                                *(["--redo", *args.redo] if args.redo is not None else [])], env=env, check=True)
    rows = [_evaluate(json.loads(path.read_text(encoding="utf-8"))) for path in sorted(folder.glob("*t.json"))]
    (folder / "spread.json").write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    _print_tables(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
