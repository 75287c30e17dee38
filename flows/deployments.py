"""The nightly deployment: `nightly_qc` on a cron schedule, run by workers of a process work pool.

`callqc deploy` calls deploy_nightly() against the Prefect server in PREFECT_API_URL; `callqc worker` starts a
worker on the pool. Any number of workers (on any machines that have this package and reach the Prefect
server, the database and S3) can poll the same pool. configs/prefect.yaml declares the same deployment for
`prefect deploy`; tests check that both agree with the settings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from callqc.settings import PrefectSettings

FLOWS_ROOT = Path(__file__).resolve().parent.parent  # the directory holding flows/, callqc/, asr/, qc/
ENTRYPOINT = "flows/nightly.py:nightly_qc"
FLOW_NAME = "nightly-qc"


@dataclass(frozen=True)
class DeploymentInfo:
    id: str
    name: str  # flow-name/deployment-name, as `prefect deployment run` takes it
    work_pool: str
    cron: str
    timezone: str


def ensure_work_pool(name: str) -> None:
    """Create the process work pool unless it exists."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(name)
        except ObjectNotFound:
            client.create_work_pool(WorkPoolCreate(name=name, type="process"))


def deploy_nightly(prefect_settings: PrefectSettings) -> DeploymentInfo:
    """Register (or update) the cron deployment of nightly_qc; returns what was registered."""
    from prefect.schedules import Cron

    from flows.nightly import nightly_qc

    ensure_work_pool(prefect_settings.work_pool)
    flow = nightly_qc.from_source(source=str(FLOWS_ROOT), entrypoint=ENTRYPOINT)
    deployment_id = flow.deploy(
        name=prefect_settings.deployment_name,
        work_pool_name=prefect_settings.work_pool,
        schedule=Cron(prefect_settings.cron, timezone=prefect_settings.timezone),
        description="Nightly QC: ingest, transcribe, score and report the previous day's recordings.",
        tags=["callqc"],
        print_next_steps=False,
    )
    return DeploymentInfo(str(deployment_id), f"{FLOW_NAME}/{prefect_settings.deployment_name}",
                          prefect_settings.work_pool, prefect_settings.cron, prefect_settings.timezone)
