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

-- watchlists: named lists of subjects (POST /watchlists, at most 10,000 subjects),
-- followed through GET /watchlists/{id}/warnings and webhook subscriptions.
CREATE TABLE IF NOT EXISTS {database}.watchlists{on_cluster}
(
    id          String,
    name        String,
    subject_ids Array(String),
    owner       String,
    role        LowCardinality(String),
    created_at  DateTime64(3, 'UTC'),
    version     UInt64
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY id;

-- subscription_subjects: a webhook subscription's filter by subject (its own ids, or
-- a watch list's as they were when it subscribed); a subscription without a row
-- here receives every subject's warnings that pass its other filters.
CREATE TABLE IF NOT EXISTS {database}.subscription_subjects{on_cluster}
(
    subscription_id String,
    watchlist       String,
    subject_ids     Array(String),
    version         UInt64
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY subscription_id;
