"""Compliance-term recall: of the words the rule packs depend on that a call's script says, how many come back in
the transcript — exactly after normalisation, and by near sound (the phrase rules' `sound_alike` matching).

    python bench/term_recall.py [CALLS_DIR ...] [--prompt TEXT] [--hotwords TEXT]

Each stereo call (samples/calls layout: <call>.flac, .json sidecar, .segments.tsv script) is transcribed as the
nightly transcribes it (asr.transcribe.transcribe_audio, channel map from the sidecar). A term counts once per
script turn that says it; it is found when the transcript segments of the same speaker that overlap that turn in
time say it. Terms: TERMS below, the call's agency name (sidecar), and the amounts and staff numbers the script
says (digits after normalisation). Also printed: CER per channel, and with --prompt / --hotwords the same for a
decoder fed that vocabulary, so the effect of a vocabulary is read off one run.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from asr.transcribe import TranscribeOptions, transcribe_audio  # noqa: E402
from qc.rules.sounds import sound_hits, sound_pattern, sound_text  # noqa: E402
from qc.textnorm import normalize_for_matching  # noqa: E402
from tests.asr_fixtures import edit_distance  # noqa: E402
from tests.labelled_calls import script_turns  # noqa: E402

TERMS = ("工号", "录音", "征信", "起诉", "律师", "单位", "家人", "逾期", "还款", "欠款", "分期", "协商", "减免",
         "停息挂账", "还清", "否则", "法院", "公安", "银行", "本人", "身份证")
NUMBER = re.compile(r"[0-9]{3,}")


def _plain(text: str) -> str:
    return "".join(ch for ch in normalize_for_matching(text, "zh") if ch.isalnum())


def measure(calls: list[Path], options: TranscribeOptions, label: str) -> None:
    said: dict[str, int] = defaultdict(int)
    exact: dict[str, int] = defaultdict(int)
    near: dict[str, int] = defaultdict(int)
    cers = []
    started = time.perf_counter()
    for flac in calls:
        sidecar = json.loads(flac.with_suffix(".json").read_text(encoding="utf-8"))
        channels = sidecar.get("channels") or {"left": "agent", "right": "customer"}
        result = transcribe_audio(flac, options, channel_map=channels, name=flac.name)
        turns = script_turns(flac.parent, flac.stem)
        terms = TERMS + ((sidecar["agency"],) if sidecar.get("agency") else ())
        for speaker in ("agent", "customer"):
            reference = "".join(_plain(t.text) for t in turns if t.role == speaker)
            hypothesis = "".join(_plain(s.text) for s in result.transcript.segments if s.speaker == speaker)
            cers.append(edit_distance(reference, hypothesis) / max(len(reference), 1))
        for turn in turns:
            script = normalize_for_matching(turn.text, "zh")
            heard = "，".join(s.text for s in result.transcript.segments
                             if s.speaker == turn.role and min(turn.end, s.end) - max(turn.start, s.start) > 0)
            heard_norm = normalize_for_matching(heard, "zh")
            wanted = [t for t in terms if normalize_for_matching(t, "zh") in script]
            wanted += [f"#{n}" for n in NUMBER.findall(script)]
            for term in wanted:
                key = "amounts / staff numbers" if term.startswith("#") else term
                said[key] += 1
                target = term[1:] if term.startswith("#") else normalize_for_matching(term, "zh")
                if target in heard_norm:
                    exact[key] += 1
                    near[key] += 1
                    continue
                pattern = None if term.startswith("#") else sound_pattern([target])
                if pattern is not None and sound_hits(pattern, sound_text(heard_norm)):
                    near[key] += 1
    elapsed = time.perf_counter() - started
    total = sum(said.values())
    print(f"\n{label}: {len(calls)} calls, {elapsed:.1f} s; channel CER mean {sum(cers) / len(cers):.3f} "
          f"(min {min(cers):.3f}, max {max(cers):.3f})")
    print("| term | said | found exactly | found by near sound |")
    print("|---|---|---|---|")
    for key in sorted(said, key=lambda k: -said[k]):
        print(f"| {key} | {said[key]} | {exact[key]} | {near[key]} |")
    print(f"| **all** | {total} | {sum(exact.values())} ({sum(exact.values()) / total:.3f}) "
          f"| {sum(near.values())} ({sum(near.values()) / total:.3f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=[REPO_ROOT / "samples" / "calls"])
    parser.add_argument("--prompt", help="an initial prompt to compare with the default one")
    parser.add_argument("--hotwords", help="faster-whisper hotwords to compare with none")
    args = parser.parse_args()
    calls = sorted(p for d in args.dirs for p in d.glob("*.flac")
                   if json.loads(p.with_suffix(".json").read_text(encoding="utf-8")).get("agency", "").isascii() is False)
    base = TranscribeOptions(language="zh")
    measure(calls, base, "default decoding (greedy, prompt 以下是普通话的句子。)")
    if args.prompt is not None:
        measure(calls, replace(base, initial_prompt=args.prompt), f"initial prompt {args.prompt!r}")
    if args.hotwords is not None:
        measure(calls, replace(base, hotwords=args.hotwords), f"hotwords {args.hotwords!r}")


if __name__ == "__main__":
    main()
