-- Accepted events and the dead-letter queue.
--
-- events: every accepted event, once. ReplacingMergeTree(ingested_at) collapses a
-- redelivered event (same subject, occurred_at and event_id) on merge or under
-- FINAL; the sort key makes one subject's history a range scan, and monthly
-- partitions keep old months cheap to drop.
--
-- Sector + district + time slices (the dashboards' grid) get a projection, not a
-- skip index: rows are sorted by subject, so one sector/district has rows in
-- nearly every granule and a minmax or set index skips almost nothing (EXPLAIN on
-- 200k rows: 25/25 granules read). The projection keeps a copy of the narrow
-- columns sorted by (sector, district, occurred_at) (1/24 granules on the same
-- data); the payload stays out of it to keep the copy small. A projection on a
-- ReplacingMergeTree needs deduplicate_merge_projection_mode; 'rebuild' keeps it
-- exact after merges drop duplicates. FINAL queries cannot use projections, so a
-- grid panel counts uniqExact(event_id) rather than reading with FINAL.
CREATE TABLE IF NOT EXISTS {database}.events{on_cluster}
(
    event_id     UUID,
    kind         LowCardinality(String),
    subject_id   String,
    subject_type LowCardinality(String),
    subject_name String,
    source       String,
    sector       LowCardinality(String),
    district     LowCardinality(String),
    occurred_at  DateTime64(3, 'UTC'),
    reported_at  DateTime64(3, 'UTC'),
    payload      String CODEC(ZSTD(3)),
    topic        String,
    `partition`  UInt32,
    `offset`     UInt64,
    ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    PROJECTION by_sector_district
    (
        SELECT event_id, kind, subject_id, subject_type, sector, district, occurred_at
        ORDER BY sector, district, occurred_at
    )
)
ENGINE = {replicated}ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (subject_id, occurred_at, event_id)
SETTINGS deduplicate_merge_projection_mode = 'rebuild';

-- dlq: inputs that failed validation, with the reason and the raw bytes, so that
-- "nothing lost" can be proved. Keyed by the source position (topic, partition,
-- offset): a dead letter redelivered after a crash collapses into one row, and a
-- later verdict on the same message (a repair whose record arrived after it:
-- resolution = 'applied_late', or judged again) carries a higher revision and
-- replaces the first whatever order the rows arrive in.
CREATE TABLE IF NOT EXISTS {database}.dlq{on_cluster}
(
    received_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    topic       String,
    `partition` UInt32,
    `offset`    UInt64,
    reason      LowCardinality(String),
    detail      String,
    event_id    String,
    raw         String CODEC(ZSTD(3)),
    resolution  LowCardinality(String) DEFAULT '',
    revision    UInt8 DEFAULT 0
)
ENGINE = {replicated}ReplacingMergeTree(revision)
ORDER BY (topic, `partition`, `offset`);
