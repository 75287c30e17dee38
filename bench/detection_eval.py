"""Detection quality per violation category: rules alone, the model alone, and rules ∪ model (as the nightly
scores), on labelled utterances and on labelled call scripts.

    python bench/detection_eval.py UTTERANCES.tsv            # columns id, language, speaker, category, text, note
    python bench/detection_eval.py --calls samples/calls     # the labelled call scripts, turn by turn

Every utterance is scored alone, as `callqc score` scores a one-turn transcript: the pack of its language
(zh → cn_collection, en → us_fdcpa), a noon call with an unknown callee relation (inferred from the turn when it
says who the callee is), the speaker as given. The pipeline judges agent turns only, so a customer line is a
true negative unless something fires on it. `category` may list several categories (comma-separated) or `none`.
Only the categories that occur in the file are scored; call-level categories (missing self-identification,
mini-Miranda, calling hours, call frequency) cannot be judged on one utterance and are not predicted.

The model is the seed model (`callqc models train --seed 0`, what the nightly promotes by default) unless
--model gives a joblib artefact; "model alone" means the pack's model_score rules (calibrated thresholds) only.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from datetime import datetime, time, timezone
from pathlib import Path
from typing import Iterable, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc.domain import Call, Segment, Transcript  # noqa: E402
from qc.models.scorer import ModelScorer  # noqa: E402
from qc.rules import load_pack  # noqa: E402
from qc.rules.pack import RulePack  # noqa: E402
from qc.scoring import score_call  # noqa: E402

PACK_OF = {"zh": "cn_collection", "en": "us_fdcpa"}
CALL_LEVEL = {"missing_self_identification", "mini_miranda", "calling_hours", "call_frequency"}
MODES = ("rules", "model", "rules+model")
REQUIRED = ("id", "language", "speaker", "category", "text")


def read_utterances(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t")
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise SystemExit(f"{path}: missing column(s) {', '.join(missing)}")
        rows = []
        for number, row in enumerate(reader, start=2):
            if (row.get("language") or "").strip() not in PACK_OF:
                raise SystemExit(f"{path}: row {number}: field 'language' must be zh or en, got {row.get('language')!r}")
            if (row.get("speaker") or "").strip() not in ("agent", "customer", "unknown"):
                raise SystemExit(f"{path}: row {number}: field 'speaker' must be agent, customer or unknown")
            if not (row.get("text") or "").strip():
                raise SystemExit(f"{path}: row {number}: field 'text' is empty")
            rows.append(row)
    return rows


def _categories(value: str) -> set[str]:
    return {c.strip() for c in (value or "").split(",") if c.strip() and c.strip() != "none"}


def _noon_call(language: str) -> Call:
    zone = timezone.utc
    return Call(call_id="utterance", agency="", agent_id="", account_id="",
                started_at=datetime.combine(datetime(2026, 11, 3).date(), time(12, 0), tzinfo=zone),
                callee_relation="unknown", callee_timezone="Asia/Shanghai" if language == "zh" else "America/New_York")


def predict(pack: RulePack, scorer: ModelScorer, call: Call, transcript: Transcript,
            segment_ids: Iterable[int] | None = None) -> dict[str, dict[int, set[str]]]:
    """Per mode: segment id → predicted categories (call-level categories left out)."""
    model_scores = scorer.segment_scores(transcript, callee_relation=call.callee_relation)
    model_rules = [r for r in pack.rules if r.type_name == "model_score" and r.config.report]
    result: dict[str, dict[int, set[str]]] = {mode: defaultdict(set) for mode in MODES}
    for mode, scores in (("rules", None), ("rules+model", model_scores)):
        for finding in score_call(call, transcript, pack, model_scores=scores).findings:
            if finding.category in CALL_LEVEL:
                continue
            for segment_id in finding.segment_ids:
                result[mode][segment_id].add(finding.category)
    for segment in transcript.segments:
        if segment.speaker != "agent":
            continue
        row = model_scores.get(segment.id, {})
        for rule in model_rules:
            if row.get(rule.config.label, 0.0) >= rule.config.threshold:
                result["model"][segment.id].add(rule.config.category)
    return result


def table(truths: Sequence[set[str]], predictions: dict[str, Sequence[set[str]]], categories: Sequence[str]) -> str:
    lines = [f"{'category':<26}{'n':>5}  " + "  ".join(f"{mode + ' P / R / F1':>24}" for mode in MODES)]
    macro = {mode: [0.0, 0.0, 0.0] for mode in MODES}
    for category in categories:
        support = sum(category in t for t in truths)
        cells = []
        for mode in MODES:
            tp = sum(category in t and category in p for t, p in zip(truths, predictions[mode]))
            fp = sum(category not in t and category in p for t, p in zip(truths, predictions[mode]))
            precision = tp / (tp + fp) if tp + fp else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            for i, value in enumerate((precision, recall, f1)):
                macro[mode][i] += value / len(categories)
            cells.append(f"{precision:>8.2f} /{recall:>5.2f} /{f1:>5.2f}")
        lines.append(f"{category:<26}{support:>5}  " + "  ".join(f"{c:>24}" for c in cells))
    lines.append(f"{'macro':<26}{'':>5}  " + "  ".join(
        f"{macro[m][0]:>8.2f} /{macro[m][1]:>5.2f} /{macro[m][2]:>5.2f}".rjust(24) for m in MODES))
    # any violation at all (the right category not required): how many violating rows raise something
    for mode in MODES:
        flagged = [bool(p) for p in predictions[mode]]
        violating = [bool(t) for t in truths]
        tp = sum(f and v for f, v in zip(flagged, violating))
        precision = tp / sum(flagged) if sum(flagged) else 0.0
        recall = tp / sum(violating) if sum(violating) else 0.0
        lines.append(f"  any violation, {mode:<12} precision {precision:.2f}  recall {recall:.2f}  "
                     f"({sum(flagged)} rows flagged, {sum(violating)} violating)")
    return "\n".join(lines)


def evaluate_utterances(path: Path, scorer: ModelScorer, show_errors: bool) -> None:
    rows = read_utterances(path)
    truths = [_categories(r["category"]) for r in rows]
    categories = sorted(set().union(*truths) - CALL_LEVEL)
    predictions: dict[str, list[set[str]]] = {mode: [] for mode in MODES}
    for row in rows:
        language = row["language"].strip()
        pack = load_pack(PACK_OF[language])
        segment = Segment(0, 0.0, max(len(row["text"]) / 4.0, 1.0), row["speaker"].strip(), row["text"].strip())  # type: ignore[arg-type]
        transcript = Transcript((segment,), language, segment.end)
        predicted = predict(pack, scorer, _noon_call(language), transcript)
        for mode in MODES:
            predictions[mode].append(set(predicted[mode].get(0, set())) & set(categories))
    counts = defaultdict(int)
    for row in rows:
        counts[(row["language"].strip(), row["speaker"].strip())] += 1
    print(f"{path}: {len(rows)} utterances (" + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(counts.items()))
          + f"), model {scorer.version}")
    print(table(truths, predictions, categories))
    if show_errors:
        for mode in ("rules+model",):
            for row, truth, predicted in zip(rows, truths, predictions[mode]):
                if truth != predicted:
                    print(f"  {mode}: {row['id']}: truth {sorted(truth) or ['none']} predicted "
                          f"{sorted(predicted) or ['none']}: {row['text']}")


def evaluate_calls(calls_dir: Path, scorer: ModelScorer) -> None:
    """Agent turns of labelled call scripts, scored whole-call with their sidecar metadata."""
    import json

    from qc.models.training import load_reference_calls

    truths: list[set[str]] = []
    predictions: dict[str, list[set[str]]] = {mode: [] for mode in MODES}
    for reference in load_reference_calls(calls_dir):
        call = Call.from_dict(json.loads((calls_dir / f"{reference.call_id}.json").read_text(encoding="utf-8")))
        predicted = predict(load_pack(PACK_OF[reference.language]), scorer, call, reference.transcript)
        for segment in reference.transcript.segments:
            if segment.speaker != "agent":
                continue
            truths.append(reference.violations.get(segment.id, set()) - CALL_LEVEL)
            for mode in MODES:
                predictions[mode].append(set(predicted[mode].get(segment.id, set())))
    categories = sorted(set().union(*truths))
    for mode in MODES:  # only the labelled categories are compared
        predictions[mode] = [p & set(categories) for p in predictions[mode]]
    print(f"{calls_dir}: {len(truths)} agent turns, model {scorer.version}")
    print(table(truths, predictions, categories))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("utterances", nargs="?", type=Path, help="utterance TSV (id, language, speaker, category, text, note)")
    parser.add_argument("--calls", type=Path, help="a directory of labelled call scripts (samples/calls layout)")
    parser.add_argument("--model", type=Path, help="a joblib model artefact (default: train the seed model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--errors", action="store_true", help="list every utterance the combination gets wrong")
    args = parser.parse_args()
    if args.utterances is None and args.calls is None:
        parser.error("give an utterance TSV or --calls")
    if args.model:
        import joblib

        payload = joblib.load(args.model)
        scorer = ModelScorer(payload["model"], versions={"violation": payload.get("version", args.model.name)})
    else:
        from qc.models.training import TrainingOptions, train_violation

        scorer = ModelScorer(train_violation(TrainingOptions(seed=args.seed)).model,
                             versions={"violation": f"seed-{args.seed}"})
    if args.utterances is not None:
        evaluate_utterances(args.utterances, scorer, args.errors)
    if args.calls is not None:
        evaluate_calls(args.calls, scorer)


if __name__ == "__main__":
    main()
