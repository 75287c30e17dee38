#!/usr/bin/env python3
"""Build utterances.tsv from the hand-written batch files (Python standard library only).

Batch format (out/batches/<lang>_NN.txt), one row per line, '#' lines are comments:
    speaker|category|callee_relation|previous|text|note
The language comes from the file name prefix (zh_ or en_).

Validates every row, shuffles within each language with a fixed seed, assigns ids,
writes out/utterances.tsv, re-reads it and prints counts and mix tables (markdown).
"""
import collections
import glob
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT_TSV = os.path.join(HERE, "utterances.tsv")

SEEDS = {"zh": 20251010, "en": 20251011}
LANGS = ["zh", "en"]
COMMON = ["threat", "insult", "impersonation", "false_consequence",
          "third_party_disclosure", "pressure"]
VIOLATIONS = {
    "zh": COMMON + ["missing_self_identification"],
    "en": COMMON + ["mini_miranda", "cease_ignored", "attorney_represented",
                    "third_party_collection"],
}
SPEAKERS = {"agent", "customer"}
RELATIONS = {"debtor", "third_party", "unknown"}
COLUMNS = ["id", "language", "speaker", "category", "callee_relation",
           "previous", "text", "note"]
FORBIDDEN = ["\t", "\n", "\r", '"', "\u201c", "\u201d"]
CJK = re.compile(r"[\u4e00-\u9fff]")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def load():
    rows = []
    files = sorted(glob.glob(os.path.join(BATCH_DIR, "*.txt")))
    if not files:
        sys.exit("no batch files found")
    for path in files:
        name = os.path.basename(path)
        lang = name.split("_", 1)[0]
        if lang not in LANGS:
            err(name, "file name must start with zh_ or en_")
            continue
        with open(path, encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, 1):
                line = raw.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                where = f"{name}:{lineno}"
                parts = line.split("|")
                if len(parts) != 6:
                    err(where, f"expected 6 pipe-separated fields, got {len(parts)}")
                    continue
                parts = [p.strip() for p in parts]
                speaker, category, relation, previous, text, note = parts
                row = dict(language=lang, speaker=speaker, category=category,
                           callee_relation=relation, previous=previous,
                           text=text, note=note, where=where)
                validate(row)
                rows.append(row)
    return rows


def validate(r):
    w, lang = r["where"], r["language"]
    if r["speaker"] not in SPEAKERS:
        err(w, f"bad speaker {r['speaker']!r}")
    allowed = set(VIOLATIONS[lang]) | {"none"}
    if r["category"] not in allowed:
        err(w, f"category {r['category']!r} not allowed for {lang}")
    if r["callee_relation"] not in RELATIONS:
        err(w, f"bad callee_relation {r['callee_relation']!r}")
    for col in ("previous", "text", "note"):
        for bad in FORBIDDEN:
            if bad in r[col]:
                err(w, f"{col} contains forbidden character {bad!r}")
    if not r["text"]:
        err(w, "empty text")
    if not r["note"]:
        err(w, "empty note")
    if r["speaker"] == "customer":
        if r["category"] != "none":
            err(w, "customer rows must be none")
        if r["previous"]:
            err(w, "customer rows must have empty previous")
    if r["category"] in ("mini_miranda", "cease_ignored", "attorney_represented"):
        if not r["previous"]:
            err(w, f"{r['category']} needs its trigger in previous")
        if r["callee_relation"] != "debtor":
            err(w, f"{r['category']} rows use callee_relation debtor")
    if r["category"] == "pressure" and r["callee_relation"] != "debtor":
        err(w, "pressure is debtor-only")
    if r["category"] == "missing_self_identification" and r["previous"]:
        err(w, "missing_self_identification rows are openings (empty previous)")
    if r["category"] == "third_party_collection" and r["callee_relation"] == "debtor":
        err(w, "third_party_collection cannot be with the debtor")
    if r["category"] == "third_party_disclosure" and r["callee_relation"] == "debtor":
        err(w, "third_party_disclosure cannot be with the debtor")
    if "asr" in r["note"].lower()[:12] and not r["note"].startswith("asr-garbled:"):
        err(w, "ASR note must start with 'asr-garbled:'")
    has_cjk = bool(CJK.search(r["text"]))
    if lang == "zh" and not has_cjk:
        err(w, "zh text without Chinese characters")
    if lang == "en" and has_cjk:
        err(w, "en text with Chinese characters")


def check_set(rows):
    seen = {}
    for r in rows:
        key = (r["language"], r["text"])
        if key in seen:
            err(r["where"], f"duplicate text (also {seen[key]})")
        seen[key] = r["where"]
    for lang in LANGS:
        cnt = collections.Counter(r["category"] for r in rows if r["language"] == lang)
        for cat in VIOLATIONS[lang]:
            if not 15 <= cnt[cat] <= 22:
                err(lang, f"{cat} has {cnt[cat]} rows, outside 15-22")


def write(rows):
    out = []
    for lang in LANGS:
        subset = [r for r in rows if r["language"] == lang]
        # Deterministic input order (by batch file and line) before shuffling.
        subset.sort(key=lambda r: (r["where"].split(":")[0], int(r["where"].split(":")[1])))
        random.Random(SEEDS[lang]).shuffle(subset)
        for i, r in enumerate(subset, 1):
            r["id"] = f"{lang}-{i:03d}"
            out.append(r)
    with open(OUT_TSV, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        for r in out:
            fh.write("\t".join(r[c] for c in COLUMNS) + "\n")


def reread():
    with open(OUT_TSV, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    assert lines[-1] == "", "file must end with a newline"
    header = lines[0].split("\t")
    assert header == COLUMNS, header
    rows = []
    for ln in lines[1:-1]:
        f = ln.split("\t")
        assert len(f) == len(COLUMNS), ln
        rows.append(dict(zip(COLUMNS, f)))
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)), "duplicate ids"
    return rows


def pct(a, b):
    return f"{a} ({100.0 * a / b:.1f}%)" if b else "0"


def report(rows):
    cats = COMMON + ["missing_self_identification", "mini_miranda", "cease_ignored",
                     "attorney_represented", "third_party_collection", "none"]
    cnt = collections.Counter((r["language"], r["category"]) for r in rows)
    tot = collections.Counter(r["language"] for r in rows)
    print("| category | zh | en | total |")
    print("|---|---:|---:|---:|")
    for c in cats:
        z, e = cnt[("zh", c)], cnt[("en", c)]
        zs = str(z) if c in VIOLATIONS["zh"] or c == "none" else "-"
        es = str(e) if c in VIOLATIONS["en"] or c == "none" else "-"
        print(f"| {c} | {zs} | {es} | {z + e} |")
    print(f"| **total** | {tot['zh']} | {tot['en']} | {len(rows)} |")
    print()
    print("| mix | zh | en | total |")
    print("|---|---:|---:|---:|")

    def line(label, pred):
        vals = []
        for lang in LANGS:
            sub = [r for r in rows if r["language"] == lang]
            vals.append(pct(sum(1 for r in sub if pred(r)), len(sub)))
        vals.append(pct(sum(1 for r in rows if pred(r)), len(rows)))
        print(f"| {label} | " + " | ".join(vals) + " |")

    line("category none", lambda r: r["category"] == "none")
    line("asr-garbled", lambda r: r["note"].startswith("asr-garbled:"))
    line("asr-garbled among none", lambda r: r["category"] == "none" and r["note"].startswith("asr-garbled:"))
    line("speaker agent", lambda r: r["speaker"] == "agent")
    line("speaker customer", lambda r: r["speaker"] == "customer")
    for rel in ("debtor", "third_party", "unknown"):
        line(f"callee_relation {rel}", lambda r, rel=rel: r["callee_relation"] == rel)
    line("previous filled", lambda r: r["previous"] != "")


def main():
    rows = load()
    check_set(rows)
    if errors:
        print("VALIDATION FAILED:", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        sys.exit(1)
    write(rows)
    back = reread()
    assert len(back) == len(rows)
    print(f"wrote {OUT_TSV} ({len(back)} rows); seeds {SEEDS}\n")
    report(back)


if __name__ == "__main__":
    main()
