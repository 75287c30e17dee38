#!/usr/bin/env python3
"""Validate hand-written batches and build utterances.tsv (standard library only).

Batch format (out/batches/<lang>_NN.txt), one row per line, '#' lines are comments:
    speaker|category|callee_relation|previous|text|note
"""
import collections
import csv
import glob
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT = os.path.join(HERE, "utterances.tsv")
SEEDS = {"zh": 20250611, "en": 20250612}

COMMON = ["threat", "insult", "impersonation", "false_consequence",
          "third_party_disclosure", "pressure"]
CATS = {
    "zh": COMMON + ["missing_self_identification", "none"],
    "en": COMMON + ["mini_miranda", "cease_ignored", "attorney_represented",
                    "third_party_collection", "none"],
}
SPEAKERS = {"agent", "customer"}
RELATIONS = {"debtor", "third_party", "unknown"}
PREV_REQUIRED = {"mini_miranda", "cease_ignored", "attorney_represented"}
HEADER = ["id", "language", "speaker", "category", "callee_relation",
          "previous", "text", "note"]
BAD_CHARS = ("\t", "\n", "\r", '"', "\u201c", "\u201d")
HAN = re.compile(r"[\u4e00-\u9fff]")


def fail(msg):
    errors.append(msg)


errors = []
rows = {"zh": [], "en": []}
seen_text = collections.Counter()

for path in sorted(glob.glob(os.path.join(BATCH_DIR, "*.txt"))):
    lang = os.path.basename(path).split("_")[0]
    if lang not in CATS:
        fail(f"{path}: unknown language prefix")
        continue
    with open(path, encoding="utf-8") as fh:
        for ln, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{os.path.basename(path)}:{ln}"
            parts = line.split("|")
            if len(parts) != 6:
                fail(f"{where}: expected 6 fields, got {len(parts)}")
                continue
            speaker, cat, rel, prev, text, note = (p.strip() for p in parts)
            if speaker not in SPEAKERS:
                fail(f"{where}: bad speaker {speaker!r}")
            if cat not in CATS[lang]:
                fail(f"{where}: category {cat!r} not allowed for {lang}")
            if rel not in RELATIONS:
                fail(f"{where}: bad callee_relation {rel!r}")
            if not text:
                fail(f"{where}: empty text")
            if not note:
                fail(f"{where}: empty note")
            for name, val in (("previous", prev), ("text", text), ("note", note)):
                if any(c in val for c in BAD_CHARS):
                    fail(f"{where}: forbidden character in {name}")
            if speaker == "customer":
                if cat != "none":
                    fail(f"{where}: customer row must be none")
                if prev:
                    fail(f"{where}: customer row must have empty previous")
            if cat in PREV_REQUIRED:
                if not prev:
                    fail(f"{where}: {cat} needs the trigger in previous")
                if rel != "debtor":
                    fail(f"{where}: {cat} rows use callee_relation debtor")
            if cat == "pressure" and rel != "debtor":
                fail(f"{where}: pressure is debtor-only")
            if cat in ("third_party_disclosure", "third_party_collection") and rel == "debtor":
                fail(f"{where}: {cat} cannot have callee_relation debtor")
            if rel == "unknown" and cat in ("third_party_disclosure", "third_party_collection") and not prev:
                fail(f"{where}: unknown-relation third-party row needs previous")
            if lang == "zh" and not HAN.search(text):
                fail(f"{where}: zh text has no Chinese characters")
            if lang == "en" and HAN.search(text):
                fail(f"{where}: en text has Chinese characters")
            key = (lang, text)
            seen_text[key] += 1
            if seen_text[key] > 1:
                fail(f"{where}: duplicate text")
            rows[lang].append([speaker, cat, rel, prev, text, note])

if errors:
    print("\n".join(errors))
    sys.exit(f"{len(errors)} validation error(s)")

with open(OUT, "w", encoding="utf-8", newline="") as fh:
    fh.write("\t".join(HEADER) + "\n")
    for lang in ("zh", "en"):
        block = list(rows[lang])
        random.Random(SEEDS[lang]).shuffle(block)
        for i, r in enumerate(block, 1):
            fh.write("\t".join([f"{lang}-{i:03d}", lang] + r) + "\n")

# re-read and report
with open(OUT, encoding="utf-8", newline="") as fh:
    reader = csv.reader(fh, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader)
    assert header == HEADER, header
    data = [dict(zip(header, r)) for r in reader]
assert all(len(d) == len(HEADER) for d in data)
ids = [d["id"] for d in data]
assert len(ids) == len(set(ids)), "duplicate ids"

counts = collections.Counter((d["language"], d["category"]) for d in data)
print(f"total rows: {len(data)}")
for lang in ("zh", "en"):
    sub = [d for d in data if d["language"] == lang]
    n = len(sub)
    print(f"\n[{lang}] {n} rows")
    for cat in CATS[lang]:
        print(f"  {cat:28s} {counts[(lang, cat)]:4d}")
    none = sum(d["category"] == "none" for d in sub)
    asr = sum(d["note"].startswith("asr-garbled:") for d in sub)
    cust = sum(d["speaker"] == "customer" for d in sub)
    prev = sum(bool(d["previous"]) for d in sub)
    rel = collections.Counter(d["callee_relation"] for d in sub)
    print(f"  none share        {none:4d} ({none / n:.1%})")
    print(f"  asr-garbled       {asr:4d} ({asr / n:.1%})")
    print(f"  customer speaker  {cust:4d} ({cust / n:.1%})")
    print(f"  previous filled   {prev:4d} ({prev / n:.1%})")
    print("  callee_relation   " + ", ".join(f"{k} {rel[k]} ({rel[k] / n:.1%})" for k in sorted(rel)))
    asr_by_cat = collections.Counter(d["category"] for d in sub if d["note"].startswith("asr-garbled:"))
    print("  asr by category   " + ", ".join(f"{k} {v}" for k, v in sorted(asr_by_cat.items())))
