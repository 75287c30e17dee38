"""Rules-engine throughput: score 10,000 synthetic ~40-segment Mandarin transcripts with the cn_collection pack in
ONE process (= one core) and print calls/second/core, against a naive peer in the same run (the same
normalisation, then a Python `in` test per phrase per segment — what the Aho-Corasick automaton replaces).

The engine figure is the pack without its semantic rules (they embed every agent turn: a different cost). Those
are timed apart on --semantic-calls calls: the whole pack against the pack without them, per call.

    python bench/rules_bench.py [--calls 10000] [--segments 40] [--peer-calls 1000] [--semantic-calls 500]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qc.textnorm import normalize_lines  # noqa: E402
from qc.domain import Call, Segment, Transcript  # noqa: E402
import yaml  # noqa: E402

from qc.rules import load_pack  # noqa: E402
from qc.rules.pack import RulePack, resolve_pack_path  # noqa: E402
from qc.scoring import score_call  # noqa: E402
from tests.rules_fixtures import load_shared_call, shared_call_ids  # noqa: E402

DIGITS = "零一二三四五六七八九"


def _amount(rng: random.Random) -> str:
    value = rng.randint(1000, 99999)
    return str(value) if rng.random() < 0.5 else "".join(DIGITS[int(d)] for d in str(value))


def make_transcripts(count: int, segments: int, seed: int = 7) -> list[tuple[Call, Transcript]]:
    """Turns of the compliant shared calls (opening with a self-identification turn), with random amounts /
    staff numbers appended so no two transcripts are equal; 1 call in 10 gets one violating agent turn."""
    rng = random.Random(seed)
    turns = {"agent": [], "customer": []}
    openings, violations = [], []
    for call_id in shared_call_ids():
        _, transcript, labels = load_shared_call(call_id)
        if labels["compliant"]:
            openings.append(transcript.segments[0].text)
            for segment in transcript.segments[1:]:
                turns[segment.speaker].append(segment.text)
        else:
            violations += [transcript.segments[v["turn"]].text for v in labels["violations"] if v["turn"] is not None]
    base = datetime(2026, 11, 3, 9, 0, tzinfo=timezone(timedelta(hours=8)))
    result = []
    for n in range(count):
        clock, built = 0.0, []
        for i in range(segments):
            speaker = "agent" if i % 2 == 0 else "customer"
            text = rng.choice(openings) if i == 0 else rng.choice(turns[speaker])
            if i == 20 and n % 10 == 0:  # an agent turn
                text = rng.choice(violations)
            text += f"，{rng.choice(['欠款', '工号', '尾号', '大概'])}{_amount(rng)}"
            duration = len(text) / 4.5
            built.append(Segment(id=i, start=round(clock, 2), end=round(clock + duration, 2), speaker=speaker, text=text))
            clock += duration + 0.6
        call = Call(call_id=f"bench{n}", agency="a", agent_id="x", account_id=f"ACC{n % 500}",
                    started_at=base + timedelta(minutes=n % 600), callee_number="138****0001",  # 09:00–19:00
                    callee_relation="debtor")
        result.append((call, Transcript(segments=tuple(built), language="zh", duration=clock)))
    return result


def without_semantic_rules(name: str, folder: Path) -> RulePack:
    """The shipped pack with its semantic rules left out (a copy of its YAML)."""
    data = yaml.safe_load(resolve_pack_path(name).read_text(encoding="utf-8"))
    data["rules"] = [rule for rule in data["rules"] if rule.get("type") != "semantic"]
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_pack(path)


def cpu_seconds(pack: RulePack, calls) -> tuple[float, int, int]:
    """CPU time of this process to score the calls: "per core", and not skewed by other jobs on the machine."""
    started = time.process_time()
    flagged = findings = 0
    for call, transcript in calls:
        result = score_call(call, transcript, pack)
        flagged += result.flagged
        findings += len(result.findings)
    return time.process_time() - started, findings, flagged


def naive_peer(pack, calls) -> int:
    """Per segment, per phrase `in` test on the normalised text (phrase lists only; no negation etc.)."""
    phrases = []
    for rule in pack.rules:
        config = rule.config
        for name in ("phrases", "a", "b"):
            for group in getattr(config, name, []) or []:
                phrases.extend([group] if isinstance(group, str) else group)
    phrases = [normalize_lines([p])[0] for p in phrases]
    hits = 0
    for _, transcript in calls:
        for line in normalize_lines([s.text for s in transcript.segments]):
            for phrase in phrases:
                if phrase in line:
                    hits += 1
    return hits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=10_000)
    parser.add_argument("--segments", type=int, default=40)
    parser.add_argument("--peer-calls", type=int, default=1_000)
    parser.add_argument("--semantic-calls", type=int, default=500)
    args = parser.parse_args()

    whole = load_pack("cn_collection")
    pack = without_semantic_rules("cn_collection", Path(tempfile.mkdtemp()))
    calls = make_transcripts(args.calls, args.segments)
    score_call(*calls[0], pack)  # warm caches of the pack (lazy tables), not of the transcripts
    engine_s, findings, flagged = cpu_seconds(pack, calls)
    engine_rate = len(calls) / engine_s

    started = time.process_time()
    for _, transcript in calls[: args.peer_calls]:
        normalize_lines([s.text for s in transcript.segments])
    normalise_rate = args.peer_calls / (time.process_time() - started)

    peer_calls = calls[: args.peer_calls]
    started = time.process_time()
    naive_peer(pack, peer_calls)
    peer_rate = len(peer_calls) / (time.process_time() - started)

    phrase_count = len(pack.indexes["third_party"].phrases)
    print(f"pack {pack.name} {pack.version}: {len(pack.rules)} rules, {phrase_count} normalised phrases in one automaton")
    print(f"{len(calls)} calls x {args.segments} segments: {engine_s:.2f} s CPU, {findings} findings, {flagged} flagged")
    print(f"engine (Aho-Corasick, all rules but the semantic ones):  {engine_rate:8.0f} calls/s/core")
    print(f"peer (per-phrase `in` loop, phrase matching only, {len(peer_calls)} calls): {peer_rate:8.0f} calls/s/core")
    print(f"text normalisation alone (lower bound of any matcher here):  {normalise_rate:8.0f} calls/s/core")
    print(f"ratio engine / peer: {engine_rate / peer_rate:.2f}x   target >= 2000 calls/s/core: "
          f"{'met' if engine_rate >= 2000 else 'NOT met'}")

    sample = make_transcripts(args.semantic_calls, args.segments, seed=11)  # texts not embedded yet
    score_call(*sample[0], whole)
    with_semantic, _, _ = cpu_seconds(whole, sample[1:])
    without, _, _ = cpu_seconds(pack, sample[1:])
    semantic = sum(1 for rule in whole.rules if rule.type_name == "semantic")
    print(f"semantic rules ({semantic}, every agent turn embedded, {len(sample) - 1} calls): "
          f"{1000 * (with_semantic - without) / (len(sample) - 1):.1f} ms/call CPU on top of "
          f"{1000 * without / (len(sample) - 1):.2f} ms/call; whole pack {(len(sample) - 1) / with_semantic:.0f} calls/s/core")


if __name__ == "__main__":
    main()
