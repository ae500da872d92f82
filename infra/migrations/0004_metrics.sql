-- Metrics: daily event counts per grid cell, their anomaly scores, and the
-- pipeline's own counters.
--
-- metric_counts: SummingMergeTree adds up the partial counts each batch writes, so
-- the sink never reads before it writes; sum(events) at query time covers the
-- rows not merged yet.
CREATE TABLE IF NOT EXISTS {database}.metric_counts{on_cluster}
(
    day      Date,
    sector   LowCardinality(String),
    district LowCardinality(String),
    kind     LowCardinality(String),
    events   UInt64
)
ENGINE = {replicated}SummingMergeTree(events)
ORDER BY (sector, district, kind, day);

-- metric_anomalies: the detector's verdict per cell and day; a re-scored day
-- replaces the earlier verdict.
CREATE TABLE IF NOT EXISTS {database}.metric_anomalies{on_cluster}
(
    day           Date,
    sector        LowCardinality(String),
    district      LowCardinality(String),
    kind          LowCardinality(String),
    value         Float64,
    anomaly_score Float64,
    recorded_at   DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(recorded_at)
ORDER BY (sector, district, kind, day);

-- pipeline_metrics: lag, throughput, DLQ rates... as time series for the
-- operations dashboard; 90 days are enough to compare with last quarter.
CREATE TABLE IF NOT EXISTS {database}.pipeline_metrics{on_cluster}
(
    ts     DateTime64(3, 'UTC'),
    name   LowCardinality(String),
    labels Map(String, String),
    value  Float64
)
ENGINE = {replicated}MergeTree
ORDER BY (name, ts)
TTL toDateTime(ts) + INTERVAL 90 DAY;
