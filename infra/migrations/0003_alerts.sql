-- Warnings: their current state, their history, and failed webhook deliveries.
--
-- alerts: the latest state of each alert (open, escalated, resolved); the highest
-- version wins. Alert ids are stable, so a re-sent alert collapses.
CREATE TABLE IF NOT EXISTS {database}.alerts{on_cluster}
(
    alert_id        String,
    subject_id      String,
    subject_type    LowCardinality(String),
    subject_name    String,
    sector          LowCardinality(String),
    district        LowCardinality(String),
    rule            LowCardinality(String),
    level           LowCardinality(String),
    status          LowCardinality(String),
    event_type      String,
    score           UInt16,
    grade           LowCardinality(String),
    previous_grade  LowCardinality(String),
    reasons         String,
    first_event_at  DateTime64(3, 'UTC'),
    event_time      DateTime64(3, 'UTC'),
    acknowledged_by String,
    acknowledged_at Nullable(DateTime64(3, 'UTC')),
    version         UInt64,
    recorded_at     DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY (subject_id, rule, alert_id);

-- alert_events: every opened / escalated / resolved CloudEvent as sent (body),
-- sorted for the grid's "what happened in my district" view; a CloudEvent sent
-- again after a redelivery collapses into one row.
CREATE TABLE IF NOT EXISTS {database}.alert_events{on_cluster}
(
    alert_id   String,
    type       LowCardinality(String),
    level      LowCardinality(String),
    subject_id String,
    sector     LowCardinality(String),
    district   LowCardinality(String),
    rule       LowCardinality(String),
    time       DateTime64(3, 'UTC'),
    body       String CODEC(ZSTD(3))
)
ENGINE = {replicated}ReplacingMergeTree
ORDER BY (sector, district, time, alert_id, type);

-- webhook_dead_letters: deliveries that gave up, kept for replay. Without a version
-- column the last row inserted wins, so marking a replay is one more insert.
CREATE TABLE IF NOT EXISTS {database}.webhook_dead_letters{on_cluster}
(
    id              String,
    subscription_id String,
    alert_id        String,
    url             String,
    body            String CODEC(ZSTD(3)),
    attempts        UInt32,
    last_error      String,
    failed_at       DateTime64(3, 'UTC'),
    replayed_at     Nullable(DateTime64(3, 'UTC'))
)
ENGINE = {replicated}ReplacingMergeTree
ORDER BY (subscription_id, id);
