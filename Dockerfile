# syntax=docker/dockerfile:1
# The creditbrain image: every long-running process and one-shot job of
# infra/compose.yaml runs it with a different command (`worker --no-sink`, `sink`,
# `api`, `db migrate`, `topics create`). Configuration comes from CREDITBRAIN_*
# environment variables only (creditbrain/settings.py).
#
# Production only: no `embedded` extra, so neither chDB nor the Tansu broker binary
# is in the image; CREDITBRAIN_KAFKA__BOOTSTRAP and CREDITBRAIN_CLICKHOUSE__DSN must
# be set. Versions come from constraints.txt (docs/operations.md says how to renew it).

# Stage 1: wheels of creditbrain and of every pinned dependency.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# Only what the package is built from (see .dockerignore): sources, SQL, README.
COPY constraints.txt pyproject.toml README.md ./
COPY creditbrain ./creditbrain
COPY core ./core
COPY schemas ./schemas
COPY models ./models
COPY alerts ./alerts
COPY engine ./engine
COPY streams ./streams
COPY dashboards ./dashboards
COPY infra ./infra
COPY simulator ./simulator
RUN pip wheel --wheel-dir /wheels --constraint constraints.txt . \
    && cp constraints.txt /wheels/

# Stage 2: the run-time image, the wheels installed offline, no build tools, not root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Offline from the wheels built above under constraints.txt, so every version is pinned
# there (hadolint cannot see that).
# hadolint ignore=DL3013
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels --constraint /wheels/constraints.txt creditbrain \
    && useradd --system --uid 10001 --user-group --create-home \
        --home-dir /var/lib/creditbrain creditbrain

USER 10001:10001
WORKDIR /var/lib/creditbrain
ENV CREDITBRAIN_DATA_DIR=/var/lib/creditbrain \
    HEALTHCHECK_URL=http://127.0.0.1:8600/health

# The API answers /health on its port; a service whose health lives on another port
# sets HEALTHCHECK_URL or overrides the check (compose does for workers and sinks, whose
# /health is on the metrics port). One-shot jobs ignore it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(os.environ['HEALTHCHECK_URL'], timeout=4)"]

ENTRYPOINT ["creditbrain"]
CMD ["--help"]
