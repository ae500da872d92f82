-- audit: who did what, and why: credit checks (with their stated purpose), policy
-- changes (details hold the policy before and after, so there is no separate
-- policies table), subscription changes, alert acknowledgements. Append-only;
-- sorted by action because reviews read one kind of action over a period.
CREATE TABLE IF NOT EXISTS {database}.audit{on_cluster}
(
    ts         DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    actor      String,
    role       LowCardinality(String),
    action     LowCardinality(String),
    subject_id String,
    purpose    String,
    details    String
)
ENGINE = {replicated}MergeTree
ORDER BY (action, ts);
