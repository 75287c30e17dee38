#!/usr/bin/env python3
"""Build utterances.tsv for batch b14 from the hand-written files in batches/.

Python 3 standard library only. Validates every batch line, shuffles rows within each
language with a fixed seed (fresh random.Random(SEED) per language, zh first), assigns ids,
writes utterances.tsv, re-reads it and prints the count and mix tables.
Exit status 1 when any check fails (nothing is written in that case).
"""
import os
import random
import re
import sys

SEED = 1414
HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT = os.path.join(HERE, "utterances.tsv")
LANGS = ["zh", "en"]
HEADER = ["id", "language", "speaker", "category", "callee_relation", "previous", "text", "note"]
SPEAKERS = {"agent", "customer"}
RELATIONS = {"debtor", "third_party", "unknown"}
CATEGORIES = {
    "zh": ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
           "pressure", "missing_self_identification", "none"],
    "en": ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
           "third_party_collection", "pressure", "mini_miranda", "cease_ignored",
           "attorney_represented", "none"],
}
NEEDS_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
NEVER_DEBTOR = {"third_party_disclosure", "third_party_collection"}
MIN_CAT, MAX_CAT = 15, 21
MIN_ROWS = 480
ASR_PREFIX = "asr-garbled:"
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# anything that looks like a phone number: 3-4 digits, dash, 4 digits (optionally with area code)
PHONE = re.compile(r"(?<![\d-])(?:\(?\d{3}\)?[-. ])?(\d{3})[-.](\d{4})(?![\d-])")
LONG_DIGITS = re.compile(r"\d{7,}")
SHARES = {"none": (35.0, 45.0), "asr": (12.0, 18.0), "customer": (6.0, 10.0)}


def load():
    errors, rows = [], {lang: [] for lang in LANGS}
    names = sorted(n for n in os.listdir(BATCH_DIR) if n.endswith(".txt"))
    for name in names:
        lang = name.split("_", 1)[0]
        if lang not in LANGS:
            errors.append(f"{name}: file name must start with zh_ or en_")
            continue
        with open(os.path.join(BATCH_DIR, name), encoding="utf-8", newline="") as fh:
            text = fh.read()
        for n, line in enumerate(text.split("\n"), 1):
            line = line.rstrip("\r")
            if not line.strip() or line.startswith("#"):
                continue
            where = f"{name}:{n}"
            fields = line.split("|")
            if len(fields) != 6:
                errors.append(f"{where}: {len(fields)} fields, expected 6")
                continue
            fields = [f.strip() for f in fields]
            speaker, cat, rel, prev, utt, note = fields
            for f in fields:
                if "\t" in f or '"' in f or "\n" in f:
                    errors.append(f"{where}: tab, newline or double quote inside a field")
            if speaker not in SPEAKERS:
                errors.append(f"{where}: bad speaker {speaker!r}")
            if rel not in RELATIONS:
                errors.append(f"{where}: bad callee_relation {rel!r}")
            if cat not in CATEGORIES[lang]:
                errors.append(f"{where}: category {cat!r} not valid for {lang}")
            if not utt:
                errors.append(f"{where}: empty text")
            if not note:
                errors.append(f"{where}: empty note")
            if speaker == "customer" and (cat != "none" or prev):
                errors.append(f"{where}: customer rows must be none with empty previous")
            has_cjk = bool(CJK.search(utt))
            if lang == "zh" and not has_cjk:
                errors.append(f"{where}: zh text without Chinese characters")
            if lang == "en" and (has_cjk or CJK.search(prev)):
                errors.append(f"{where}: en row with Chinese characters")
            if cat in NEEDS_PREVIOUS and not prev:
                errors.append(f"{where}: {cat} needs a non-empty previous")
            if cat == "pressure" and rel != "debtor":
                errors.append(f"{where}: pressure rows must be debtor")
            if cat in NEVER_DEBTOR and rel == "debtor":
                errors.append(f"{where}: {cat} row cannot be debtor")
            if cat == "missing_self_identification" and rel != "unknown":
                errors.append(f"{where}: missing_self_identification rows must be unknown")
            low = note.lower()
            if "asr" in low and not low.startswith(ASR_PREFIX):
                errors.append(f"{where}: ASR note must start with {ASR_PREFIX!r}")
            for f in (prev, utt, note):
                for m in PHONE.finditer(f):
                    if m.group(1) != "555" or not m.group(2).startswith("01"):
                        errors.append(f"{where}: phone number {m.group(0)!r} not 555-01xx")
                if LONG_DIGITS.search(f):
                    errors.append(f"{where}: run of 7+ digits (real-looking number?)")
            rows[lang].append({"language": lang, "speaker": speaker, "category": cat,
                               "callee_relation": rel, "previous": prev, "text": utt,
                               "note": note, "where": where})
    seen = {}
    for lang in LANGS:
        for r in rows[lang]:
            key = (lang, r["previous"], r["text"])
            if key in seen:
                errors.append(f"{r['where']}: duplicate of {seen[key]}")
            else:
                seen[key] = r["where"]
    for lang in LANGS:
        for cat in CATEGORIES[lang]:
            if cat == "none":
                continue
            c = sum(1 for r in rows[lang] if r["category"] == cat)
            if not MIN_CAT <= c <= MAX_CAT:
                errors.append(f"{lang}/{cat}: {c} rows, expected {MIN_CAT}-{MAX_CAT}")
    total = sum(len(v) for v in rows.values())
    if total < MIN_ROWS:
        errors.append(f"only {total} rows, expected at least {MIN_ROWS}")
    return rows, errors


def shares(rs):
    n = len(rs) or 1
    return {
        "none": 100.0 * sum(r["category"] == "none" for r in rs) / n,
        "asr": 100.0 * sum(r["note"].startswith(ASR_PREFIX) for r in rs) / n,
        "customer": 100.0 * sum(r["speaker"] == "customer" for r in rs) / n,
    }


def main():
    rows, errors = load()
    if errors:
        for e in errors:
            print("ERROR", e)
        print(f"{len(errors)} error(s); nothing written")
        return 1
    out = []
    for lang in LANGS:
        rs = list(rows[lang])
        random.Random(SEED).shuffle(rs)
        for i, r in enumerate(rs, 1):
            r["id"] = f"{lang}-{i:03d}"
            out.append(r)
    with open(OUT, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(HEADER) + "\n")
        for r in out:
            fh.write("\t".join(r[c] for c in HEADER) + "\n")

    # re-read and check
    with open(OUT, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    assert lines[-1] == "", "file must end with a newline"
    lines = lines[:-1]
    problems = []
    if lines[0].split("\t") != HEADER:
        problems.append("header mismatch")
    back = [l.split("\t") for l in lines[1:]]
    if len(back) != len(out):
        problems.append(f"row count {len(back)} != {len(out)}")
    for i, f in enumerate(back, 2):
        if len(f) != len(HEADER):
            problems.append(f"tsv line {i}: {len(f)} fields")
    want_ids = [f"{lang}-{i:03d}" for lang in LANGS for i in range(1, len(rows[lang]) + 1)]
    if [f[0] for f in back] != want_ids:
        problems.append("ids not sequential zh-001.. then en-001..")
    if problems:
        for p in problems:
            print("ERROR (re-read)", p)
        return 1

    # tables
    print(f"wrote {OUT}: {len(back)} rows (seed {SEED})\n")
    print("Count table (category x language)")
    allcats = CATEGORIES["en"][:-1] + ["missing_self_identification", "none"]
    allcats = list(dict.fromkeys(allcats))
    print(f"{'category':30} {'zh':>5} {'en':>5} {'all':>5}")
    for cat in allcats:
        c = {lang: sum(r["category"] == cat for r in rows[lang]) for lang in LANGS}
        zh = str(c["zh"]) if cat in CATEGORIES["zh"] else "-"
        en = str(c["en"]) if cat in CATEGORIES["en"] else "-"
        print(f"{cat:30} {zh:>5} {en:>5} {c['zh'] + c['en']:>5}")
    print(f"{'total':30} {len(rows['zh']):>5} {len(rows['en']):>5} {len(back):>5}")
    print("\nMix table")
    print(f"{'language':10} {'rows':>5} {'none':>12} {'customer':>12} {'agent none':>12} {'asr-garbled':>12}")
    warnings = []
    for lang in LANGS + ["all"]:
        rs = rows[lang] if lang != "all" else rows["zh"] + rows["en"]
        n = len(rs)
        none = sum(r["category"] == "none" for r in rs)
        cust = sum(r["speaker"] == "customer" for r in rs)
        asr = sum(r["note"].startswith(ASR_PREFIX) for r in rs)
        fmt = lambda k: f"{k} ({100.0 * k / n:.1f}%)"
        print(f"{lang:10} {n:>5} {fmt(none):>12} {fmt(cust):>12} {fmt(none - cust):>12} {fmt(asr):>12}")
        s = shares(rs)
        for k, (lo, hi) in SHARES.items():
            if not lo <= s[k] <= hi:
                warnings.append(f"{lang}: {k} share {s[k]:.1f}% outside {lo:.0f}-{hi:.0f}%")
    print("\nRelation table (agent rows)")
    print(f"{'language':10} {'debtor':>7} {'third_party':>12} {'unknown':>8}")
    for lang in LANGS:
        ag = [r for r in rows[lang] if r["speaker"] == "agent"]
        print(f"{lang:10} " + f"{sum(r['callee_relation'] == 'debtor' for r in ag):>7} "
              f"{sum(r['callee_relation'] == 'third_party' for r in ag):>12} "
              f"{sum(r['callee_relation'] == 'unknown' for r in ag):>8}")
    for w in warnings:
        print("WARNING", w)
    return 0


if __name__ == "__main__":
    sys.exit(main())
