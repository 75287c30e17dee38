#!/usr/bin/env python3
"""Validate the hand-written rows in batches/ and build utterances.tsv (set b19).

Python 3 standard library only.  Usage:  python3 build.py

Every row of batches/zh_NN.txt and batches/en_NN.txt is checked.  Only if every
check passes is utterances.tsv written (via a temporary file and an atomic
rename).  On any failure the errors are printed (file, line, field) and the
script exits 1 without writing or touching an existing utterances.tsv.
"""

import collections
import os
import random
import re
import sys
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT_PATH = os.path.join(HERE, "utterances.tsv")
SEED = 1919
FIELDS = ["speaker", "category", "callee_relation", "previous", "text", "note"]
HEADER = ["id", "language", "speaker", "category", "callee_relation", "previous", "text", "note"]

LANGS = ("zh", "en")
SPEAKERS = {"agent", "customer"}
RELATIONS = {"debtor", "third_party", "unknown"}
CATEGORIES = {
    "zh": ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
           "pressure", "missing_self_identification", "none"],
    "en": ["threat", "insult", "impersonation", "false_consequence", "third_party_disclosure",
           "third_party_collection", "mini_miranda", "cease_ignored", "attorney_represented",
           "pressure", "none"],
}
NEEDS_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
NEVER_DEBTOR = {"third_party_disclosure", "third_party_collection"}
ALWAYS_UNKNOWN = {"missing_self_identification"}

# note = [asr-garbled: ]style; register; comment
ASR_PREFIX = "asr-garbled:"
STYLES = {"explicit", "implicit", "hard-neg", "compliant", "customer"}
REGISTERS = {
    "zh": {"formal", "neutral", "colloquial", "regional"},
    "en": {"formal", "neutral", "colloquial", "southern", "slang"},
}

# ranges (inclusive)
MIN_TOTAL = 480
LANG_SHARE = (0.45, 0.55)
VIOLATION_PER_CAT = (15, 21)
NONE_SHARE = (0.35, 0.45)
CUSTOMER_SHARE = (0.06, 0.10)
ASR_SHARE = (0.12, 0.18)
# a few Traditional characters should appear in Mandarin ASR rows; at least this share of them
ZH_ASR_TRAD_MIN_SHARE = 0.20
# hand-picked characters that exist only in Traditional script (their Simplified forms differ)
TRADITIONAL_ONLY = set(
    "們們個來時會說這對國過後見還給錢試樣執領導舉麗強謝銀兩萬債電話號碼線問題讓認識裡處報"
    "開關門長東車馬鳥魚為與從產業務員學習實際經濟發現聽邊遠運進達動總難應當據確變記錄寫讀請"
)

BATCH_NAME = re.compile(r"^(zh|en)_(\d\d)\.txt$")
CJK_IDEOGRAPH = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_ANY = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
EN_ASR = re.compile(r"^[a-z]+( [a-z]+)*$")
DIGIT_RUN = re.compile(r"\d+")
PHONE7 = re.compile(r"(?<!\d)(\d{3})[-.\s](\d{4})(?!\d)")
PHONE10 = re.compile(r"(?<!\d)\(?\d{3}\)?[-.\s]?\d{3}[-.\s]\d{4}(?!\d)")
CARD_GROUPS = re.compile(r"(?<!\d)\d{4}[ -]\d{4}(?!\d)")
FRAGMENT_CUE = re.compile(
    r"(尾号|后四位|末四位|后4位|ending in|ending|last four|last 4)\D{0,6}?(\d+)", re.IGNORECASE)
ALLOWED_PHONE = re.compile(r"^555-01\d\d$")


def is_punct_or_symbol_or_space(ch):
    cat = unicodedata.category(ch)
    return cat[0] in ("P", "S", "Z") or ch.isspace()


def normalise(text):
    """Key for near-duplicate detection: casefold, keep letters/digits/ideographs only."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def check_numbers(value, where, field, errors):
    for m in DIGIT_RUN.finditer(value):
        run = m.group(0)
        if len(run) >= 7:
            errors.append(f"{where}: {field}: run of {len(run)} digits ({run})")
        elif len(run) >= 5:
            before = value[max(0, m.start() - 1):m.start()]
            after = value[m.end():m.end() + 1]
            if before not in ("$", "¥") and after not in ("元",):
                errors.append(f"{where}: {field}: {len(run)}-digit number {run} looks like an ID; "
                              "use a 4-digit fragment")
    for m in PHONE10.finditer(value):
        errors.append(f"{where}: {field}: 10-digit phone number {m.group(0)!r}; only 555-01xx allowed")
    for m in PHONE7.finditer(value):
        if not ALLOWED_PHONE.match(m.group(0)):
            errors.append(f"{where}: {field}: phone number {m.group(0)!r} is not 555-01xx")
    for m in CARD_GROUPS.finditer(value):
        if not ALLOWED_PHONE.match(m.group(0)):
            errors.append(f"{where}: {field}: grouped digits {m.group(0)!r} look like a card number")
    for m in FRAGMENT_CUE.finditer(value):
        if len(m.group(2)) != 4:
            errors.append(f"{where}: {field}: card/ID fragment after {m.group(1)!r} must be exactly "
                          f"4 digits, got {m.group(2)!r}")


def parse_note(note):
    """Return (is_asr, style, register, comment) or raise ValueError."""
    is_asr = note.startswith(ASR_PREFIX)
    body = note[len(ASR_PREFIX):].strip() if is_asr else note
    if not is_asr and "asr-garbled" in note.lower():
        raise ValueError("'asr-garbled' must be the very start of the note, written 'asr-garbled:'")
    parts = [p.strip() for p in body.split(";")]
    if len(parts) < 3 or not all(parts[:3]):
        raise ValueError("note must be '[asr-garbled: ]style; register; comment'")
    return is_asr, parts[0], parts[1], ";".join(parts[2:]).strip()


def validate_row(lang, where, fields, errors):
    """Validate one row; append errors; return a dict for the row or None."""
    row = dict(zip(FIELDS, fields))
    n_before = len(errors)

    for name, value in row.items():
        if "\t" in value or "\n" in value or "\r" in value:
            errors.append(f"{where}: {name}: contains tab or newline")
        if '"' in value:
            errors.append(f"{where}: {name}: contains an ASCII double quote")
        if value != value.strip():
            errors.append(f"{where}: {name}: leading or trailing whitespace")
        check_numbers(value, where, name, errors)

    speaker, category, relation = row["speaker"], row["category"], row["callee_relation"]
    previous, text, note = row["previous"], row["text"], row["note"]

    if speaker not in SPEAKERS:
        errors.append(f"{where}: speaker: {speaker!r} not in {sorted(SPEAKERS)}")
    if category not in CATEGORIES[lang]:
        errors.append(f"{where}: category: {category!r} not allowed for {lang}")
    if relation not in RELATIONS:
        errors.append(f"{where}: callee_relation: {relation!r} not in {sorted(RELATIONS)}")
    if not text:
        errors.append(f"{where}: text: empty")
    if not note:
        errors.append(f"{where}: note: empty")

    # speaker / category / relation / previous rules
    if speaker == "customer":
        if category != "none":
            errors.append(f"{where}: category: customer rows must be 'none'")
        if relation != "unknown":
            errors.append(f"{where}: callee_relation: customer rows must be 'unknown'")
        if previous:
            errors.append(f"{where}: previous: customer rows must have an empty previous")
    if category not in ("none",) and speaker != "agent":
        errors.append(f"{where}: speaker: violation rows must be agent rows")
    if category in NEEDS_PREVIOUS and not previous:
        errors.append(f"{where}: previous: required for {category}")
    if category in NEVER_DEBTOR and relation == "debtor":
        errors.append(f"{where}: callee_relation: {category} rows are never 'debtor'")
    if category in ALWAYS_UNKNOWN and relation != "unknown":
        errors.append(f"{where}: callee_relation: {category} rows must be 'unknown'")

    # script rules
    if lang == "zh":
        if not CJK_IDEOGRAPH.search(text):
            errors.append(f"{where}: text: Mandarin text contains no CJK characters")
        if previous and not CJK_IDEOGRAPH.search(previous):
            errors.append(f"{where}: previous: Mandarin previous contains no CJK characters")
    else:
        if CJK_ANY.search(text):
            errors.append(f"{where}: text: English text contains CJK characters")
        if CJK_ANY.search(previous):
            errors.append(f"{where}: previous: English previous contains CJK characters")

    # note structure, style and register
    is_asr, style = False, None
    register = None
    try:
        is_asr, style, register, _comment = parse_note(note)
    except ValueError as exc:
        errors.append(f"{where}: note: {exc}")
    if style is not None:
        if style not in STYLES:
            errors.append(f"{where}: note: style {style!r} not in {sorted(STYLES)}")
        if register not in REGISTERS[lang]:
            errors.append(f"{where}: note: register {register!r} not in {sorted(REGISTERS[lang])}")
        if speaker == "customer" and style != "customer":
            errors.append(f"{where}: note: customer rows must use style 'customer'")
        if speaker == "agent" and category == "none" and style not in ("hard-neg", "compliant"):
            errors.append(f"{where}: note: agent 'none' rows use style 'hard-neg' or 'compliant'")
        if category != "none" and style not in ("explicit", "implicit"):
            errors.append(f"{where}: note: violation rows use style 'explicit' or 'implicit'")

    # ASR-garbled formats (and the converse: clean rows must not look garbled)
    if lang == "zh":
        has_punct = any(is_punct_or_symbol_or_space(ch) for ch in text)
        if is_asr and has_punct:
            bad = "".join(sorted({ch for ch in text if is_punct_or_symbol_or_space(ch)}))
            errors.append(f"{where}: text: Mandarin asr-garbled text has punctuation/space {bad!r}")
        if not is_asr and not has_punct:
            errors.append(f"{where}: text: Mandarin clean text has no punctuation; "
                          "mark it asr-garbled or punctuate it")
    else:
        if is_asr and not EN_ASR.match(text):
            errors.append(f"{where}: text: English asr-garbled text must be lowercase letters and "
                          "single spaces only")
        if not is_asr and EN_ASR.match(text):
            errors.append(f"{where}: text: English clean text looks ASR-garbled; mark it or punctuate it")

    if len(errors) != n_before:
        return None
    row.update(language=lang, is_asr=is_asr, style=style, register=register)
    return row


def load(errors):
    """Read every batch file; return {lang: [rows in file order]}."""
    rows = {lang: [] for lang in LANGS}
    if not os.path.isdir(BATCH_DIR):
        errors.append(f"{BATCH_DIR}: missing batches folder")
        return rows
    names = sorted(os.listdir(BATCH_DIR))
    for name in names:
        m = BATCH_NAME.match(name)
        if not m:
            errors.append(f"batches/{name}: unexpected file (expected zh_NN.txt or en_NN.txt)")
            continue
        lang = m.group(1)
        path = os.path.join(BATCH_DIR, name)
        try:
            with open(path, encoding="utf-8", newline="") as fh:
                content = fh.read()
        except UnicodeDecodeError as exc:
            errors.append(f"batches/{name}: not valid UTF-8 ({exc})")
            continue
        if "\r" in content:
            errors.append(f"batches/{name}: contains carriage returns; use LF line endings")
        for lineno, line in enumerate(content.split("\n"), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"batches/{name}:{lineno}"
            if "\t" in line:
                errors.append(f"{where}: line: contains a tab")
            fields = line.split("|")
            if len(fields) != len(FIELDS):
                errors.append(f"{where}: line: {len(fields)} fields, expected {len(FIELDS)} "
                              f"({'|'.join(FIELDS)})")
                continue
            row = validate_row(lang, where, fields, errors)
            if row is not None:
                row["where"] = where
                rows[lang].append(row)
    return rows


def check_duplicates(rows, errors):
    for lang in LANGS:
        exact, loose = {}, {}
        for row in rows[lang]:
            text, where = row["text"], row["where"]
            if text in exact:
                errors.append(f"{where}: text: duplicate of {exact[text]}")
                continue
            exact[text] = where
            key = normalise(text)
            if key in loose:
                errors.append(f"{where}: text: near-duplicate of {loose[key]} "
                              "(same letters ignoring case and punctuation)")
            else:
                loose[key] = where


def in_range(value, lo, hi):
    return lo <= value <= hi


def check_mix(rows, errors):
    total = sum(len(rows[lang]) for lang in LANGS)
    if total < MIN_TOTAL:
        errors.append(f"mix: total rows {total} < {MIN_TOTAL}")
    for lang in LANGS:
        n = len(rows[lang])
        if total and not in_range(n / total, *LANG_SHARE):
            errors.append(f"mix: {lang} share {n / total:.1%} outside {LANG_SHARE[0]:.0%}-{LANG_SHARE[1]:.0%}")
        if not n:
            errors.append(f"mix: no {lang} rows")
            continue
        cats = collections.Counter(r["category"] for r in rows[lang])
        for cat in CATEGORIES[lang]:
            if cat == "none":
                continue
            if not in_range(cats[cat], *VIOLATION_PER_CAT):
                errors.append(f"mix: {lang} {cat}: {cats[cat]} rows outside "
                              f"{VIOLATION_PER_CAT[0]}-{VIOLATION_PER_CAT[1]}")
        share = cats["none"] / n
        if not in_range(share, *NONE_SHARE):
            errors.append(f"mix: {lang} none share {share:.1%} outside 35-45%")
        cust = sum(1 for r in rows[lang] if r["speaker"] == "customer") / n
        if not in_range(cust, *CUSTOMER_SHARE):
            errors.append(f"mix: {lang} customer share {cust:.1%} outside 6-10%")
        asr_rows = [r for r in rows[lang] if r["is_asr"]]
        asr = len(asr_rows) / n
        if not in_range(asr, *ASR_SHARE):
            errors.append(f"mix: {lang} asr-garbled share {asr:.1%} outside 12-18%")
        if lang == "zh" and asr_rows:
            trad = sum(1 for r in asr_rows if any(ch in TRADITIONAL_ONLY for ch in r["text"]))
            if trad / len(asr_rows) < ZH_ASR_TRAD_MIN_SHARE:
                errors.append(f"mix: only {trad} of {len(asr_rows)} zh asr-garbled rows contain a "
                              f"Traditional character (need {ZH_ASR_TRAD_MIN_SHARE:.0%})")


def summary(rows):
    """Markdown tables for the README: counts by category and the mix."""
    out = []
    all_cats = []
    for lang in LANGS:
        for c in CATEGORIES[lang]:
            if c not in all_cats:
                all_cats.append(c)
    all_cats.remove("none")
    all_cats.append("none")
    out.append("| category | zh | en | total |")
    out.append("|---|---:|---:|---:|")
    counts = {lang: collections.Counter(r["category"] for r in rows[lang]) for lang in LANGS}
    for c in all_cats:
        zh = counts["zh"][c] if c in CATEGORIES["zh"] else None
        en = counts["en"][c] if c in CATEGORIES["en"] else None
        tot = (zh or 0) + (en or 0)
        out.append(f"| {c} | {'-' if zh is None else zh} | {'-' if en is None else en} | {tot} |")
    nz, ne = len(rows["zh"]), len(rows["en"])
    out.append(f"| **total** | **{nz}** | **{ne}** | **{nz + ne}** |")
    out.append("")

    def pct(k, n):
        return f"{k} ({k / n:.1%})" if n else "0"

    lines = []
    def add(label, fn):
        kz = sum(1 for r in rows["zh"] if fn(r))
        ke = sum(1 for r in rows["en"] if fn(r))
        lines.append(f"| {label} | {pct(kz, nz)} | {pct(ke, ne)} |")

    out.append("| mix | zh | en |")
    out.append("|---|---:|---:|")
    lines.append(f"| language share of all rows | {pct(nz, nz + ne)} | {pct(ne, nz + ne)} |")
    add("violation rows (agent)", lambda r: r["category"] != "none")
    add("none rows", lambda r: r["category"] == "none")
    add("- none: agent hard negatives", lambda r: r["category"] == "none" and r["style"] == "hard-neg")
    add("- none: agent compliant turns", lambda r: r["category"] == "none" and r["style"] == "compliant")
    add("- none: customer rows", lambda r: r["speaker"] == "customer")
    add("violation wording explicit", lambda r: r["style"] == "explicit")
    add("violation wording implicit / veiled", lambda r: r["style"] == "implicit")
    add("asr-garbled", lambda r: r["is_asr"])
    add("with previous (customer line)", lambda r: bool(r["previous"]))
    for rel in ("debtor", "third_party", "unknown"):
        add(f"callee_relation {rel}", lambda r, rel=rel: r["callee_relation"] == rel)
    for reg in ("formal", "neutral", "colloquial", "regional", "southern", "slang"):
        add(f"register {reg}", lambda r, reg=reg: r["register"] == reg)
    out.extend(lines)
    return "\n".join(out)


def main():
    errors = []
    rows = load(errors)
    check_duplicates(rows, errors)
    if not errors:
        check_mix(rows, errors)
    if errors:
        for e in errors:
            print(e)
        print(f"FAILED: {len(errors)} error(s); {os.path.basename(OUT_PATH)} not written")
        return 1

    out_lines = ["\t".join(HEADER)]
    for lang in LANGS:
        ordered = list(rows[lang])           # sorted file names, then line order
        random.Random(SEED).shuffle(ordered)  # fresh generator per language
        for i, row in enumerate(ordered, start=1):
            rid = f"{lang}-{i:03d}"
            out_lines.append("\t".join([rid, lang, row["speaker"], row["category"],
                                        row["callee_relation"], row["previous"], row["text"],
                                        row["note"]]))
    data = ("\n".join(out_lines) + "\n").encode("utf-8")
    tmp = OUT_PATH + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, OUT_PATH)
    print(summary(rows))
    print()
    print(f"OK: wrote {os.path.relpath(OUT_PATH, HERE)} with {len(out_lines) - 1} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
