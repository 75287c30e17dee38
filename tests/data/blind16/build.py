#!/usr/bin/env python3
"""Validate batches/*.txt and write utterances.tsv (set b16).

Standard library only. Exit status 1 and write nothing on any validation failure.
"""
import collections
import os
import random
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT = os.path.join(HERE, "utterances.tsv")
SEED = 1616

SHARED = ["threat", "insult", "impersonation", "false_consequence",
          "third_party_disclosure", "pressure"]
VIOLATIONS = {
    "zh": SHARED + ["missing_self_identification"],
    "en": SHARED + ["third_party_collection", "mini_miranda",
                    "cease_ignored", "attorney_represented"],
}
NEEDS_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
AGENT_RELATIONS = {"debtor", "third_party", "unknown"}
FILE_RE = re.compile(r"^(zh|en)_(\d{2})\.txt$")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
DIGIT_RUN_RE = re.compile(r"\d+")
PHONE_RE = re.compile(r"(?<!\d)(\d{3})[-. ](\d{4})(?!\d)")
EN_ASR_RE = re.compile(r"^[a-z]+( [a-z]+)*$")
HEADER = ["id", "language", "speaker", "category", "callee_relation",
          "previous", "text", "note"]


def has_cjk(s):
    return bool(CJK_RE.search(s))


def has_punct(s):
    return any(unicodedata.category(ch)[0] in "PS" for ch in s)


def check_numbers(field, where, errors):
    for run in DIGIT_RUN_RE.findall(field):
        if len(run) >= 7:
            errors.append(f"{where}: digit run of {len(run)} (7+ not allowed)")
        elif len(run) >= 5:
            errors.append(f"{where}: digit run of {len(run)}; use 4-digit fragments or words")
    for a, b in PHONE_RE.findall(field):
        if a != "555" or not b.startswith("01"):
            errors.append(f"{where}: phone number {a}-{b} is not 555-01xx")


def load(errors):
    if not os.path.isdir(BATCH_DIR):
        errors.append("batches/ folder missing")
        return {"zh": [], "en": []}
    rows = {"zh": [], "en": []}
    names = sorted(os.listdir(BATCH_DIR))
    for name in names:
        m = FILE_RE.match(name)
        if not m:
            errors.append(f"batches/{name}: unexpected file name (want zh_NN.txt or en_NN.txt)")
            continue
        lang = m.group(1)
        path = os.path.join(BATCH_DIR, name)
        with open(path, "rb") as fh:
            raw = fh.read()
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(f"batches/{name}: not UTF-8 ({exc})")
            continue
        if "\r" in content:
            errors.append(f"batches/{name}: carriage return found")
        for lineno, line in enumerate(content.split("\n"), 1):
            where = f"batches/{name}:{lineno}"
            if not line.strip() or line.startswith("#"):
                continue
            fields = line.split("|")
            if len(fields) != 6:
                errors.append(f"{where}: expected 6 fields, got {len(fields)}")
                continue
            rows[lang].append((where, lang, fields))
    return rows


def validate_row(where, lang, fields, errors):
    speaker, category, relation, previous, text, note = fields
    for f in fields:
        if "\t" in f or "\n" in f or "\r" in f or '"' in f:
            errors.append(f"{where}: tab, newline or ASCII double quote in a field")
        if f != f.strip():
            errors.append(f"{where}: leading or trailing whitespace in a field")
    allowed = set(VIOLATIONS[lang]) | {"none"}
    if speaker not in ("agent", "customer"):
        errors.append(f"{where}: bad speaker {speaker!r}")
    if category not in allowed:
        errors.append(f"{where}: category {category!r} not allowed for {lang}")
    if not text:
        errors.append(f"{where}: empty text")
    if not note:
        errors.append(f"{where}: empty note")
    if speaker == "agent" and relation not in AGENT_RELATIONS:
        errors.append(f"{where}: agent relation {relation!r} invalid")
    if speaker == "customer":
        if relation != "unknown":
            errors.append(f"{where}: customer relation must be unknown")
        if previous:
            errors.append(f"{where}: customer rows must have empty previous")
        if category != "none":
            errors.append(f"{where}: customer rows must be category none")
    if category in NEEDS_PREVIOUS and not previous:
        errors.append(f"{where}: {category} requires previous")
    if category == "pressure" and relation != "debtor":
        errors.append(f"{where}: pressure rows must be debtor")
    if category in ("third_party_disclosure", "third_party_collection") and relation == "debtor":
        errors.append(f"{where}: {category} rows must not be debtor")
    if category == "missing_self_identification" and relation != "unknown":
        errors.append(f"{where}: missing_self_identification rows must be unknown")
    is_asr = note.startswith("asr-garbled:")
    if "asr" in note.lower() and not is_asr:
        errors.append(f"{where}: note mentions ASR but does not start with 'asr-garbled:'")
    if lang == "zh":
        if not has_cjk(text):
            errors.append(f"{where}: Mandarin text without CJK")
        if previous and not has_cjk(previous):
            errors.append(f"{where}: Mandarin previous without CJK")
        if is_asr and has_punct(text):
            errors.append(f"{where}: asr-garbled Mandarin text contains punctuation")
    else:
        if has_cjk(text) or has_cjk(previous):
            errors.append(f"{where}: English text or previous contains CJK")
        if is_asr and not EN_ASR_RE.match(text):
            errors.append(f"{where}: asr-garbled English text must be lowercase words only")
    for label, f in (("previous", previous), ("text", text), ("note", note)):
        check_numbers(f, f"{where} {label}", errors)
    return is_asr


def pct(n, d):
    return 100.0 * n / d if d else 0.0


def main():
    errors = []
    rows = load(errors)
    stats = {}
    seen = collections.defaultdict(dict)
    for lang in ("zh", "en"):
        cat = collections.Counter()
        n_customer = n_asr = 0
        for where, _, fields in rows[lang]:
            is_asr = validate_row(where, lang, fields, errors)
            key = (fields[3], fields[4])
            if key in seen[lang]:
                errors.append(f"{where}: duplicate of {seen[lang][key]} (same previous and text)")
            else:
                seen[lang][key] = where
            cat[fields[1]] += 1
            n_customer += fields[0] == "customer"
            n_asr += is_asr
        total = len(rows[lang])
        stats[lang] = (total, cat, n_customer, n_asr)
        if total == 0:
            errors.append(f"{lang}: no rows")
            continue
        for c in VIOLATIONS[lang]:
            if not 15 <= cat[c] <= 21:
                errors.append(f"{lang}: {c} has {cat[c]} rows (need 15-21)")
        checks = (("none", cat["none"], 35, 45), ("customer", n_customer, 6, 10),
                  ("asr-garbled", n_asr, 12, 18))
        for label, n, lo, hi in checks:
            if not lo <= pct(n, total) <= hi:
                errors.append(f"{lang}: {label} share {pct(n, total):.1f}% outside {lo}-{hi}%")
    grand = len(rows["zh"]) + len(rows["en"])
    if grand < 480:
        errors.append(f"only {grand} rows (need at least 480)")
    for lang in ("zh", "en"):
        if grand and not 45 <= pct(len(rows[lang]), grand) <= 55:
            errors.append(f"{lang}: {pct(len(rows[lang]), grand):.1f}% of rows, not about half")

    if errors:
        for e in errors:
            print("ERROR:", e, file=sys.stderr)
        print(f"{len(errors)} error(s); nothing written", file=sys.stderr)
        return 1

    lines = ["\t".join(HEADER)]
    for lang in ("zh", "en"):
        ordered = [fields for _, _, fields in rows[lang]]
        random.Random(SEED).shuffle(ordered)
        for i, (speaker, category, relation, previous, text, note) in enumerate(ordered, 1):
            lines.append("\t".join([f"{lang}-{i:03d}", lang, speaker, category,
                                    relation, previous, text, note]))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    tmp = OUT + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, OUT)

    for lang in ("zh", "en"):
        total, cat, n_customer, n_asr = stats[lang]
        print(f"{lang}: {total} rows, none {cat['none']} ({pct(cat['none'], total):.1f}%), "
              f"customer {n_customer} ({pct(n_customer, total):.1f}%), "
              f"asr-garbled {n_asr} ({pct(n_asr, total):.1f}%)")
        for c in VIOLATIONS[lang] + ["none"]:
            print(f"  {c}: {cat[c]}")
    print(f"wrote {OUT} ({grand} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
