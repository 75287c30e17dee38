#!/usr/bin/env bash
# README command 1: the nightly QC run on the embedded default (local SeaweedFS S3, SQLite, Prefect's
# temporary server) over the sample calls; prints the run summary, the report's path and how to open the UI.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
exec callqc demo "$@"
