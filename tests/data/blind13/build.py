#!/usr/bin/env python3
"""Build utterances.tsv for batch b13 from the hand-written batch files.

Standard library only. Validates every batch line, shuffles rows within each
language with a fixed seed, assigns ids, writes utterances.tsv, re-reads it and
prints counts and mix tables (Markdown) for the README.
"""
import collections
import glob
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT = os.path.join(HERE, "utterances.tsv")
SEED = 1313  # one fresh random.Random(SEED) per language, zh shuffled first, then en

COLUMNS = ["id", "language", "speaker", "category", "callee_relation", "previous", "text", "note"]
COMMON = ["threat", "insult", "impersonation", "false_consequence",
          "third_party_disclosure", "pressure"]
CATS = {
    "zh": COMMON + ["missing_self_identification"],
    "en": COMMON + ["mini_miranda", "cease_ignored", "attorney_represented",
                    "third_party_collection"],
}
RELATIONS = {"debtor", "third_party", "unknown"}
SPEAKERS = {"agent", "customer"}
CJK = re.compile(r"[\u3400-\u9fff]")
PHONE = re.compile(r"\d{3}-\d{4}")
BAD_CHARS = ["\t", "\n", "\r", '"']


def fail(errors):
    for e in errors:
        print("ERROR:", e, file=sys.stderr)
    sys.exit(1)


def read_batches():
    rows, errors = [], []
    files = sorted(glob.glob(os.path.join(BATCH_DIR, "*.txt")))
    if not files:
        fail(["no batch files in " + BATCH_DIR])
    for path in files:
        name = os.path.basename(path)
        lang = name.split("_")[0]
        if lang not in CATS:
            errors.append(f"{name}: file name must start with zh_ or en_")
            continue
        with open(path, encoding="utf-8") as fh:
            for ln, raw in enumerate(fh, 1):
                line = raw.rstrip("\n")
                where = f"{name}:{ln}"
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                parts = line.split("|")
                if len(parts) != 6:
                    errors.append(f"{where}: expected 6 fields, got {len(parts)}")
                    continue
                speaker, cat, rel, prev, text, note = [p.strip() for p in parts]
                for field in parts:
                    for ch in BAD_CHARS:
                        if ch in field:
                            errors.append(f"{where}: forbidden character {ch!r}")
                if speaker not in SPEAKERS:
                    errors.append(f"{where}: bad speaker {speaker!r}")
                if cat != "none" and cat not in CATS[lang]:
                    errors.append(f"{where}: category {cat!r} not allowed for {lang}")
                if rel not in RELATIONS:
                    errors.append(f"{where}: bad callee_relation {rel!r}")
                if not text:
                    errors.append(f"{where}: empty text")
                if not note:
                    errors.append(f"{where}: empty note")
                if speaker == "customer":
                    if cat != "none":
                        errors.append(f"{where}: customer rows must be none")
                    if prev:
                        errors.append(f"{where}: customer rows must have empty previous")
                if lang == "zh" and not CJK.search(text):
                    errors.append(f"{where}: zh text without Chinese characters")
                if lang == "en" and (CJK.search(text) or CJK.search(prev)):
                    errors.append(f"{where}: en row contains Chinese characters")
                if cat in ("mini_miranda", "cease_ignored", "attorney_represented") and not prev:
                    errors.append(f"{where}: {cat} needs its trigger in previous")
                if cat == "pressure" and rel != "debtor":
                    errors.append(f"{where}: pressure is debtor-only")
                if cat in ("third_party_disclosure", "third_party_collection") and rel == "debtor":
                    errors.append(f"{where}: {cat} cannot have callee_relation debtor")
                if cat == "missing_self_identification" and rel != "unknown":
                    errors.append(f"{where}: missing_self_identification rows are openings (unknown)")
                if "asr" in note.lower() and not note.startswith("asr-garbled:"):
                    errors.append(f"{where}: ASR notes must start with asr-garbled:")
                for num in PHONE.findall(prev + " " + text):
                    if not re.fullmatch(r"555-01\d\d", num):
                        errors.append(f"{where}: phone number {num} not 555-01xx")
                rows.append({
                    "language": lang, "speaker": speaker, "category": cat,
                    "callee_relation": rel, "previous": prev, "text": text,
                    "note": note, "_src": where,
                })
    seen = {}
    for r in rows:
        key = (r["language"], r["previous"], r["text"])
        if key in seen:
            errors.append(f"{r['_src']}: duplicate of {seen[key]}")
        seen[key] = r["_src"]
    if errors:
        fail(errors)
    return rows


def check_mix(rows):
    errors, warnings = [], []
    for lang in ("zh", "en"):
        lr = [r for r in rows if r["language"] == lang]
        n = len(lr)
        c = collections.Counter(r["category"] for r in lr)
        for cat in CATS[lang]:
            if not 15 <= c[cat] <= 21:
                errors.append(f"{lang}: {cat} has {c[cat]} rows, need 15-21")
        share = {
            "none": c["none"] / n,
            "asr": sum(r["note"].startswith("asr-garbled:") for r in lr) / n,
            "customer": sum(r["speaker"] == "customer" for r in lr) / n,
        }
        for key, (lo, hi) in {"none": (0.35, 0.45), "asr": (0.12, 0.18),
                              "customer": (0.06, 0.10)}.items():
            if not lo <= share[key] <= hi:
                warnings.append(f"{lang}: {key} share {share[key]:.1%} outside {lo:.0%}-{hi:.0%}")
        if not 230 <= n <= 270:
            warnings.append(f"{lang}: {n} rows, target about 250")
    if len(rows) < 480:
        errors.append(f"only {len(rows)} rows in all, need at least 480")
    for w in warnings:
        print("WARNING:", w, file=sys.stderr)
    if errors:
        fail(errors)


def build(rows):
    out = []
    for lang in ("zh", "en"):
        lr = [r for r in rows if r["language"] == lang]  # file order, line order
        random.Random(SEED).shuffle(lr)
        for i, r in enumerate(lr, 1):
            r = dict(r)
            r["id"] = f"{lang}-{i:03d}"
            out.append(r)
    with open(OUT, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        for r in out:
            fh.write("\t".join(r[c] for c in COLUMNS) + "\n")
    return out


def reread():
    with open(OUT, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    assert lines[-1] == "", "file must end with a newline"
    lines = lines[:-1]
    header = lines[0].split("\t")
    if header != COLUMNS:
        fail([f"bad header {header}"])
    recs = []
    for i, line in enumerate(lines[1:], 2):
        f = line.split("\t")
        if len(f) != len(COLUMNS):
            fail([f"utterances.tsv line {i}: {len(f)} fields"])
        recs.append(dict(zip(COLUMNS, f)))
    ids = [r["id"] for r in recs]
    if len(set(ids)) != len(ids):
        fail(["duplicate ids in utterances.tsv"])
    for r in recs:
        if not re.fullmatch(rf"{r['language']}-\d{{3}}", r["id"]):
            fail([f"bad id {r['id']}"])
    return recs


def tables(recs):
    langs = ("zh", "en")
    allcats = CATS["zh"][:6] + ["missing_self_identification"] + CATS["en"][6:] + ["none"]
    print("\n### Counts\n")
    print("| category | zh | en | total |")
    print("|---|---|---|---|")
    for cat in allcats:
        z = sum(r["language"] == "zh" and r["category"] == cat for r in recs)
        e = sum(r["language"] == "en" and r["category"] == cat for r in recs)
        zs = str(z) if cat in CATS["zh"] or cat == "none" else "-"
        es = str(e) if cat in CATS["en"] or cat == "none" else "-"
        print(f"| {cat} | {zs} | {es} | {z + e} |")
    nz = sum(r["language"] == "zh" for r in recs)
    ne = sum(r["language"] == "en" for r in recs)
    print(f"| **total** | {nz} | {ne} | {nz + ne} |")

    print("\n### Mix\n")
    print("| measure | zh | en | total |")
    print("|---|---|---|---|")

    def row(label, pred):
        vals = []
        for lang in langs:
            lr = [r for r in recs if r["language"] == lang]
            k = sum(pred(r) for r in lr)
            vals.append(f"{k} ({k / len(lr):.1%})")
        k = sum(pred(r) for r in recs)
        vals.append(f"{k} ({k / len(recs):.1%})")
        print(f"| {label} | " + " | ".join(vals) + " |")

    row("none", lambda r: r["category"] == "none")
    row("violation", lambda r: r["category"] != "none")
    row("agent none (hard negatives and compliant lines)",
        lambda r: r["category"] == "none" and r["speaker"] == "agent")
    row("customer rows (all none)", lambda r: r["speaker"] == "customer")
    row("ASR-garbled", lambda r: r["note"].startswith("asr-garbled:"))
    row("ASR-garbled violation", lambda r: r["note"].startswith("asr-garbled:") and r["category"] != "none")
    row("previous non-empty", lambda r: r["previous"] != "")
    row("callee debtor", lambda r: r["callee_relation"] == "debtor")
    row("callee third_party", lambda r: r["callee_relation"] == "third_party")
    row("callee unknown", lambda r: r["callee_relation"] == "unknown")


def main():
    rows = read_batches()
    check_mix(rows)
    build(rows)
    recs = reread()
    if len(recs) != len(rows):
        fail([f"re-read {len(recs)} rows, wrote {len(rows)}"])
    print(f"OK: {len(recs)} rows written to {OUT} (seed {SEED})")
    tables(recs)


if __name__ == "__main__":
    main()
