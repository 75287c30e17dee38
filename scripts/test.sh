#!/usr/bin/env bash
# README command 2: install everything, then run the whole test suite against real services
# (SeaweedFS started by the tests, SQLite, the machine's PostgreSQL, Prefect, Whisper, chromium), then the
# tests that read Whisper's output (marker `asr_output`) a second time under another CPU instruction set,
# so the suite itself proves it does not depend on one CPU's int8 kernels (docs/asr-robustness.md).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# shellcheck disable=SC1091
. .venv/bin/activate
export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.work/numba-cache}"
export PREFECT_SERVER_ANALYTICS_ENABLED=false DO_NOT_TRACK=1
export PREFECT_HOME="${PREFECT_HOME:-$PWD/.work/prefect-test-home}"
bash scripts/ensure_postgres.sh

# The instruction set CTranslate2 picks on this CPU (or the one forced from outside), and another one.
native_isa() {
  if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo; then echo AVX512
  elif grep -qw avx2 /proc/cpuinfo; then echo AVX2
  else echo GENERIC; fi
}
first_isa="${CT2_FORCE_CPU_ISA:-$(native_isa)}"
case "$first_isa" in
  AVX512) second_isa=AVX2 ;;
  AVX2) second_isa=GENERIC ;;
  *) second_isa=$(native_isa); [[ "$second_isa" == "$first_isa" ]] && second_isa="" ;;
esac

echo "==> whole suite (CTranslate2 ISA: $first_isa)"
python -m pytest -q -ra "$@"
if [[ $# -eq 0 ]]; then
  if [[ -n "$second_isa" ]]; then
    echo "==> Whisper-output tests again under CT2_FORCE_CPU_ISA=$second_isa"
    CT2_FORCE_CPU_ISA="$second_isa" python -m pytest -q -ra -m asr_output
  else
    echo "==> no second instruction set on this CPU: the second pass is not possible here"
  fi
fi
