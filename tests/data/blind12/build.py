#!/usr/bin/env python3
"""Build utterances.tsv for blind evaluation batch b12 from hand-written batches/*.txt.

Standard library only. Validates every batch line, shuffles rows within each language with a
fixed seed, assigns ids, writes utterances.tsv, re-reads it and prints counts.
Exit status is non-zero if any validation error is found.
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

SEEDS = {"zh": 12061, "en": 12062}  # fixed shuffle seeds, one per language
COLUMNS = ["id", "language", "speaker", "category", "callee_relation", "previous", "text", "note"]

COMMON = ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure", "pressure"]
CATEGORIES = {
    "zh": COMMON + ["missing_self_identification", "none"],
    "en": COMMON + ["mini_miranda", "cease_ignored", "attorney_represented", "third_party_collection", "none"],
}
SPEAKERS = {"agent", "customer"}
RELATIONS = {"debtor", "third_party", "unknown"}
NEEDS_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
THIRD_PARTY_CATS = {"third_party_disclosure", "third_party_collection"}
FORBIDDEN_CHARS = ["\t", "\r", "\n", '"', "\u201c", "\u201d"]
PHONE_RE = re.compile(r"\b\d{3}-\d{4}\b")
HAN_RE = re.compile(r"[\u4e00-\u9fff]")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def load():
    rows = {"zh": [], "en": []}
    files = sorted(glob.glob(os.path.join(BATCH_DIR, "*.txt")))
    if not files:
        err("batches", "no batch files found")
    for path in files:
        name = os.path.basename(path)
        lang = name.split("_", 1)[0]
        if lang not in rows:
            err(name, "file name must start with zh_ or en_")
            continue
        with open(path, encoding="utf-8") as fh:
            for n, raw in enumerate(fh, 1):
                line = raw.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                where = f"{name}:{n}"
                parts = line.split("|")
                if len(parts) != 6:
                    err(where, f"expected 6 fields, got {len(parts)}")
                    continue
                speaker, category, relation, previous, text, note = (p.strip() for p in parts)
                for field, value in (("previous", previous), ("text", text), ("note", note)):
                    for ch in FORBIDDEN_CHARS:
                        if ch in value:
                            err(where, f"{field} contains forbidden character {ch!r}")
                if speaker not in SPEAKERS:
                    err(where, f"bad speaker {speaker!r}")
                if category not in CATEGORIES[lang]:
                    err(where, f"category {category!r} not allowed for {lang}")
                if relation not in RELATIONS:
                    err(where, f"bad callee_relation {relation!r}")
                if not text:
                    err(where, "empty text")
                if not note:
                    err(where, "empty note")
                if speaker == "customer":
                    if category != "none":
                        err(where, "customer rows must be none")
                    if previous:
                        err(where, "customer rows must have empty previous")
                if category in NEEDS_PREVIOUS and not previous:
                    err(where, f"{category} needs its trigger in previous")
                if category in THIRD_PARTY_CATS and relation == "debtor":
                    err(where, f"{category} cannot have callee_relation debtor")
                if category == "pressure" and relation != "debtor":
                    err(where, "pressure applies to debtors only")
                if category == "missing_self_identification" and previous:
                    err(where, "missing_self_identification rows are openings; previous must be empty")
                if "asr" in note.lower()[:12] and not note.startswith("asr-garbled:"):
                    err(where, "ASR note must start with 'asr-garbled:'")
                for m in PHONE_RE.findall(text + " " + previous):
                    if not re.fullmatch(r"555-01\d\d", m):
                        err(where, f"phone number {m} is not 555-01xx")
                has_han = bool(HAN_RE.search(text))
                if lang == "zh" and not has_han:
                    err(where, "zh text has no Chinese characters")
                if lang == "en" and has_han:
                    err(where, "en text contains Chinese characters")
                rows[lang].append({
                    "language": lang, "speaker": speaker, "category": category,
                    "callee_relation": relation, "previous": previous, "text": text,
                    "note": note, "src": where,
                })
    # duplicate texts within a language
    for lang, rs in rows.items():
        seen = {}
        for r in rs:
            key = re.sub(r"\W+", "", r["text"].lower())
            if key in seen:
                err(r["src"], f"duplicate text (also {seen[key]})")
            else:
                seen[key] = r["src"]
    return rows


def check_mix(rows):
    total = 0
    for lang, rs in rows.items():
        n = len(rs)
        total += n
        if not 200 <= n <= 300:
            err(lang, f"{n} rows, expected about 250")
        cats = collections.Counter(r["category"] for r in rs)
        for c in CATEGORIES[lang]:
            if c == "none":
                continue
            if not 15 <= cats[c] <= 21:
                err(lang, f"category {c} has {cats[c]} rows, expected 15-21")
        share = cats["none"] / n if n else 0
        if not 0.35 <= share <= 0.47:
            err(lang, f"none share {share:.1%}, expected about 40%")
        asr = sum(r["note"].startswith("asr-garbled:") for r in rs) / n if n else 0
        if not 0.11 <= asr <= 0.19:
            err(lang, f"ASR share {asr:.1%}, expected about 15%")
        cust = sum(r["speaker"] == "customer" for r in rs) / n if n else 0
        if not 0.05 <= cust <= 0.11:
            err(lang, f"customer share {cust:.1%}, expected about 8%")
    if total < 480:
        err("all", f"{total} rows, need at least 480")


def write(rows):
    out = []
    for lang in ("zh", "en"):
        rs = list(rows[lang])
        random.Random(SEEDS[lang]).shuffle(rs)
        for i, r in enumerate(rs, 1):
            r["id"] = f"{lang}-{i:03d}"
            out.append(r)
    with open(OUT, "w", encoding="utf-8", newline="") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        for r in out:
            fh.write("\t".join(r[c] for c in COLUMNS) + "\n")
    return out


def reread(expected):
    with open(OUT, encoding="utf-8", newline="") as fh:
        lines = fh.read().split("\n")
    if lines[-1] == "":
        lines = lines[:-1]
    if lines[0].split("\t") != COLUMNS:
        err("tsv", "bad header")
    parsed = []
    ids = set()
    for n, line in enumerate(lines[1:], 2):
        f = line.split("\t")
        if len(f) != len(COLUMNS):
            err(f"tsv:{n}", f"{len(f)} columns")
            continue
        d = dict(zip(COLUMNS, f))
        if d["id"] in ids:
            err(f"tsv:{n}", f"duplicate id {d['id']}")
        ids.add(d["id"])
        if not re.fullmatch(rf"{d['language']}-\d{{3}}", d["id"]):
            err(f"tsv:{n}", f"id {d['id']} does not match language")
        parsed.append(d)
    if len(parsed) != len(expected):
        err("tsv", f"re-read {len(parsed)} rows, wrote {len(expected)}")
    for a, b in zip(parsed, expected):
        if any(a[c] != b[c] for c in COLUMNS):
            err("tsv", f"row {a['id']} differs after re-read")
    return parsed


def report(parsed):
    langs = ("zh", "en")
    cats = COMMON + ["missing_self_identification", "mini_miranda", "cease_ignored",
                     "attorney_represented", "third_party_collection", "none"]
    cnt = collections.Counter((d["language"], d["category"]) for d in parsed)
    tot = collections.Counter(d["language"] for d in parsed)
    print("Counts by category")
    print(f"| category | zh | en |\n|---|---|---|")
    for c in cats:
        z = cnt[("zh", c)] if c in CATEGORIES["zh"] else "-"
        e = cnt[("en", c)] if c in CATEGORIES["en"] else "-"
        print(f"| {c} | {z} | {e} |")
    print(f"| total | {tot['zh']} | {tot['en']} |")
    print()
    print("Mix")
    print("| measure | zh | en |\n|---|---|---|")

    def line(label, pred):
        vals = []
        for l in langs:
            rs = [d for d in parsed if d["language"] == l]
            k = sum(1 for d in rs if pred(d))
            vals.append(f"{k} ({k / len(rs):.1%})")
        print(f"| {label} | {vals[0]} | {vals[1]} |")

    line("none", lambda d: d["category"] == "none")
    line("violation", lambda d: d["category"] != "none")
    line("agent rows", lambda d: d["speaker"] == "agent")
    line("customer rows", lambda d: d["speaker"] == "customer")
    line("asr-garbled rows", lambda d: d["note"].startswith("asr-garbled:"))
    line("asr-garbled violations", lambda d: d["note"].startswith("asr-garbled:") and d["category"] != "none")
    line("previous non-empty", lambda d: d["previous"] != "")
    line("relation debtor", lambda d: d["callee_relation"] == "debtor")
    line("relation third_party", lambda d: d["callee_relation"] == "third_party")
    line("relation unknown", lambda d: d["callee_relation"] == "unknown")
    line("agent none (hard negatives)", lambda d: d["speaker"] == "agent" and d["category"] == "none")
    print(f"\nTotal rows: {len(parsed)}; seeds: {SEEDS}; output: {OUT}")


def main():
    rows = load()
    check_mix(rows)
    if errors:
        print("VALIDATION FAILED", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    written = write(rows)
    parsed = reread(written)
    if errors:
        print("RE-READ FAILED", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    report(parsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
