"""Mono calls: how much of the speech gets the right speaker when a stereo call is delivered as one mixed channel.

    python bench/mono_split.py [CALLS_DIR ...] [--voices-only]

Each stereo call (left = agent, right = customer, a `<call>.segments.tsv` script with start_s, end_s, role) is
downmixed to one channel (the mean of the two: `sox in.flac -c 1 out.wav remix 1,2`, without clipping), then run
through the pipeline's transcription (asr.transcribe.transcribe_audio: voice split, Whisper, roles from what each
voice says). Printed per call and pooled:
  - voices: share of script speech time whose voice turn (asr.speakers.split_voices) is the right voice, with
    the better of the two voice → role mappings (the acoustic split alone, no text);
  - roles: share of script speech time covered by a transcript segment of the right speaker (time covered by no
    segment, or by a segment of the other speaker, counts as wrong) — the issue's measure;
  - segments: longest segment, and segments whose text lies in two script turns of different roles;
  - customer features: the customer's speech seconds from the split against the stereo customer channel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from asr.audio import load_audio, normalise_loudness  # noqa: E402
from asr.features import acoustic_features  # noqa: E402
from asr.speakers import split_voices  # noqa: E402
from asr.transcribe import TranscribeOptions, transcribe_audio  # noqa: E402
from tests.asr_fixtures import downmix, right_role_share  # noqa: E402
from tests.labelled_calls import script_turns  # noqa: E402

DEFAULT_DIRS = [REPO_ROOT / "samples" / "calls"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path, default=DEFAULT_DIRS)
    parser.add_argument("--voices-only", action="store_true", help="the acoustic split only (no Whisper)")
    args = parser.parse_args()
    calls = sorted(p for d in args.dirs for p in d.glob("*.segments.tsv")
                   if len(load_audio(p.with_name(p.name.replace(".segments.tsv", ".flac"))).channels) == 2)
    print("| call | voices right | roles right | longest segment s | segments across roles | customer speech s split / stereo |")
    print("|---|---|---|---|---|---|")
    totals = np.zeros(3)
    for script in calls:
        call_id = script.name.replace(".segments.tsv", "")
        flac = script.with_name(f"{call_id}.flac")
        sidecar = json.loads(flac.with_suffix(".json").read_text(encoding="utf-8"))
        turns = script_turns(script.parent, call_id)
        stereo = load_audio(flac)
        mono = downmix(stereo)
        voice_turns = split_voices(normalise_loudness(mono.channels[0].samples))
        as_is = [(t.start, t.end, "agent" if t.voice == 0 else "customer") for t in voice_turns]
        swapped = [(s, e, "customer" if r == "agent" else "agent") for s, e, r in as_is]
        voices_right, speech = max(right_role_share(turns, as_is), right_role_share(turns, swapped))
        totals[0] += voices_right
        totals[2] += speech
        if args.voices_only:
            print(f"| {call_id} | {voices_right / speech:.3f} | | | | |")
            continue
        language = "en" if sidecar.get("agency", "").isascii() else "zh"
        import soundfile

        wav = Path("/tmp") / f"mono_{call_id}.wav"
        soundfile.write(wav, mono.channels[0].samples, 16000)
        result = transcribe_audio(wav, TranscribeOptions(language=language))
        segments = [(s.start, s.end, s.speaker) for s in result.transcript.segments]
        roles_right, _ = right_role_share(turns, segments)
        totals[1] += roles_right
        across = sum(1 for s, e, _ in segments
                     if len({t.role for t in turns if min(e, t.end) - max(s, t.start) > 0.3}) > 1)
        longest = max((e - s for s, e, _ in segments), default=0.0)
        stereo_features = acoustic_features(stereo, sidecar.get("channels") or {"left": "agent", "right": "customer"})
        split_customer = result.features.channel("customer")
        stereo_customer = stereo_features.channel("customer")
        print(f"| {call_id} | {voices_right / speech:.3f} | {roles_right / speech:.3f} | {longest:.1f} | {across} "
              f"| {split_customer.speech_seconds if split_customer else 0:.1f} / {stereo_customer.speech_seconds:.1f} |")
    line = f"| pooled | {totals[0] / totals[2]:.3f} |"
    if not args.voices_only:
        line += f" {totals[1] / totals[2]:.3f} | | | |"
    print(line)


if __name__ == "__main__":
    main()
