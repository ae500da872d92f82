-- measures: joint reward and punishment measures a department reports it applied
-- or declined for a subject (CONTRACT "Measures applied"), one row per report. The
-- report id makes a redelivered report collapse into one row; the latest decision
-- per (measure, subject, department) is the one in force, so "joint measures
-- applied" reads argMax(decision, decided_at) over that key.
CREATE TABLE IF NOT EXISTS {database}.measures{on_cluster}
(
    report_id    UUID,
    measure_id   LowCardinality(String),
    measure_type LowCardinality(String),
    subject_id   String,
    department   LowCardinality(String),
    decision     LowCardinality(String),
    decided_at   DateTime64(3, 'UTC'),
    note         String,
    topic        String,
    `partition`  UInt32,
    `offset`     UInt64,
    ingested_at  DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(ingested_at)
ORDER BY (measure_id, subject_id, department, decided_at, report_id);
