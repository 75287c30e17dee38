#!/usr/bin/env bash
# Install everything CallQC needs on a fresh Debian machine with Python 3.11:
# system packages (as root), a virtual environment in .venv with the pinned CPU torch, the package with its
# dev extras, and a warm numba cache. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
SYSTEM_PACKAGES=(ffmpeg sox espeak-ng chromium fonts-noto-cjk)

missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "==> installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "!! missing system packages: ${missing[*]}" >&2
    echo "!! install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [[ ! -x .venv/bin/python ]]; then
  echo "==> creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
if ! python -c "import callqc, torch, faster_whisper, whisper, prefect" >/dev/null 2>&1 \
   || [[ pyproject.toml -nt .venv/.callqc-installed ]]; then
  echo "==> installing Python packages (torch 2.13.0 CPU first: a bare torch would pull a CUDA build)"
  python -m pip install -q --upgrade pip
  python -m pip install -q "torch==2.13.0"
  python -m pip install -q -e ".[dev]"
  touch .venv/.callqc-installed
fi

export NUMBA_CACHE_DIR="${NUMBA_CACHE_DIR:-$PWD/.work/numba-cache}"
mkdir -p "$NUMBA_CACHE_DIR"
if [[ ! -f "$NUMBA_CACHE_DIR/.warm" ]]; then
  echo "==> warming numba's cache for librosa (first compile takes ~15 s)"
  python - <<'PY'
import numpy as np, librosa
y = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
librosa.feature.rms(y=y); librosa.onset.onset_strength(y=y, sr=16000)
librosa.pyin(y[:8000], fmin=60, fmax=500, sr=16000)
PY
  touch "$NUMBA_CACHE_DIR/.warm"
fi
echo "==> setup complete ($(python --version), torch $(python -c 'import torch; print(torch.__version__)'))"
