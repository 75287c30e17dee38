#!/usr/bin/env bash
# The nightly bench on a CUDA machine, as one prepared run (issue #17, the GPU path): base model, float16,
# faster-whisper's batched pipeline over the VAD clips (asr.batch_size, on by itself on CUDA), 8 and 64 calls
# (the 8 Mandarin samples repeated), 1 and 4 transcriptions at once. Prints the tables of bench/nightly_bench.py.
# Needs the CUDA runtime libraries CTranslate2 loads (pip install nvidia-cublas-cu12 nvidia-cudnn-cu12==9.*).
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate
python -c "import ctranslate2, sys; n = ctranslate2.get_cuda_device_count(); print('CUDA devices:', n); sys.exit(n == 0)"
for concurrency in 1 4; do
  python bench/nightly_bench.py --device cuda --compute-type float16 --calls 8 --concurrency "$concurrency" --runner dask
  python bench/nightly_bench.py --device cuda --compute-type float16 --calls 8 --repeat 8 --concurrency "$concurrency" --runner dask
done
