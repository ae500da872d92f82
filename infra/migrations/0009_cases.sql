-- Cases: one subject's warnings for one team, from triage to disposal.
--
-- cases: the latest state of each case; the highest version wins. A case id is
-- derived from (subject, team), so the stream and the API update the same row.
-- alerts holds the case's warnings as JSON ([{alert_id, rule, level, status}]),
-- rules their rule names (the dashboards count false alarms by rule). Times are
-- event time; requests are the last request ids applied (idempotency).
CREATE TABLE IF NOT EXISTS {database}.cases{on_cluster}
(
    case_id          String,
    subject_id       String,
    subject_type     LowCardinality(String),
    subject_name     String,
    sector           LowCardinality(String),
    district         LowCardinality(String),
    team             LowCardinality(String),
    level            LowCardinality(String),
    state            LowCardinality(String),
    disposition      LowCardinality(String),
    alerts           String,
    rules            Array(LowCardinality(String)),
    score            UInt16,
    grade            LowCardinality(String),
    opened_at        DateTime64(3, 'UTC'),
    raised_at        DateTime64(3, 'UTC'),
    acknowledged_at  Nullable(DateTime64(3, 'UTC')),
    disposed_at      Nullable(DateTime64(3, 'UTC')),
    acknowledge_due  DateTime64(3, 'UTC'),
    dispose_due      DateTime64(3, 'UTC'),
    round            UInt32,
    overdue_alert_id String,
    overdue_at       Nullable(DateTime64(3, 'UTC')),
    requests         Array(String),
    version          UInt64,
    recorded_at      DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY case_id;

-- case_transitions: every step of every case (opened, raised, acknowledged,
-- disposed, reopened, noted, overdue, ...), who took it and with what note and
-- attachments (references, never files). A step stored twice collapses.
CREATE TABLE IF NOT EXISTS {database}.case_transitions{on_cluster}
(
    case_id     String,
    version     UInt64,
    event       LowCardinality(String),
    from_state  LowCardinality(String),
    to_state    LowCardinality(String),
    disposition LowCardinality(String),
    actor       String,
    role        LowCardinality(String),
    note        String,
    attachments Array(String),
    request_id  String,
    at          DateTime64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree
ORDER BY (case_id, version);
