#!/usr/bin/env python3
"""Validate batches/*.txt and write utterances.tsv (standard library only).

Exit status 1 and write nothing if any rule fails.
"""
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BATCH_DIR = os.path.join(HERE, "batches")
OUT = os.path.join(HERE, "utterances.tsv")

COMMON = {"threat", "insult", "impersonation", "false_consequence",
          "third_party_disclosure", "pressure"}
CATS = {
    "zh": COMMON | {"missing_self_identification", "none"},
    "en": COMMON | {"third_party_collection", "mini_miranda", "cease_ignored",
                    "attorney_represented", "none"},
}
NEEDS_PREVIOUS = {"mini_miranda", "cease_ignored", "attorney_represented"}
NEVER_DEBTOR = {"third_party_disclosure", "third_party_collection"}
AGENT_REL = {"debtor", "third_party", "unknown"}
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002a6df]")
FILE_RE = re.compile(r"^(zh|en)_(\d{2})\.txt$")
# any run of digits possibly joined by separators that could form a phone/ID number
DIGIT_GROUP = re.compile(r"\d(?:[\d\- .()]*\d)?")
PHONE_OK = re.compile(r"^555-01\d\d$")
PHONE_LIKE = re.compile(r"\(?\d{3}\)?[-. ]?\d{3}[-. ]\d{4}|\b\d{3}[-.]\d{4}\b")

errors = []


def err(where, msg):
    errors.append(f"{where}: {msg}")


def check_numbers(where, field, value):
    for m in re.finditer(r"\d{7,}", value):
        err(where, f"{field}: run of 7+ digits {m.group(0)!r}")
    for m in PHONE_LIKE.finditer(value):
        if not PHONE_OK.match(m.group(0)):
            err(where, f"{field}: phone number not 555-01xx: {m.group(0)!r}")
    for m in DIGIT_GROUP.finditer(value):
        s = m.group(0)
        digits = re.sub(r"\D", "", s)
        if len(digits) >= 7 and not PHONE_OK.match(s.strip()):
            # allow separated groups only if they are ordinary grouped amounts
            if not re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", s):
                err(where, f"{field}: digit group with 7+ digits {s!r}")


def main():
    if not os.path.isdir(BATCH_DIR):
        print("no batches/ folder", file=sys.stderr)
        return 1
    names = sorted(os.listdir(BATCH_DIR))
    rows = {"zh": [], "en": []}
    seen_text = {}
    for name in names:
        m = FILE_RE.match(name)
        if not m:
            err(name, "unexpected file in batches/ (want zh_NN.txt or en_NN.txt)")
            continue
        lang = m.group(1)
        with open(os.path.join(BATCH_DIR, name), "rb") as fh:
            raw = fh.read()
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            err(name, f"not UTF-8: {e}")
            continue
        for ln, line in enumerate(content.split("\n"), 1):
            where = f"{name}:{ln}"
            line = line.rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = line.split("|")
            if len(parts) != 6:
                err(where, f"expected 6 fields, got {len(parts)}")
                continue
            parts = [p.strip() for p in parts]
            speaker, cat, rel, prev, text, note = parts
            for fname, v in zip(("speaker", "category", "callee_relation",
                                 "previous", "text", "note"), parts):
                if "\t" in v or "\n" in v or "\r" in v or '"' in v:
                    err(where, f"{fname} contains tab, newline or ASCII double quote")
            if speaker not in ("agent", "customer"):
                err(where, f"bad speaker {speaker!r}")
            if cat not in CATS[lang]:
                err(where, f"category {cat!r} not allowed for {lang}")
            if not text:
                err(where, "empty text")
            if not note:
                err(where, "empty note")
            if speaker == "agent" and rel not in AGENT_REL:
                err(where, f"agent callee_relation {rel!r} invalid")
            if speaker == "customer":
                if rel != "unknown":
                    err(where, "customer rows need callee_relation unknown")
                if prev:
                    err(where, "customer rows need empty previous")
                if cat != "none":
                    err(where, "customer rows need category none")
            if cat in NEEDS_PREVIOUS and not prev:
                err(where, f"{cat} needs previous")
            if cat == "pressure" and rel != "debtor":
                err(where, "pressure rows must be debtor")
            if cat in NEVER_DEBTOR and rel == "debtor":
                err(where, f"{cat} rows must not be debtor")
            if cat == "missing_self_identification" and rel != "unknown":
                err(where, "missing_self_identification rows must be unknown")
            if "asr" in note.lower() and not note.startswith("asr-garbled:"):
                err(where, "note mentioning ASR must start with asr-garbled:")
            if lang == "zh" and not CJK.search(text):
                err(where, "Mandarin text without CJK")
            if lang == "en":
                if CJK.search(text) or CJK.search(prev):
                    err(where, "English text/previous contains CJK")
            for fname, v in (("previous", prev), ("text", text)):
                check_numbers(where, fname, v)
            key = (lang, text)
            if key in seen_text:
                err(where, f"duplicate text (also {seen_text[key]})")
            else:
                seen_text[key] = where
            rows[lang].append({
                "language": lang, "speaker": speaker, "category": cat,
                "callee_relation": rel, "previous": prev, "text": text,
                "note": note,
            })

    # distribution checks
    total = len(rows["zh"]) + len(rows["en"])
    if total < 480:
        err("all", f"only {total} rows, need at least 480")
    for lang in ("zh", "en"):
        rs = rows[lang]
        n = len(rs)
        if total and not (0.40 <= n / total <= 0.60):
            err(lang, f"language share {n}/{total} not about half")
        if not n:
            continue
        counts = {}
        for r in rs:
            counts[r["category"]] = counts.get(r["category"], 0) + 1
        for c in sorted(CATS[lang] - {"none"}):
            k = counts.get(c, 0)
            if not 15 <= k <= 21:
                err(lang, f"category {c} has {k} rows, need 15-21")
        share = lambda k: k / n
        none_n = counts.get("none", 0)
        if not 0.35 <= share(none_n) <= 0.45:
            err(lang, f"none share {none_n}/{n} outside 35-45%")
        cust = sum(r["speaker"] == "customer" for r in rs)
        if not 0.06 <= share(cust) <= 0.10:
            err(lang, f"customer share {cust}/{n} outside 6-10%")
        asr = sum(r["note"].startswith("asr-garbled:") for r in rs)
        if not 0.12 <= share(asr) <= 0.18:
            err(lang, f"asr-garbled share {asr}/{n} outside 12-18%")

    if errors:
        for e in errors:
            print("ERROR", e, file=sys.stderr)
        print(f"{len(errors)} error(s); nothing written", file=sys.stderr)
        return 1

    cols = ["id", "language", "speaker", "category", "callee_relation",
            "previous", "text", "note"]
    lines = ["\t".join(cols)]
    for lang in ("zh", "en"):
        rs = list(rows[lang])
        random.Random(1717).shuffle(rs)
        for i, r in enumerate(rs, 1):
            r = dict(r, id=f"{lang}-{i:03d}")
            lines.append("\t".join(r[c] for c in cols))
    data = ("\n".join(lines) + "\n").encode("utf-8")
    tmp = OUT + ".tmp"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, OUT)
    print(f"wrote {OUT}: zh={len(rows['zh'])} en={len(rows['en'])} total={total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
