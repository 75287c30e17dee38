#!/usr/bin/env python3
"""Build utterances.tsv for evaluation set b15 from the hand-written batch files.

Standard library only. Reads batches/*.txt (sorted), validates every row, shuffles each
language with a fresh random.Random(SEED) (zh first), assigns ids, writes utterances.tsv via a
temporary file, re-reads and checks it, and prints a count table and a mix table.
Exits with status 1 and writes nothing if any check fails.
"""
import os
import random
import re
import sys

SEED = 1515
HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT_PATH = os.path.join(HERE, "utterances.tsv")
LANGS = ("zh", "en")
HEADER = ["id", "language", "speaker", "category", "callee_relation", "previous", "text", "note"]

CATEGORIES = {
    "zh": ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
           "pressure", "missing_self_identification", "none"],
    "en": ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
           "third_party_collection", "pressure", "mini_miranda", "cease_ignored",
           "attorney_represented", "none"],
}
SPEAKERS = {"agent", "customer"}
RELATIONS = {"debtor", "third_party", "unknown"}
NEEDS_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
NOT_DEBTOR = {"third_party_disclosure", "third_party_collection"}
ASR_PREFIX = "asr-garbled:"

VIOLATION_MIN, VIOLATION_MAX = 15, 21
MIN_TOTAL = 480
SHARE_RANGES = {  # warnings only
    "none": (0.35, 0.45),
    "asr-garbled": (0.12, 0.18),
    "customer": (0.06, 0.10),
}

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")
# Anything shaped like a phone number: optional area code, then ddd-dddd (separator - . or space).
PHONE = re.compile(r"(?<!\d)(?:\(?\d{3}\)?[-. ]?)?\d{3}[-. ]\d{4}(?!\d)")
PHONE_OK = re.compile(r"555-01\d\d")
LONG_DIGITS = re.compile(r"\d{7,}")
# Spelled-out digit runs of 7+ words (en) are also treated as a long number.
DIGIT_WORDS = r"(?:zero|oh|one|two|three|four|five|six|seven|eight|nine)"
LONG_DIGIT_WORDS = re.compile(r"\b" + DIGIT_WORDS + r"(?:[\s-]+" + DIGIT_WORDS + r"){6,}\b", re.I)


def fail(errors):
    for e in errors:
        print("ERROR: " + e, file=sys.stderr)
    print("build failed: %d error(s); nothing written" % len(errors), file=sys.stderr)
    sys.exit(1)


def batch_files():
    names = sorted(n for n in os.listdir(BATCH_DIR) if n.endswith(".txt"))
    return names


def check_numbers(where, field_name, value, errors):
    for m in PHONE.finditer(value):
        tail = m.group(0)[-8:]
        if m.group(0) != tail or not PHONE_OK.fullmatch(tail):
            errors.append("%s: %s has a phone-like number %r (only 555-01xx allowed)"
                          % (where, field_name, m.group(0)))
    if LONG_DIGITS.search(value):
        errors.append("%s: %s has a run of 7+ digits" % (where, field_name))
    if LONG_DIGIT_WORDS.search(value):
        errors.append("%s: %s has 7+ spelled-out digits in a row" % (where, field_name))


def read_batches(errors):
    rows = {lang: [] for lang in LANGS}
    names = batch_files()
    if not names:
        errors.append("no batch files in batches/")
    for name in names:
        lang = name.split("_", 1)[0]
        if lang not in LANGS or not re.fullmatch(r"(zh|en)_\d\d\.txt", name):
            errors.append("%s: file name must be zh_NN.txt or en_NN.txt" % name)
            continue
        with open(os.path.join(BATCH_DIR, name), encoding="utf-8", newline="") as fh:
            raw = fh.read()
        if "\r" in raw:
            errors.append("%s: contains carriage returns" % name)
        for lineno, line in enumerate(raw.split("\n"), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = "%s:%d" % (name, lineno)
            row = check_row(where, lang, line, errors)
            if row is not None:
                rows[lang].append(row)
    return rows


def check_row(where, lang, line, errors):
    parts = line.split("|")
    if len(parts) != 6:
        errors.append("%s: expected 6 |-separated fields, got %d" % (where, len(parts)))
        return None
    parts = [p.strip() for p in parts]
    speaker, category, relation, previous, text, note = parts
    bad = False
    for fname, value in zip(("speaker", "category", "callee_relation", "previous", "text", "note"), parts):
        for ch, label in (("\t", "tab"), ("\n", "newline"), ("\r", "carriage return"), ('"', "double quote")):
            if ch in value:
                errors.append("%s: %s contains a %s" % (where, fname, label))
                bad = True
    if speaker not in SPEAKERS:
        errors.append("%s: bad speaker %r" % (where, speaker))
        bad = True
    if category not in CATEGORIES[lang]:
        errors.append("%s: category %r not valid for %s" % (where, category, lang))
        bad = True
    if not text:
        errors.append("%s: empty text" % where)
        bad = True
    if not note:
        errors.append("%s: empty note" % where)
        bad = True
    if speaker == "customer":
        if category != "none" or relation != "none" or previous:
            errors.append("%s: customer rows need category none, relation none, empty previous" % where)
            bad = True
    elif speaker == "agent":
        if relation not in RELATIONS:
            errors.append("%s: bad callee_relation %r for an agent row" % (where, relation))
            bad = True
    if lang == "zh":
        if not CJK.search(text):
            errors.append("%s: zh text has no Chinese characters" % where)
            bad = True
    else:
        if CJK.search(text) or CJK.search(previous):
            errors.append("%s: en text/previous contains Chinese characters" % where)
            bad = True
    if category in NEEDS_PREVIOUS and not previous:
        errors.append("%s: %s needs a previous turn" % (where, category))
        bad = True
    if category == "pressure" and relation != "debtor":
        errors.append("%s: pressure rows must be said to the debtor" % where)
        bad = True
    if category in NOT_DEBTOR and relation == "debtor":
        errors.append("%s: %s rows cannot have relation debtor" % (where, category))
        bad = True
    if category == "missing_self_identification" and relation != "unknown":
        errors.append("%s: missing_self_identification rows must be unknown" % where)
        bad = True
    low = note.lower()
    if ("asr" in low or "garbled" in low) and not note.startswith(ASR_PREFIX):
        errors.append("%s: ASR note must start with %r" % (where, ASR_PREFIX))
        bad = True
    for fname, value in (("previous", previous), ("text", text), ("note", note)):
        n_before = len(errors)
        check_numbers(where, fname, value, errors)
        if len(errors) != n_before:
            bad = True
    if bad:
        return None
    return {"language": lang, "speaker": speaker, "category": category,
            "callee_relation": relation, "previous": previous, "text": text, "note": note}


def cross_checks(rows, errors, warnings):
    seen = {}
    for lang in LANGS:
        for r in rows[lang]:
            key = (lang, r["previous"], r["text"])
            if key in seen:
                errors.append("duplicate (language, previous, text): %s / %r" % (lang, r["text"]))
            seen[key] = True
    for lang in LANGS:
        for cat in CATEGORIES[lang]:
            if cat == "none":
                continue
            n = sum(1 for r in rows[lang] if r["category"] == cat)
            if not VIOLATION_MIN <= n <= VIOLATION_MAX:
                errors.append("%s/%s has %d rows (need %d-%d)" % (lang, cat, n, VIOLATION_MIN, VIOLATION_MAX))
    total = sum(len(rows[lang]) for lang in LANGS)
    if total < MIN_TOTAL:
        errors.append("only %d rows in all (need at least %d)" % (total, MIN_TOTAL))
    for lang in LANGS:
        n = len(rows[lang])
        if not n:
            errors.append("no %s rows" % lang)
            continue
        for label, share in shares(rows[lang]).items():
            lo, hi = SHARE_RANGES[label]
            if not lo <= share <= hi:
                warnings.append("%s %s share %.1f%% outside %d-%d%%" % (lang, label, 100 * share, 100 * lo, 100 * hi))


def shares(lang_rows):
    n = len(lang_rows)
    return {
        "none": sum(r["category"] == "none" for r in lang_rows) / n,
        "asr-garbled": sum(r["note"].startswith(ASR_PREFIX) for r in lang_rows) / n,
        "customer": sum(r["speaker"] == "customer" for r in lang_rows) / n,
    }


def assemble(rows):
    out = []
    for lang in LANGS:
        lang_rows = list(rows[lang])
        random.Random(SEED).shuffle(lang_rows)
        for i, r in enumerate(lang_rows, 1):
            rec = dict(r)
            rec["id"] = "%s-%03d" % (lang, i)
            out.append(rec)
    return out


def write_and_verify(records, errors):
    tmp = OUT_PATH + ".tmp"
    lines = ["\t".join(HEADER)]
    for rec in records:
        lines.append("\t".join(rec[c] for c in HEADER))
    data = "\n".join(lines) + "\n"
    with open(tmp, "w", encoding="utf-8", newline="") as fh:
        fh.write(data)
    # Re-read and check.
    with open(tmp, encoding="utf-8", newline="") as fh:
        back = fh.read().split("\n")
    if back and back[-1] == "":
        back.pop()
    if not back or back[0].split("\t") != HEADER:
        errors.append("re-read: bad header")
    body = back[1:]
    if len(body) != len(records):
        errors.append("re-read: %d rows, expected %d" % (len(body), len(records)))
    expected_ids = []
    for lang in LANGS:
        n = sum(1 for r in records if r["language"] == lang)
        expected_ids += ["%s-%03d" % (lang, i) for i in range(1, n + 1)]
    got_ids = []
    for i, line in enumerate(body, 2):
        fields = line.split("\t")
        if len(fields) != len(HEADER):
            errors.append("re-read line %d: %d fields, expected %d" % (i, len(fields), len(HEADER)))
            continue
        got_ids.append(fields[0])
    if got_ids != expected_ids:
        errors.append("re-read: id sequence is not %s-001... then %s-001..." % LANGS)
    if errors:
        os.remove(tmp)
        return False
    os.replace(tmp, OUT_PATH)
    return True


def print_tables(records):
    all_cats = []
    for lang in LANGS:
        for c in CATEGORIES[lang]:
            if c not in all_cats:
                all_cats.append(c)
    all_cats = [c for c in all_cats if c != "none"] + ["none"]
    w = max(len(c) for c in all_cats + ["category", "total"])
    print("Count table (category x language)")
    print("%-*s %5s %5s %5s" % (w, "category", "zh", "en", "all"))
    for c in all_cats:
        counts = [sum(1 for r in records if r["language"] == l and r["category"] == c) for l in LANGS]
        cells = ["%5d" % n if c in CATEGORIES[l] else "%5s" % "-" for n, l in zip(counts, LANGS)]
        print("%-*s %s %5d" % (w, c, " ".join(cells), sum(counts)))
    tot = [sum(1 for r in records if r["language"] == l) for l in LANGS]
    print("%-*s %5d %5d %5d" % (w, "total", tot[0], tot[1], sum(tot)))
    print()
    print("Mix table (per language)")
    labels = [
        ("rows", lambda r: True),
        ("agent", lambda r: r["speaker"] == "agent"),
        ("customer", lambda r: r["speaker"] == "customer"),
        ("violation", lambda r: r["category"] != "none"),
        ("none", lambda r: r["category"] == "none"),
        ("none (agent)", lambda r: r["category"] == "none" and r["speaker"] == "agent"),
        ("asr-garbled", lambda r: r["note"].startswith(ASR_PREFIX)),
        ("with previous", lambda r: bool(r["previous"])),
        ("rel debtor", lambda r: r["callee_relation"] == "debtor"),
        ("rel third_party", lambda r: r["callee_relation"] == "third_party"),
        ("rel unknown", lambda r: r["callee_relation"] == "unknown"),
        ("rel none", lambda r: r["callee_relation"] == "none"),
    ]
    w2 = max(len(l) for l, _ in labels)
    print("%-*s %13s %13s" % (w2, "measure", "zh", "en"))
    for label, pred in labels:
        cells = []
        for lang, n in zip(LANGS, tot):
            k = sum(1 for r in records if r["language"] == lang and pred(r))
            cells.append("%5d (%5.1f%%)" % (k, 100.0 * k / n if n else 0.0))
        print("%-*s %s" % (w2, label, " ".join(cells)))


def main():
    errors, warnings = [], []
    rows = read_batches(errors)
    if not errors:
        cross_checks(rows, errors, warnings)
    if errors:
        fail(errors)
    records = assemble(rows)
    if not write_and_verify(records, errors):
        fail(errors)
    for w in warnings:
        print("WARNING: " + w)
    print_tables(records)
    print()
    print("wrote %s (%d rows)" % (os.path.basename(OUT_PATH), len(records)))


if __name__ == "__main__":
    main()
