"""How the model_score thresholds would have moved, and how well they would have carried to the next author, had
`callqc models calibrate` picked them with a smoothed F1 (qc.models.training.calibrate_thresholds, `neighbours`).

    python bench/threshold_replay.py                 # every stored version of out_of_author.tsv in git history
    python bench/threshold_replay.py --neighbours 0 1 2

Each commit that changed configs/rules/calibration/models/out_of_author.tsv holds the out-of-author scores of the
authors known then. For each pair of consecutive versions, thresholds are picked per language and category on the
older one (its stored rows only: the call turns scored by the seed model are left out, the seed model of that day
is not stored) and applied to the rows of the authors that the newer one adds: scores no model trained on their
own text produced, like a blind set's. Printed per smoothing: macro precision / recall / F1 over the twelve
(language, category) pairs, pooled over the transitions, and how many times a threshold moved between versions.
Needs git and the repository's history.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qc.models.text import VIOLATION_LABELS  # noqa: E402
from qc.models.training import (  # noqa: E402
    MIN_CALIBRATED_PRECISION,
    _binary_metrics,
    calibrate_thresholds,
    out_of_author_set,
    read_out_of_author_scores,
)
from qc.rules.calibration import OUT_OF_AUTHOR_FILE  # noqa: E402

LANGUAGES = ("zh", "en")


def stored_versions() -> list[tuple[str, list]]:
    """(commit, rows) of every committed version of the out-of-author file, oldest first."""
    relative = OUT_OF_AUTHOR_FILE.relative_to(ROOT).as_posix()
    commits = subprocess.run(["git", "log", "--reverse", "--format=%h", "--", relative], cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
    versions = []
    with tempfile.TemporaryDirectory() as folder:
        for commit in commits:
            path = Path(folder) / f"{commit}.tsv"
            path.write_text(subprocess.run(["git", "show", f"{commit}:{relative}"], cwd=ROOT, check=True,
                                           capture_output=True, text=True).stdout, encoding="utf-8")
            versions.append((commit, read_out_of_author_scores(path)))
    return versions


def replay(versions, neighbours: int) -> tuple[float, float, float, int]:
    wanted: dict[tuple[str, str], list[np.ndarray]] = {(language, label): [] for language in LANGUAGES
                                                       for label in VIOLATION_LABELS}
    fired: dict[tuple[str, str], list[np.ndarray]] = {key: [] for key in wanted}
    history: dict[tuple[str, str], list[float]] = {key: [] for key in wanted}
    for (_, older), (_, newer) in zip(versions, versions[1:]):
        known = {row.author for row in older}
        new_rows = [row for row in newer if row.author not in known]
        for language in LANGUAGES:
            scores, truth = out_of_author_set(older, language)
            picked = calibrate_thresholds(scores, truth, VIOLATION_LABELS, MIN_CALIBRATED_PRECISION,
                                          neighbours=neighbours)
            new_scores, new_truth = out_of_author_set(new_rows, language)
            for column, label in enumerate(VIOLATION_LABELS):
                threshold = picked[label]["threshold"]
                history[(language, label)].append(threshold)
                wanted[(language, label)].append(new_truth[:, column])
                fired[(language, label)].append(new_scores[:, column] >= threshold)
    pooled = [_binary_metrics(np.concatenate(wanted[key]), np.concatenate(fired[key])) for key in wanted]
    moves = sum(abs(a - b) > 1e-9 for values in history.values() for a, b in zip(values, values[1:]))
    return (float(np.mean([m["precision"] for m in pooled])), float(np.mean([m["recall"] for m in pooled])),
            float(np.mean([m["f1"] for m in pooled])), moves)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--neighbours", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    versions = stored_versions()
    if len(versions) < 2:
        print("fewer than two stored versions of the out-of-author scores: nothing to replay", file=sys.stderr)
        return 1
    print(f"{len(versions)} stored versions ({versions[0][0]} … {versions[-1][0]}), {len(versions) - 1} transitions; "
          f"precision floor {MIN_CALIBRATED_PRECISION}")
    print(f"{'neighbours':>10}{'macro P':>9}{'macro R':>9}{'macro F1':>10}{'moves':>7}")
    for n in args.neighbours:
        precision, recall, f1, moves = replay(versions, n)
        print(f"{n:>10}{precision:>9.3f}{recall:>9.3f}{f1:>10.3f}{moves:>7}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
