"""Detection quality per violation category: phrase rules alone, semantic rules alone, the model alone, and all of
them as the nightly scores, on labelled utterances and on labelled call scripts.

    python bench/detection_eval.py UTTERANCES.tsv            # columns id, language, speaker, category, text, note
    python bench/detection_eval.py --calls samples/calls     # the labelled call scripts, turn by turn
    python bench/detection_eval.py --audio DIR               # the calls' audio through the nightly's stages

Every utterance is scored as `callqc score` scores a short transcript (qc.rules.calibration.LabelledUtterance): the
pack of its language (zh → cn_collection, en → us_fdcpa), a noon call, the speaker as given. Optional columns give the context the
pipeline would have: `callee_relation` (debtor / third_party / unknown: unknown is inferred from the text, as
the nightly does) and `previous` (the callee's turn just before, put in the transcript as a customer turn).
The pipeline judges agent turns only, so a customer line is a true negative unless something fires on it.
`category` may list several categories (comma-separated) or `none`. Only the categories that occur in the file
are scored; call-level categories (missing self-identification, mini-Miranda, calling hours, call frequency)
cannot be judged on one utterance and are not predicted.

--audio: each `<call>.flac` with its sidecar, script and labels (samples/calls layout) is transcribed as the
nightly transcribes it (asr.transcribe.transcribe_audio, the configured model and options, the channel map) and
scored with what the nightly scores with (the pack with the configured agency names, the model's scores,
acoustic features). A labelled violation is found when a finding of its category overlaps its script turn in
time (call-level categories: anywhere in the call); a finding is right when it finds a labelled violation.
Printed: label recall per category, finding precision, findings on compliant calls.

The model is the seed model (`callqc models train --seed 0`, what the nightly promotes by default) unless
--model gives a joblib artefact. Columns: "rules" = phrase, regex and boolean rules (US-02 and US-08 include their
semantic building blocks), "semantic" = the reported semantic rules, "model" = the model_score rules
(calibrated thresholds), "all" = what the nightly reports.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path
from typing import Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc.domain import Call, Transcript  # noqa: E402
from qc.models.scorer import ModelScorer  # noqa: E402
from qc.rules import load_pack  # noqa: E402
from qc.rules.calibration import UtteranceFileError, read_utterances  # noqa: E402
from qc.rules.pack import RulePack  # noqa: E402
from qc.scoring import judged_call, score_call  # noqa: E402

PACK_OF = {"zh": "cn_collection", "en": "us_fdcpa"}
CALL_LEVEL = {"missing_self_identification", "mini_miranda", "calling_hours", "call_frequency"}
MODES = ("rules", "semantic", "model", "all")  # phrase/regex rules; semantic rules; model rules; as the nightly


def _kind(rule) -> str:
    return {"model_score": "model", "semantic": "semantic"}.get(rule.type_name, "rules")


def predict(pack: RulePack, scorer: ModelScorer, call: Call, transcript: Transcript) -> dict[str, dict[int, set[str]]]:
    """Per mode: segment id → predicted categories (call-level categories left out). "all" is what the nightly
    reports (every rule and the model, repeats merged); the others are one kind of rule alone."""
    model_scores = scorer.segment_scores(transcript, callee_relation=call.callee_relation)
    result: dict[str, dict[int, set[str]]] = {mode: defaultdict(set) for mode in MODES}
    context = pack.context(judged_call(call, transcript), transcript, model_scores=model_scores)
    alone = [(_kind(rule), finding) for rule in pack.reported_rules for finding in context.findings_of(rule.id)]
    nightly = [("all", finding) for finding in score_call(call, transcript, pack, model_scores=model_scores).findings]
    for mode, finding in alone + nightly:
        if finding.category not in CALL_LEVEL:
            for segment_id in finding.segment_ids:
                result[mode][segment_id].add(finding.category)
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
    try:
        rows = read_utterances(path)
    except UtteranceFileError as error:
        raise SystemExit(str(error))
    truths = [set(row.categories) for row in rows]
    categories = sorted(set().union(*truths) - CALL_LEVEL)
    predictions: dict[str, list[set[str]]] = {mode: [] for mode in MODES}
    packs = {language: load_pack(name) for language, name in PACK_OF.items()}
    for row in rows:
        call, transcript, judged = row.as_call()
        predicted = predict(packs[row.language], scorer, call, transcript)
        for mode in MODES:
            predictions[mode].append(set(predicted[mode].get(judged, set())) & set(categories))
    counts: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        counts[(row.language, row.speaker)] += 1
    print(f"{path}: {len(rows)} utterances (" + ", ".join(f"{k[0]}/{k[1]} {v}" for k, v in sorted(counts.items()))
          + f"), model {scorer.version}")
    print(table(truths, predictions, categories))
    if show_errors:
        for row, truth, predicted in zip(rows, truths, predictions["all"]):
            if truth != predicted:
                print(f"  {row.id}: truth {sorted(truth) or ['none']} predicted {sorted(predicted) or ['none']}: {row.text}")


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


def _on_turn(finding, turn: int | None, turns: Sequence[tuple[float, float]]) -> bool:
    """A finding lies on a labelled script turn when their times overlap (call-level labels: anywhere)."""
    if turn is None:
        return True
    start, end = turns[turn]
    return finding.start is not None and finding.end is not None and min(end, finding.end) > max(start, finding.start)


def evaluate_audio(calls_dir: Path, scorer: ModelScorer) -> None:
    """The calls' audio through the nightly's stages: transcription, then rules + model + acoustic rules."""
    import json

    from asr.transcribe import transcribe_audio
    from callqc.pipeline import rule_pack, transcribe_options
    from callqc.settings import load_settings
    from tests.labelled_calls import script_turns

    settings = load_settings()
    found: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # category → [found, labelled]
    right = total = compliant_findings = compliant_calls = 0
    print(f"{calls_dir}: the nightly's stages on audio, model {scorer.version}")
    for flac in sorted(calls_dir.glob("*.flac")):
        sidecar = json.loads(flac.with_suffix(".json").read_text(encoding="utf-8"))
        labels = json.loads(flac.with_name(f"{flac.stem}.labels.json").read_text(encoding="utf-8"))
        turns = [(turn.start, turn.end) for turn in script_turns(calls_dir, flac.stem)]
        call = Call.from_dict(sidecar)
        code = settings.agency_code(call.agency) or ""
        result = transcribe_audio(flac, transcribe_options(settings, code), channel_map=sidecar.get("channels") or None, name=flac.name)
        pack = rule_pack(settings, settings.rule_pack_for(code))
        model_scores = scorer.segment_scores(result.transcript, callee_relation=call.callee_relation)
        findings = score_call(call, result.transcript, pack, features=result.features,
                              model_scores=model_scores).findings
        matched: set[int] = set()  # findings that find a labelled violation
        for label in labels["violations"]:
            found[label["category"]][1] += 1
            hits = [number for number, finding in enumerate(findings)
                    if finding.category == label["category"] and _on_turn(finding, label["turn"], turns)]
            matched.update(hits)
            found[label["category"]][0] += bool(hits)
        right += len(matched)
        total += len(findings)
        if labels["compliant"]:
            compliant_calls += 1
            compliant_findings += len(findings)
        wrong = [f"{f.rule_id}({f.category})" for n, f in enumerate(findings) if n not in matched]
        categories = [v["category"] for v in labels["violations"]]
        print(f"  {flac.stem}: {len(findings)} findings, {len(matched)} right; labelled {categories or ['none']}; "
              f"other findings {wrong or ['none']}")
    print(f"{'category':<30}{'found / labelled':>18}")
    for category in sorted(found):
        print(f"{category:<30}{found[category][0]:>10} / {found[category][1]}")
    labelled = sum(v[1] for v in found.values())
    print(f"label recall {sum(v[0] for v in found.values())} / {labelled}; finding precision {right} / {total}; "
          f"findings on the {compliant_calls} compliant calls: {compliant_findings}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("utterances", nargs="?", type=Path, help="utterance TSV (id, language, speaker, category, text, note)")
    parser.add_argument("--calls", type=Path, help="a directory of labelled call scripts (samples/calls layout)")
    parser.add_argument("--audio", type=Path, help="a directory of labelled calls with audio (samples/calls layout)")
    parser.add_argument("--model", type=Path, help="a joblib model artefact (default: train the seed model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--errors", action="store_true", help="list every utterance the combination gets wrong")
    args = parser.parse_args()
    if args.utterances is None and args.calls is None and args.audio is None:
        parser.error("give an utterance TSV, --calls or --audio")
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
    if args.audio is not None:
        evaluate_audio(args.audio, scorer)


if __name__ == "__main__":
    main()
