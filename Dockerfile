# The creditbrain image: every long-running process and one-shot job of
# infra/compose.yaml runs it with a different command (`worker --no-sink`, `sink`,
# `api`, `db migrate`, `topics create`). Configuration comes from CREDITBRAIN_*
# environment variables only (creditbrain/settings.py).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/creditbrain/src
# Only what the package is built from (see .dockerignore): sources, SQL, README.
COPY pyproject.toml README.md ./
COPY creditbrain ./creditbrain
COPY schemas ./schemas
COPY models ./models
COPY alerts ./alerts
COPY engine ./engine
COPY streams ./streams
COPY dashboards ./dashboards
COPY infra ./infra
COPY simulator ./simulator
RUN pip install . \
    && useradd --system --uid 10001 --user-group --create-home \
        --home-dir /var/lib/creditbrain creditbrain

USER creditbrain
WORKDIR /var/lib/creditbrain
ENV CREDITBRAIN_DATA_DIR=/var/lib/creditbrain

ENTRYPOINT ["creditbrain"]
CMD ["--help"]
