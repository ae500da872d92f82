-- alert_acks: who acknowledged which alert, when, with what note. Kept apart from
-- `alerts`, whose rows the stream replaces by version: an acknowledgement must not
-- be lost when the stream escalates or resolves the alert later.
CREATE TABLE IF NOT EXISTS {database}.alert_acks{on_cluster}
(
    alert_id        String,
    acknowledged_by String,
    role            LowCardinality(String),
    note            String,
    acknowledged_at DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(acknowledged_at)
ORDER BY (alert_id, acknowledged_by);
