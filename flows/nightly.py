"""The nightly QC run: ingest → transcribe (fetch + Whisper) → score (store + rules) → reports → summary.

The flow only orchestrates the plain stage functions of callqc.pipeline, asr/ and qc/. What makes it safe to
run unattended is declared on the tasks: retries with exponential backoff for S3 and database faults and a
cache of transcripts keyed by the object version and the model. The task runner bounds how many recordings
transcribe at once (prefect.transcribe_concurrency); prefect.server_transcribe_limit adds a server-side limit
across runs (tag `callqc-transcribe`). The database's unique keys make every write idempotent, so re-running a
day — after a crash, a kill or a partial outage — does only the work that is left.

    callqc nightly --date 2026-11-02              one day (default: yesterday in the schedule's timezone)
    callqc nightly --from 2026-11-01 --to 2026-11-07   backfill
"""

from __future__ import annotations

import hashlib
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger, task, unmapped
from prefect.artifacts import create_markdown_artifact, create_progress_artifact, create_table_artifact, \
    update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.tasks import exponential_backoff

from callqc import pipeline, runs
from callqc.db import sessions_for
from callqc.failures import failure_reason, is_transient
from callqc.pipeline import Backlog, ScoreOutcome, TranscribedAudio, WorkItem
from callqc.summary import RunSummary
from callqc.settings import Settings, load_settings
from flows.runners import dask_task_runner

TRANSCRIBE_TAG = "callqc-transcribe"
# the attribution report covers the twelve weeks up to the last day run: the p-chart warnings need at
# least four earlier weeks as a baseline before they can judge a week
REPORT_WINDOW = timedelta(weeks=12)

# Transient S3 / database faults: 3 retries after 2, 4 and 8 seconds (a restarting server, a busy database).
RETRY = dict(retries=3, retry_delay_seconds=exponential_backoff(backoff_factor=2), retry_jitter_factor=0.2)


def retry_if_transient(task, task_run, state) -> bool:
    """Retry S3/database/network faults; bad audio fails at once (retrying cannot fix it)."""
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - classify, do not handle
        return is_transient(exc)
    return False


def _agency_packs(settings: Settings) -> dict[str, tuple[str, str]]:
    """(pack, version) of the agencies scored with their own pack instead of qc.rule_pack."""
    packs = {}
    for code in settings.agencies:
        if settings.rule_pack_for(code) != settings.qc.rule_pack:
            pack = pipeline.rule_pack(settings, settings.rule_pack_for(code))
            packs[code] = (pack.name, pack.version)
    return packs


def _store(settings: Settings):
    from callqc.storage import RecordingStore

    return RecordingStore(settings)


def transcript_cache_key(_context, parameters) -> str:
    """(bucket, key, etag, backend, model): the same object version with the same model is never redone."""
    item: WorkItem = parameters["item"]
    asr = parameters["settings"].asr
    language = parameters["settings"].language_for(item.agency) or ""
    identity = "\x1f".join((item.bucket, item.key, item.etag, asr.backend, asr.model, language))
    return "transcript-" + hashlib.sha256(identity.encode()).hexdigest()


# ---- tasks ---------------------------------------------------------------------------------------

@task(name="ensure-transcribe-limit", cache_policy=NO_CACHE)
def ensure_transcribe_limit(limit: int) -> None:
    """Create (or resize) the server-side concurrency limit that the transcribe task's tag is held to."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag=TRANSCRIBE_TAG, concurrency_limit=limit)


@task(name="open-run", cache_policy=NO_CACHE, **RETRY, retry_condition_fn=retry_if_transient)
def open_run(settings: Settings, days: list[date], agencies: list[str] | None) -> int:
    return runs.open_run(sessions_for(settings.database_url), "nightly",
                         {"days": [d.isoformat() for d in days], "agencies": agencies},
                         prefect_flow_run_id=str(flow_run.get_id() or ""))


@task(name="ingest-day", task_run_name="ingest-{day}", cache_policy=NO_CACHE, **RETRY,
      retry_condition_fn=retry_if_transient)
def ingest_day(settings: Settings, day: date, agencies: list[str] | None) -> str:
    """Register the day's new objects (callqc.ingest); returns a one-line account of what it found."""
    from callqc.ingest import ingest_day as run_ingest

    report = run_ingest(settings, sessions_for(settings.database_url), _store(settings), day, agencies=agencies)
    return (f"ingest {day}: {report.registered} new, {report.skipped} already registered, "
            f"{len(report.rejected)} rejected")


@task(name="find-backlog", cache_policy=NO_CACHE, **RETRY, retry_condition_fn=retry_if_transient)
def find_backlog(settings: Settings, days: list[date], agencies: list[str] | None) -> Backlog:
    pack = pipeline.rule_pack(settings, settings.qc.rule_pack)
    return pipeline.find_backlog(sessions_for(settings.database_url), settings.storage.bucket, days, agencies,
                                 settings.asr.backend, settings.asr.model, pack.name, pack.version,
                                 _agency_packs(settings))


@task(name="transcribe", task_run_name="transcribe-{item.call_id}", cache_key_fn=transcript_cache_key,
      cache_expiration=timedelta(days=30), persist_result=True, **RETRY, retry_condition_fn=retry_if_transient)
def transcribe(settings: Settings, item: WorkItem) -> TranscribedAudio:
    """Fetch the recording from S3 and transcribe it. One task, so the audio never travels between workers;
    a transient S3 fault is retried before any decoding is done."""
    audio = pipeline.fetch_audio(_store(settings), item)
    return pipeline.transcribe_recording(settings, item, audio)


@task(name="score", task_run_name="score-{item.call_id}", cache_policy=NO_CACHE, **RETRY,
      retry_condition_fn=retry_if_transient)
def score(settings: Settings, item: WorkItem, transcribed: TranscribedAudio | None, run_id: int) -> ScoreOutcome:
    """Store the new transcript (none when an earlier run stored it), then the rules (and the promoted models,
    when there are any) over the stored transcript; store score + findings. A retry after a database fault
    redoes only database work: the transcription is the task before."""
    from qc.scoring import ScoringOptions

    sessions = sessions_for(settings.database_url)
    transcript_id = item.transcript_id
    if transcribed is not None:
        transcript_id = pipeline.save_transcript(sessions, item, transcribed, run_id)
    transcript, features = pipeline.load_transcript(sessions, transcript_id)
    call = pipeline.load_call(sessions, item.recording_id)
    pack = pipeline.rule_pack(settings, settings.rule_pack_for(call.agency))
    scored = pipeline.score_recording(call, transcript, features, pack,
                                      history=pipeline.load_history(sessions, call),
                                      scorer=_model_scorer(settings)[0],
                                      options=ScoringOptions.from_settings(settings))
    return pipeline.save_score(sessions, item, transcript_id, scored, run_id)


@task(name="check-models", cache_policy=NO_CACHE)
def check_models(settings: Settings) -> str | None:
    """Load the promoted models once; a warning (rules only) when there are none or they cannot be used."""
    return _model_scorer(settings)[1]


def _model_scorer(settings: Settings):
    """(ModelScorer | None, warning | None); qc.models caches the loaded models per process."""
    from callqc.model_registry import load_promoted_scorer

    return load_promoted_scorer(settings, sessions_for(settings.database_url), _store(settings))


@task(name="load-outcomes", cache_policy=NO_CACHE, **RETRY, retry_condition_fn=retry_if_transient)
def load_outcomes(settings: Settings, recording_ids: list[int]) -> list[ScoreOutcome]:
    pack = pipeline.rule_pack(settings, settings.qc.rule_pack)
    return pipeline.score_outcomes(sessions_for(settings.database_url), recording_ids, pack.name, pack.version,
                                   _agency_packs(settings))


@task(name="record-failures", cache_policy=NO_CACHE, **RETRY, retry_condition_fn=retry_if_transient)
def record_failures(settings: Settings, failures: list[tuple[WorkItem, str]]) -> None:
    for item, reason in failures:
        pipeline.record_failure(sessions_for(settings.database_url), item.recording_id, reason)


@task(name="refresh-reports", cache_policy=NO_CACHE, **RETRY, retry_condition_fn=retry_if_transient)
def refresh_reports(settings: Settings, first_day: date, last_day: date) -> tuple[str, str, str]:
    """Re-link complaints to calls and re-render the attribution report; (html, xlsx, markdown)."""
    from callqc.attribution import refresh_attribution
    from qc.attribution import markdown_summary
    from qc.reports import render_report

    start = min(first_day, last_day - REPORT_WINDOW + timedelta(days=1))
    result = refresh_attribution(sessions_for(settings.database_url), start, last_day, tz=settings.qc.timezone)
    paths = render_report(result, settings.work_path / "reports")
    return str(paths.html), str(paths.xlsx), markdown_summary(result)


@task(name="close-run", cache_policy=NO_CACHE, **RETRY, retry_condition_fn=retry_if_transient)
def close_run(settings: Settings, run_id: int, summary: RunSummary) -> None:
    runs.close_run(sessions_for(settings.database_url), run_id, "completed", summary.counts(),
                   [f"{key}: {reason}" for key, reason in summary.failed] + list(summary.notes))


# ---- the flow ------------------------------------------------------------------------------------

def run_days(day: date | None, end_day: date | None, timezone: str) -> list[date]:
    """The days to run: [day .. end_day]; with no day, yesterday in the schedule's timezone."""
    if day is None:
        day = (datetime.now(ZoneInfo(timezone)) - timedelta(days=1)).date()
    end_day = end_day or day
    if end_day < day:
        raise ValueError(f"end day {end_day} is before start day {day}")
    return [day + timedelta(days=n) for n in range((end_day - day).days + 1)]


@flow(name="nightly-qc", task_runner=dask_task_runner(load_settings().prefect), log_prints=True)
def nightly_qc(day: date | None = None, end_day: date | None = None, agencies: list[str] | None = None,
               settings: Settings | None = None) -> RunSummary:
    """Quality-check every recording delivered on `day` (through `end_day` for a backfill)."""
    started = time.perf_counter()
    logger = get_run_logger()
    settings = settings or load_settings()
    days = run_days(day, end_day, settings.prefect.timezone)
    notes: list[str] = []

    transcribe_task = transcribe
    if settings.prefect.server_transcribe_limit:
        ensure_transcribe_limit(settings.prefect.server_transcribe_limit)
        transcribe_task = transcribe.with_options(tags=[TRANSCRIBE_TAG])
    run_id = open_run(settings, days, agencies)

    # 1. Ingest: register the days' new objects. A failed day is noted; what is registered still runs.
    for one_day in days:
        state = ingest_day(settings, one_day, agencies, return_state=True)
        if state.is_failed():
            notes.append(f"ingest {one_day} failed, recordings registered earlier were still processed — "
                         f"{_failure_message(state)}")
        else:
            logger.info(state.result())

    # 2. Transcribe and score every recording that is not finished for this model and rule-pack version.
    backlog = find_backlog(settings, days, agencies)
    models_warning = check_models(settings)
    if models_warning:
        notes.append(models_warning)
    items = list(backlog.pending)
    logger.info("%d recording(s) to process, %d finished earlier, %d rejected by ingest",
                len(items), backlog.already_done, len(backlog.rejected))
    new = [item for item in items if item.transcript_id is None]
    transcribed = dict(zip((item.recording_id for item in new), transcribe_task.map(unmapped(settings), new)))
    scores = score.map(unmapped(settings), items, [transcribed.get(item.recording_id) for item in items],
                       unmapped(run_id))

    # 3. Collect: a recording that failed anywhere is recorded with its reason; the rest go on.
    _follow_progress(scores, items, logger, transcribed)
    failures = []
    for item, future in zip(items, scores):
        if not future.state.is_completed():
            upstream = transcribed.get(item.recording_id)
            failed_state = upstream.state if upstream is not None and upstream.state.is_failed() else future.state
            failures.append((item, _failure_reason(failed_state)))
    record_failures(settings, failures)
    finished = [item.recording_id for item, future in zip(items, scores) if future.state.is_completed()]
    processed = load_outcomes(settings, finished)

    # 4. Reports over the report window ending on the run's last day; a failure is noted, not fatal.
    report_html = report_xlsx = None
    state = refresh_reports(settings, days[0], days[-1], return_state=True)
    if state.is_failed():
        notes.append(f"attribution reports failed — {_failure_message(state)}")
    else:
        report_html, report_xlsx, attribution_md = state.result()
        create_markdown_artifact(key="nightly-qc-attribution", markdown=attribution_md,
                                 description="Complaint attribution over the report window")

    # 5. Summary: a table and a markdown artifact on the flow run, the same counts in pipeline_runs.
    summary = RunSummary(
        days=tuple(d.isoformat() for d in days), processed=tuple(processed),
        transcribed=sum(1 for future in transcribed.values() if future.state.is_completed()),
        skipped=backlog.already_done,
        failed=tuple((item.key, reason) for item, reason in failures), failed_before=backlog.failed_before,
        rejected=backlog.rejected, wall_seconds=time.perf_counter() - started, report_html=report_html,
        report_xlsx=report_xlsx, notes=tuple(notes))
    create_table_artifact(key="nightly-qc-recordings", table=summary.table() or [{"recording": "(none)"}],
                          description="Every recording of the run: outcome, score, findings, reason")
    create_markdown_artifact(key="nightly-qc-summary", markdown=summary.markdown(),
                             description="Processed / skipped / failed / flagged, audio hours, throughput")
    close_run(settings, run_id, summary)
    logger.info("summary: %s", summary.counts())
    return summary


def _follow_progress(futures, items: list[WorkItem], logger, transcribed: dict) -> None:
    """Log each recording as it finishes and keep a progress artifact up to date. A stored recording's results
    are released on a Dask cluster: were a worker lost later, the scheduler would recompute every result that
    lived only on that worker and that the run still holds, i.e. transcribe its finished recordings again."""
    total = len(items)
    progress_id = create_progress_artifact(progress=0.0 if total else 100.0, key="nightly-qc-progress",
                                           description=f"{total} recording(s) to process")
    item_of = {future.task_run_id: item for future, item in zip(futures, items)}
    for done, future in enumerate(as_completed(list(futures)), start=1):
        future.wait()
        item = item_of[future.task_run_id]
        verdict = "done" if future.state.is_completed() else "failed (recorded with its reason)"
        if future.state.is_completed():
            _release(future, transcribed.get(item.recording_id))
        logger.info("[%d/%d] %s %s", done, total, item.key, verdict)
        update_progress_artifact(progress_id, progress=100.0 * done / total)


def _release(*futures) -> None:
    """Drop the cluster's copy of finished results (prefect-dask futures wrap a distributed.Future; the run
    keeps the score's state, waited for above, and reads the transcription's state from the API)."""
    for future in futures:
        release = getattr(getattr(future, "wrapped_future", None), "release", None)
        if release is not None:
            release()


def _failure_message(state) -> str:
    try:
        state.result()
    except Exception as exc:  # noqa: BLE001 - turned into the recorded reason
        return failure_reason(exc)
    return state.message or state.name


def _failure_reason(state) -> str:
    """The recorded reason for a recording whose chain ended in `state`."""
    if state.is_failed() or state.is_crashed():
        return _failure_message(state)
    return f"error: did not run ({state.name}: {state.message or 'no message'})"
