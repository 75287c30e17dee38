"""`callqc transcribe`: one recording → speaker-attributed transcript (offline Whisper)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer


def transcribe_command(
    audio: Path = typer.Argument(..., help="Recording: wav, flac, mp3, ogg or m4a."),
    backend: Optional[str] = typer.Option(None, help="faster-whisper | openai-whisper (default: settings)."),
    model: Optional[str] = typer.Option(None, help="base | tiny.en | a CT2 directory | an openai .pt file."),
    language: Optional[str] = typer.Option(None, help="zh | en | … (default: the agency's, else settings; never "
                                                      "auto-detected)."),
    agency: Optional[str] = typer.Option(None, help="Agency code or name whose channel map, language and "
                                                    "vocabulary apply (default: left = agent, right = customer)."),
    as_json: bool = typer.Option(False, "--json", help="Print the transcript as JSON."),
) -> None:
    """Transcribe AUDIO. Stereo: each channel separately, speakers from the channel map; mono: split into two
    voices named agent and customer."""
    from asr.audio import AudioError, load_audio
    from asr.backends import ModelNotFoundError
    from asr.transcribe import TranscribeOptions, check_language, transcribe_loaded
    from callqc.settings import get_settings

    settings = get_settings()
    channel_map = {"left": "agent", "right": "customer"}
    code = ""
    if agency:
        code = settings.agency_code(agency)
        if code is None:
            typer.secho(f"unknown agency '{agency}' (configured: {', '.join(settings.agencies)})", fg="red", err=True)
            raise typer.Exit(2)
        channel_map = dict(settings.agencies[code].channel_map)
    # the language and vocabulary the nightly would use for this agency's calls; --language wins
    overrides = settings.transcription_for(code)
    if language and language != overrides["language"]:
        overrides.update(language=language, hotwords=None)  # the agency's vocabulary is in its own language
    overrides.update({k: v for k, v in (("backend", backend), ("model", model)) if v})
    options = TranscribeOptions.from_settings(settings.asr, max_duration_s=settings.ingest.max_duration_s,
                                              **overrides)
    try:
        loaded = load_audio(audio, max_duration_s=options.max_duration_s)
        check = check_language(loaded, options)
        if check is not None and check.disagrees:
            typer.secho(f"warning: {audio.name} is decoded as '{check.configured}', but Whisper hears "
                        f"'{check.detected}' in its first 30 s of speech (p={check.detected_probability:.2f}; "
                        f"'{check.configured}' p={check.configured_probability:.2f}): the transcript may be nonsense. "
                        "Check the agency's language setting or pass --language.", fg="yellow", err=True)
        transcript = transcribe_loaded(loaded, options, channel_map=channel_map)
    except AudioError as exc:
        typer.secho(f"audio error ({exc.reason}): {exc}", fg="red", err=True)
        raise typer.Exit(1)
    except (ModelNotFoundError, ValueError) as exc:
        typer.secho(f"model error: {exc}", fg="red", err=True)
        raise typer.Exit(2)
    if as_json:
        payload = {
            "language": transcript.language, "duration": transcript.duration, "backend": transcript.backend,
            "model": transcript.model,
            "segments": [{"start": s.start, "end": s.end, "speaker": s.speaker, "text": s.text}
                         for s in transcript.segments],
        }
        typer.echo(json.dumps(payload, ensure_ascii=False, indent=2))
        return
    typer.echo(f"# {audio.name}: {transcript.duration:.1f} s, {transcript.language}, "
               f"{transcript.backend} {transcript.model}")
    for segment in transcript.segments:
        typer.echo(f"[{segment.start:7.2f} – {segment.end:7.2f}] {segment.speaker:8} {segment.text}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("transcribe")(transcribe_command)
