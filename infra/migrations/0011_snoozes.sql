-- alert_snoozes: the warning changes a snooze held back (POST /subjects/{id}/snoozes).
-- The change itself is stored in alerts like any other; this row marks it snoozed:
-- it was never sent (so it has no alert_events row). A change stored again after a
-- redelivery collapses into one row.
CREATE TABLE IF NOT EXISTS {database}.alert_snoozes{on_cluster}
(
    alert_id   String,
    version    UInt64,
    subject_id String,
    rule       LowCardinality(String),
    event_time DateTime64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree
ORDER BY (subject_id, alert_id, version);
