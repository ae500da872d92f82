-- Credit scores: their history and each subject's current state.
--
-- scores: one row per score change, caused by an event or by the expiry of a
-- record's publicity period (cause = 'expiry', event_id empty). Keyed by the
-- change itself, so a replayed change collapses and a subject's history is a
-- range scan. reasons: JSON array of {event_id, kind, effect}.
CREATE TABLE IF NOT EXISTS {database}.scores{on_cluster}
(
    subject_id     String,
    subject_type   LowCardinality(String),
    sector         LowCardinality(String),
    district       LowCardinality(String),
    as_of          DateTime64(3, 'UTC'),
    score          UInt16,
    grade          LowCardinality(String),
    previous_score Nullable(UInt16),
    previous_grade LowCardinality(String),
    event_id       String,
    cause          LowCardinality(String),
    reasons        String,
    recorded_at    DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(recorded_at)
ORDER BY (subject_id, as_of, event_id);

-- entity_state: the latest state per subject; the highest version wins, so an
-- older state written late never replaces a newer one.
CREATE TABLE IF NOT EXISTS {database}.entity_state{on_cluster}
(
    subject_id    String,
    subject_type  LowCardinality(String),
    subject_name  String,
    sector        LowCardinality(String),
    district      LowCardinality(String),
    score         UInt16,
    grade         LowCardinality(String),
    reasons       String,
    records       UInt32,
    last_event_at DateTime64(3, 'UTC'),
    updated_at    DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    version       UInt64
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY subject_id;
