"""Task runners for the nightly flow: prefect-dask's DaskTaskRunner, nothing home-made.

By default each flow run starts a Dask LocalCluster of worker *processes* (one per allowed concurrent
transcription, one thread each, so Whisper's own threads are the only parallelism inside a worker). Setting
`prefect.dask_address` (CALLQC_PREFECT__DASK_ADDRESS=tcp://scheduler:8786) sends the tasks to an existing Dask
cluster instead: start `dask scheduler` on one machine and `dask worker tcp://scheduler:8786 --nthreads 1` on each
machine that should transcribe, each started with `--preload-nanny flows.runners` (docs/operations.md).
"""

from __future__ import annotations

import dask
from distributed import LocalCluster
from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from callqc.settings import PrefectSettings

# Dask pins OpenMP/BLAS to one thread in every worker process (distributed.nanny.pre-spawn-environ). Whisper's
# output depends on those thread counts (measured on callA_06: other words with OMP_NUM_THREADS=1), so the
# workers keep this process's threading environment and a recording transcribes the same wherever it runs;
# asr.cpu_threads sets Whisper's own threads.
THREAD_PINS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def local_cluster(**cluster_kwargs) -> LocalCluster:
    """A LocalCluster whose worker processes are not pinned to one OpenMP/BLAS thread."""
    environ = {name: value for name, value in dask.config.get("distributed.nanny.pre-spawn-environ").items()
               if name not in THREAD_PINS}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ}):
        return LocalCluster(**cluster_kwargs)


def dask_setup(nanny) -> None:
    """`dask worker --preload-nanny flows.runners`: the worker processes of an external cluster keep the
    machine's threading environment, like those of local_cluster(). Dask merges a pre-spawn-environ given in
    DASK_* variables into its defaults, so the pins cannot be removed from the environment; the nanny's copy
    is edited here, before it spawns its worker."""
    for name in THREAD_PINS:
        nanny.pre_spawn_env.pop(name, None)


def dask_task_runner(prefect_settings: PrefectSettings, n_workers: int | None = None) -> DaskTaskRunner:
    """An external scheduler when one is configured, else a LocalCluster of worker processes."""
    if prefect_settings.dask_address:
        return DaskTaskRunner(address=prefect_settings.dask_address)
    return DaskTaskRunner(
        cluster_class=local_cluster,
        cluster_kwargs={
            "n_workers": n_workers or prefect_settings.transcribe_concurrency,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": "127.0.0.1:0",  # the scheduler's web endpoint: local only, no fixed port
        },
    )


def thread_task_runner(prefect_settings: PrefectSettings) -> ThreadPoolTaskRunner:
    """In-process threads: one Whisper model shared by all tasks; what tests and small runs use."""
    return ThreadPoolTaskRunner(max_workers=prefect_settings.transcribe_concurrency)


def task_runner(prefect_settings: PrefectSettings, kind: str = "dask"):
    """The runner named by `kind`: dask (default) or threads."""
    if kind == "dask":
        return dask_task_runner(prefect_settings)
    if kind == "threads":
        return thread_task_runner(prefect_settings)
    raise ValueError(f"unknown task runner {kind!r}: use 'dask' or 'threads'")
