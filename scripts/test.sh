#!/usr/bin/env bash
# README command 2: install everything, then run the whole test suite against real services
# (SeaweedFS started by the tests, SQLite, the machine's PostgreSQL, Prefect, Whisper, chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.work/numba-cache}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
export PREFECT_HOME="${PREFECT_HOME:-$PWD/.work/prefect-test-home}"
bash scripts/ensure_postgres.sh
exec python -m pytest -q -ra "$@"
