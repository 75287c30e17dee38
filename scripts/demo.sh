#!/usr/bin/env bash
# README command 1: the nightly QC run on the embedded default (local SeaweedFS S3, SQLite, Prefect's
# temporary server) over the sample calls; prints the run summary, the report's path and how to open the UI.
#
# Before the run it writes a clearly labelled SYNTHETIC 12-week history for the demo agencies (planted causes:
# threats, third-party disclosure, one agent, a rising business line) and imports the sample complaint export
# dated to the demo day, so that the run's attribution report and the manager's dashboard have something to
# show: a heat map, ranked root causes with evidence calls, early warnings. Afterwards it prints what the
# manager's view shows and how to open it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
callqc demo-history
callqc demo "$@"
callqc demo-history --show
