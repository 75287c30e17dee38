#!/usr/bin/env python3
"""Validate batches/*.txt and write utterances.tsv (set b18).

Standard library only. Exits with status 1 and writes nothing if any rule fails.
"""
import os
import random
import re
import sys
from collections import Counter

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT = os.path.join(HERE, "utterances.tsv")
SEED = 1818

COMMON = ["threat", "insult", "impersonation", "false_consequence",
          "third_party_disclosure", "pressure", "none"]
CATS = {
    "zh": COMMON + ["missing_self_identification"],
    "en": COMMON + ["third_party_collection", "mini_miranda",
                    "cease_ignored", "attorney_represented"],
}
NEED_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
RELATIONS = {"debtor", "third_party", "unknown"}
FILE_RE = re.compile(r"^(zh|en)_(\d{2})\.txt$")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
PHONE_RE = re.compile(r"\d{3}-\d{4}")
ALLOWED_PHONE_RE = re.compile(r"^555-01\d\d$")
LONG_DIGITS_RE = re.compile(r"\d{7,}")
ZH_PUNCT_RE = re.compile(r"[\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
                         r"\u2018-\u201f\u2026\u2014\u00b7!-/:-@\[-`{-~]")
EN_ASR_RE = re.compile(r"^[a-z ]+$")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def load():
    rows = {"zh": [], "en": []}
    if not os.path.isdir(BATCH_DIR):
        err("batches", "folder missing")
        return rows
    for name in sorted(os.listdir(BATCH_DIR)):
        m = FILE_RE.match(name)
        if not m:
            err(name, "unexpected file in batches/ (want zh_NN.txt or en_NN.txt)")
            continue
        lang = m.group(1)
        with open(os.path.join(BATCH_DIR, name), encoding="utf-8") as fh:
            data = fh.read()
        if "\r" in data:
            err(name, "carriage return found")
        for lineno, line in enumerate(data.split("\n"), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{name}:{lineno}"
            parts = line.split("|")
            if len(parts) != 6:
                err(where, f"expected 6 fields, got {len(parts)}")
                continue
            rows[lang].append((where, [p.strip() for p in parts]))
    return rows


def check_row(lang, where, f):
    speaker, cat, rel, prev, text, note = f
    for v in f:
        if "\t" in v or "\n" in v or "\r" in v or '"' in v:
            err(where, "tab, newline or ASCII double quote in a field")
    if speaker not in ("agent", "customer"):
        err(where, f"bad speaker {speaker!r}")
    if cat not in CATS[lang]:
        err(where, f"category {cat!r} not allowed for {lang}")
    if rel not in RELATIONS:
        err(where, f"bad callee_relation {rel!r}")
    if not text:
        err(where, "empty text")
    if not note:
        err(where, "empty note")
    if speaker == "customer":
        if cat != "none":
            err(where, "customer rows must be category none")
        if rel != "unknown":
            err(where, "customer rows must have callee_relation unknown")
        if prev:
            err(where, "customer rows must have empty previous")
    if cat in NEED_PREVIOUS and not prev:
        err(where, f"{cat} requires previous")
    if cat == "pressure" and rel != "debtor":
        err(where, "pressure rows must be debtor")
    if cat in ("third_party_disclosure", "third_party_collection") and rel == "debtor":
        err(where, f"{cat} rows must not be debtor")
    if cat == "missing_self_identification" and rel != "unknown":
        err(where, "missing_self_identification rows must be unknown")
    if cat != "none" and speaker != "agent":
        err(where, "violation rows must be agent rows")
    # language script
    if lang == "zh" and not CJK_RE.search(text):
        err(where, "Mandarin text without CJK")
    if lang == "en" and (CJK_RE.search(text) or CJK_RE.search(prev)):
        err(where, "English text/previous contains CJK")
    # ASR notes
    is_asr = note.startswith("asr-garbled:")
    if not is_asr and re.search(r"asr", note, re.I):
        err(where, "note mentions ASR but does not start with asr-garbled:")
    if is_asr:
        if lang == "zh" and ZH_PUNCT_RE.search(text):
            err(where, "asr-garbled Mandarin text contains punctuation")
        if lang == "en" and not EN_ASR_RE.match(text):
            err(where, "asr-garbled English text must be lowercase letters and spaces only")
    # numbers
    for v in (prev, text, note):
        if LONG_DIGITS_RE.search(v):
            err(where, "run of 7+ digits")
        for ph in PHONE_RE.findall(v):
            if not ALLOWED_PHONE_RE.match(ph):
                err(where, f"phone-like number {ph} not 555-01xx")
    return is_asr


def main():
    rows = load()
    stats = {}
    for lang in ("zh", "en"):
        seen = set()
        cats = Counter()
        asr = customers = 0
        rels = Counter()
        for where, f in rows[lang]:
            is_asr = check_row(lang, where, f)
            key = f[4]
            if key in seen:
                err(where, "duplicate text")
            seen.add(key)
            cats[f[1]] += 1
            asr += is_asr
            customers += f[0] == "customer"
            rels[(f[0], f[2])] += 1
        n = len(rows[lang])
        stats[lang] = (n, cats, asr, customers, rels)
        if n == 0:
            err(lang, "no rows")
            continue
        for c in CATS[lang]:
            if c != "none" and not 15 <= cats[c] <= 21:
                err(lang, f"category {c} has {cats[c]} rows (want 15-21)")
        checks = [("none", cats["none"], 0.35, 0.45),
                  ("customer", customers, 0.06, 0.10),
                  ("asr-garbled", asr, 0.12, 0.18)]
        for label, k, lo, hi in checks:
            if not lo <= k / n <= hi:
                err(lang, f"{label} share {k}/{n}={k / n:.3f} outside {lo}-{hi}")
    total = sum(s[0] for s in stats.values())
    if total < 480:
        err("all", f"only {total} rows (want >= 480)")
    elif not 0.45 <= stats["zh"][0] / total <= 0.55:
        err("all", "languages not roughly balanced")

    if errors:
        for e in errors:
            print("ERROR", e, file=sys.stderr)
        print(f"{len(errors)} error(s); nothing written", file=sys.stderr)
        return 1

    out_lines = ["\t".join(["id", "language", "speaker", "category",
                            "callee_relation", "previous", "text", "note"])]
    for lang in ("zh", "en"):
        ordered = [f for _, f in rows[lang]]
        random.Random(SEED).shuffle(ordered)
        for i, f in enumerate(ordered, 1):
            out_lines.append("\t".join([f"{lang}-{i:03d}", lang] + f))
    with open(OUT, "w", encoding="utf-8", newline="\n") as fh:
        fh.write("\n".join(out_lines) + "\n")

    for lang in ("zh", "en"):
        n, cats, asr, customers, rels = stats[lang]
        print(f"[{lang}] rows={n} none={cats['none']} ({cats['none'] / n:.1%}) "
              f"customer={customers} ({customers / n:.1%}) asr={asr} ({asr / n:.1%})")
        for c in CATS[lang]:
            print(f"  {c}: {cats[c]}")
        for (sp, rel), k in sorted(rels.items()):
            print(f"  {sp}/{rel}: {k}")
    print(f"wrote {OUT} with {total} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
