-- policy_previews: supervisors' previews of a candidate policy over history (POST
-- /policies/preview). A preview is a job: a row when it starts, a newer row (higher
-- revision) when it ends with its result as JSON, so the highest revision wins.
-- Kept so that the answer can be read again and reviewed beside the audit row.
CREATE TABLE IF NOT EXISTS {database}.policy_previews{on_cluster}
(
    id         String,
    actor      String,
    scope      String,
    status     LowCardinality(String),
    created_at DateTime64(3, 'UTC'),
    request    String,
    result     String CODEC(ZSTD(3)),
    revision   UInt32
)
ENGINE = {replicated}ReplacingMergeTree(revision)
ORDER BY id;
