"""QC models benchmark: training time, and scoring throughput against a keyword-rule peer.

    python bench/models_bench.py [--calls 200]

The peer is what the rule engine does for the same labels: a compiled regular expression of trigger words per
label over the same agent segments. The ratio says how much slower the model scores a call than a keyword
scan (the model's price for catching paraphrases). Calls are the 8 synthetic calls in shared/ repeated.
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import time
from pathlib import Path

from qc.domain import Segment, Transcript
from qc.models.scorer import ModelScorer
from qc.models.training import TrainingOptions, train_emotion, train_violation

CALLS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "calls"
PEER_KEYWORDS = {
    "threat": "去单位|上门|告诉家人|天天打|找你领导",
    "insult": "老赖|不要脸|废物|骗子|有病",
    "impersonation": "法院|公安|检察院|律师|警察",
    "false_consequence": "抓人|坐牢|立案|黑名单|上学|全家征信|拘留",
    "third_party_disclosure": "他欠|她欠|欠款.*元",
    "pressure": "今天必须|否则|马上还清|今晚.*之前",
}


def load_calls() -> list[Transcript]:
    calls = []
    for path in sorted(CALLS_DIR.glob("*.segments.tsv")):
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        calls.append(Transcript(tuple(Segment(i, float(r["start_s"]), float(r["end_s"]), r["role"], r["text"])
                                      for i, r in enumerate(rows)), "zh", float(rows[-1]["end_s"])))
    return calls


def peer_scores(transcript: Transcript, patterns: dict[str, re.Pattern]) -> dict[int, dict[str, float]]:
    return {s.id: {label: 1.0 if pattern.search(s.text) else 0.0 for label, pattern in patterns.items()}
            for s in transcript.segments if s.speaker == "agent"}


def timed(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls scored per measurement")
    args = parser.parse_args()

    violation_s = timed(lambda: train_violation(TrainingOptions(seed=0)))
    emotion_s = timed(lambda: train_emotion(TrainingOptions(seed=0)))
    violation = train_violation(TrainingOptions(seed=0))
    emotion = train_emotion(TrainingOptions(seed=0))
    print(f"training (median of 3, incl. threshold-tuning CV and holdout evaluation): "
          f"violation {violation_s:.2f} s on {violation.train_size} utterances, "
          f"emotion {emotion_s:.2f} s on {emotion.train_size}")

    calls = load_calls()
    workload = [calls[i % len(calls)] for i in range(args.calls)]
    agent_segments = sum(sum(1 for s in t.segments if s.speaker == "agent") for t in workload)
    scorer = ModelScorer(violation.model, emotion.model)
    patterns = {label: re.compile(words) for label, words in PEER_KEYWORDS.items()}

    model_s = timed(lambda: [scorer.segment_scores(t) for t in workload])
    state_s = timed(lambda: [scorer.customer_state(t) for t in workload])
    peer_s = timed(lambda: [peer_scores(t, patterns) for t in workload])
    batch_s = timed(lambda: scorer.violation_scores([s.text for t in workload for s in t.segments
                                                     if s.speaker == "agent"]))
    print(f"\n{'what':<46}{'calls/s':>10}{'segments/s':>12}{'vs peer':>10}")
    rows = [("keyword regex peer (rules)", peer_s), ("model segment_scores, one call per call", model_s),
            ("model customer_state, one call per call", state_s), ("model, all segments in one batch", batch_s)]
    for name, seconds in rows:
        print(f"{name:<46}{len(workload) / seconds:>10.1f}{agent_segments / seconds:>12.0f}"
              f"{seconds / peer_s:>9.1f}x")
    print(f"\n{len(workload)} calls, {agent_segments} agent segments; 'vs peer' = time relative to the regex peer")


if __name__ == "__main__":
    main()
