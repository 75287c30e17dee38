"""Generate the English sample collection calls in samples/calls (acme_*.flac/.json/.labels.json/.segments.tsv).

Each call is a script of turns; the labels below are written next to the words that violate (or satisfy)
the FDCPA / Regulation F rules, so they stay honest when a script changes. The audio is made the same way
as the Mandarin sample calls: every turn is synthesised (here with espeak-ng, which Whisper understands in
English), placed on its own channel (agent left, customer right) with short gaps and no overlap, band-limited
to the telephone band, resampled to 8 kHz with sox, given a faint line-noise floor and written as 16-bit
stereo FLAC.

Needs: espeak-ng and sox on PATH (Debian: apt-get install -y espeak-ng sox); numpy and soundfile.
Run:   python scripts/make_english_samples.py [--out samples/calls]
The output is deterministic for a given espeak-ng version (1.51 made the committed files).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile

SAMPLE_RATE = 8000
AGENT_VOICE = ("en-us+m3", 135, 3)  # espeak-ng voice+variant, words per minute, extra gap between words (10 ms)
CUSTOMER_VOICE = ("en-us+f2", 135, 2)
NOISE_DBFS = -63.0
LEAD_IN_S = 0.5
TAIL_S = 0.6
MAX_CALL_S = 40.0
MINI_MIRANDA = "This is an attempt to collect a debt and any information obtained will be used for that purpose."


@dataclass(frozen=True)
class Turn:
    role: str  # agent | customer
    text: str


@dataclass(frozen=True)
class Violation:
    category: str
    turn: int | None  # 0-based row of segments.tsv (data rows), None for an absence across the call
    rule: str  # the regulations.md id
    note: str


@dataclass(frozen=True)
class ScriptedCall:
    call_id: str
    sidecar: dict
    turns: tuple[Turn, ...]
    violations: tuple[Violation, ...] = ()
    customer_emotion: str = "calm"
    complaint_intent: bool = False
    seed: int = 0
    notes: tuple[str, ...] = field(default=())


def agent(text: str) -> Turn:
    return Turn("agent", text)


def customer(text: str) -> Turn:
    return Turn("customer", text)


def _sidecar(call_id: str, agency: str, agent_id: str, account_id: str, number: str, relation: str, product: str,
             bucket: str, started_at: str) -> dict:
    return {"call_id": call_id, "agency": agency, "agent_id": agent_id, "account_id": account_id,
            "callee_number": number, "callee_relation": relation, "product": product,
            "delinquency_bucket": bucket, "started_at": started_at, "direction": "outbound",
            "channels": {"left": "agent", "right": "customer"}}


CALLS = (
    ScriptedCall(
        call_id="acme_01",
        sidecar=_sidecar("acme_01", "Acme Recovery LLC", "AR-1021", "NWB-CC-5581002", "555****0142", "debtor",
                         "credit_card", "M2", "2026-11-03T14:05:10-05:00"),
        turns=(
            agent("Hello, this is Mark Davis with Acme Recovery. This call is recorded. Is this John Miller?"),
            customer("Yes, this is John."),
            agent(MINI_MIRANDA + " Your card balance of twelve hundred dollars is past due."),
            customer("I know. I lost my job last month."),
            agent("I understand. We can offer a plan of one hundred dollars a month."),
            customer("Okay, that would help. Thank you."),
        ),
        seed=1,
        notes=("compliant: identifies self and company, mini-Miranda before the debt, offers a plan",),
    ),
    ScriptedCall(
        call_id="acme_02",
        sidecar=_sidecar("acme_02", "acme-recovery", "AR-1047", "NWB-PL-7730418", "555****0917", "debtor",
                         "personal_loan", "M3", "2026-11-04T10:22:45-05:00"),
        turns=(
            agent("This is Acme Recovery calling for Sarah Jones."),
            customer("Speaking."),
            agent("You owe eight hundred dollars on your loan. Pay today or the police will arrest you tonight."),
            customer("Arrest me? That cannot be legal. I will report you."),
            agent("If you do not pay now, you will go to jail."),
        ),
        violations=(
            Violation("missing_mini_miranda", None, "US-07",
                      "the debt is discussed without the attempt-to-collect-a-debt disclosure"),
            Violation("false_consequence", 2, "US-06", "threatens arrest by the police for non-payment"),
            Violation("false_consequence", 4, "US-06", "threatens jail for non-payment"),
        ),
        customer_emotion="angry",
        complaint_intent=True,
        seed=2,
    ),
    ScriptedCall(
        call_id="acme_03",
        sidecar=_sidecar("acme_03", "Acme Recovery LLC", "AR-1047", "NWB-CC-6612950", "555****0388", "third_party",
                         "credit_card", "M4", "2026-11-05T16:40:03-05:00"),
        turns=(
            agent("Hi, this is Acme Recovery. May I speak with David Brown?"),
            customer("No, this is his neighbor. He is not home."),
            agent("Please tell David that he owes two thousand dollars on his credit card. His payment is ninety days late."),
            customer("Why are you telling me this?"),
            agent("Because David never pays his debts. Have him call us back today."),
        ),
        violations=(
            Violation("third_party_disclosure", 2, "US-03", "tells a neighbour the amount and that it is overdue"),
            Violation("third_party_disclosure", 4, "US-03", "tells a neighbour that the consumer never pays his debts"),
        ),
        seed=3,
    ),
    ScriptedCall(
        call_id="acme_04",
        sidecar=_sidecar("acme_04", "Acme Recovery LLC", "AR-1021", "NWB-CC-4409127", "555****0554", "third_party",
                         "credit_card", "M1", "2026-11-06T11:15:30-05:00"),
        turns=(
            agent("Hello, this is Mark Davis. May I speak with Lisa Green?"),
            customer("She is not here right now. I am her sister."),
            agent("Could you ask her to call Mark back at this number? It is a personal business matter."),
            customer("Sure, I will tell her."),
            agent("Thank you very much. Have a good day."),
        ),
        seed=4,
        notes=("compliant third-party call: asks only for a call back and does not mention the debt "
               "(no mini-Miranda to a third party: it would disclose the debt)",),
    ),
)


def _synthesise(turn: Turn, workdir: Path, index: int) -> np.ndarray:
    """One turn as 8 kHz float samples, band-limited to 300–3400 Hz."""
    voice, speed, word_gap = AGENT_VOICE if turn.role == "agent" else CUSTOMER_VOICE
    raw, telephone = workdir / f"turn{index}.wav", workdir / f"turn{index}.8k.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-g", str(word_gap), "-w", str(raw), turn.text], check=True)
    subprocess.run(["sox", str(raw), "-b", "16", str(telephone), "sinc", "-a", "80", "300-3400",
                    "rate", "-v", str(SAMPLE_RATE), "norm", "-3"], check=True)
    samples, rate = soundfile.read(telephone, dtype="float32")
    assert rate == SAMPLE_RATE
    return _trim_silence(samples)


def _trim_silence(samples: np.ndarray, threshold: float = 0.01) -> np.ndarray:
    loud = np.flatnonzero(np.abs(samples) > threshold)
    return samples[max(loud[0] - 80, 0): loud[-1] + 80] if len(loud) else samples


def render(call: ScriptedCall, out_dir: Path) -> float:
    """Write the call's flac, sidecar, segments.tsv and labels.json; return its duration."""
    rng = np.random.default_rng(call.seed)
    with tempfile.TemporaryDirectory() as tmp:
        pieces = [_synthesise(turn, Path(tmp), i) for i, turn in enumerate(call.turns)]
    starts, cursor = [], LEAD_IN_S
    for piece in pieces:
        starts.append(cursor)
        cursor += len(piece) / SAMPLE_RATE + float(rng.triangular(0.35, 0.55, 1.0))
    duration = cursor - 0.55 + TAIL_S
    if duration > MAX_CALL_S:
        raise SystemExit(f"{call.call_id}: {duration:.1f} s is over the {MAX_CALL_S:g} s budget; shorten the script")
    frames = int(round(duration * SAMPLE_RATE))
    noise_rms = 10 ** (NOISE_DBFS / 20)
    stereo = rng.normal(0.0, noise_rms, size=(frames, 2)).astype(np.float32)
    rows = []
    for turn, piece, start in zip(call.turns, pieces, starts):
        channel = 0 if turn.role == "agent" else 1
        level = 0.9 if turn.role == "agent" else (1.0 if call.customer_emotion == "angry" else 0.75)
        first = int(round(start * SAMPLE_RATE))
        stereo[first:first + len(piece), channel] += piece * level
        end = start + len(piece) / SAMPLE_RATE
        rows.append(f"{start:.3f}\t{end:.3f}\t{'L' if channel == 0 else 'R'}\t{turn.role}\t{turn.text}")
    soundfile.write(out_dir / f"{call.call_id}.flac", np.clip(stereo, -1, 1), SAMPLE_RATE, subtype="PCM_16",
                    format="FLAC")
    (out_dir / f"{call.call_id}.json").write_text(json.dumps(call.sidecar, indent=2) + "\n", encoding="utf-8")
    (out_dir / f"{call.call_id}.segments.tsv").write_text(
        "start_s\tend_s\tchannel\trole\ttext\n" + "\n".join(rows) + "\n", encoding="utf-8")
    labels = {
        "language": "en",
        "violations": [{"category": v.category, "turn": v.turn, "rule": v.rule, "note": v.note}
                       for v in call.violations],
        "customer_emotion": call.customer_emotion,
        "complaint_intent": call.complaint_intent,
        "compliant": not call.violations,
    }
    for violation in call.violations:  # a labelled turn must be an agent turn of this script
        assert violation.turn is None or call.turns[violation.turn].role == "agent", (call.call_id, violation)
    (out_dir / f"{call.call_id}.labels.json").write_text(json.dumps(labels, indent=2) + "\n", encoding="utf-8")
    return duration


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "samples" / "calls")
    args = parser.parse_args()
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(f"missing {', '.join(missing)}: apt-get install -y espeak-ng sox")
    args.out.mkdir(parents=True, exist_ok=True)
    manifest = ["call_id\tduration_s\tcallee_relation\tstarted_at\tviolations\tcompliant"]
    for call in CALLS:
        duration = render(call, args.out)
        categories = ",".join(v.category for v in call.violations) or "none"
        manifest.append(f"{call.call_id}\t{duration:.2f}\t{call.sidecar['callee_relation']}\t"
                        f"{call.sidecar['started_at']}\t{categories}\t{str(not call.violations).lower()}")
        print(f"{call.call_id}: {duration:.1f} s, {len(call.turns)} turns, violations: {categories}")
    (args.out / "MANIFEST-english.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
