-- Views the dashboards read, and the only objects the read-only dashboard role may
-- read (creditbrain.dashboards.access renders the role, its grants and the
-- supervisors' row policies for `db render`): the columns a panel needs, never a
-- secret, a person's name masked (first character, then one * per character), no
-- raw dead-letter bytes, no warning bodies, nothing of webhook_subscriptions, and of
-- the audit log only policy changes and the count of credit checks. SQL SECURITY
-- DEFINER: a reader needs SELECT on the view only, not on the tables under it.
-- Views over ReplacingMergeTree tables read them FINAL, so a panel reads one row per key.

-- dash_events: Every accepted record, a person's name masked (payloads name no person).
CREATE VIEW IF NOT EXISTS {database}.dash_events{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT event_id, kind, subject_id, subject_type, if(t.subject_type = 'person', if(lengthUTF8(t.subject_name) <= 1, repeat('*', lengthUTF8(t.subject_name)), concat(substringUTF8(t.subject_name, 1, 1), repeat('*', lengthUTF8(t.subject_name) - 1))), t.subject_name) AS subject_name, source, sector, district, occurred_at, reported_at, payload, ingested_at
FROM {database}.events AS t;

-- dash_entity_state: Each subject's latest state, a person's name masked.
CREATE VIEW IF NOT EXISTS {database}.dash_entity_state{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT subject_id, subject_type, if(t.subject_type = 'person', if(lengthUTF8(t.subject_name) <= 1, repeat('*', lengthUTF8(t.subject_name)), concat(substringUTF8(t.subject_name, 1, 1), repeat('*', lengthUTF8(t.subject_name) - 1))), t.subject_name) AS subject_name, sector, district, score, grade, reasons, records, last_event_at
FROM {database}.entity_state AS t FINAL;

-- dash_scores: Score history (names no one).
CREATE VIEW IF NOT EXISTS {database}.dash_scores{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT subject_id, subject_type, sector, district, as_of, score, grade, previous_score, previous_grade, event_id, cause, reasons
FROM {database}.scores AS t FINAL;

-- dash_alerts: Each alert's latest version, a person's name masked.
CREATE VIEW IF NOT EXISTS {database}.dash_alerts{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT alert_id, subject_id, subject_type, if(t.subject_type = 'person', if(lengthUTF8(t.subject_name) <= 1, repeat('*', lengthUTF8(t.subject_name)), concat(substringUTF8(t.subject_name, 1, 1), repeat('*', lengthUTF8(t.subject_name) - 1))), t.subject_name) AS subject_name, sector, district, rule, level, status, score, grade, previous_grade, first_event_at, event_time
FROM {database}.alerts AS t FINAL;

-- dash_alert_events: Warning notices without their body (it holds the name in clear).
CREATE VIEW IF NOT EXISTS {database}.dash_alert_events{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT alert_id, type, level, subject_id, sector, district, rule, time
FROM {database}.alert_events AS t;

-- dash_alert_acks: Acknowledgements without their notes.
CREATE VIEW IF NOT EXISTS {database}.dash_alert_acks{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT alert_id, acknowledged_by, acknowledged_at
FROM {database}.alert_acks AS t;

-- dash_dlq: Dead letters without their bytes (a bad identity number is there in clear): only the
-- department and the report time they name (a time outside 1970-2200, which no client
-- can read back, is left out).
CREATE VIEW IF NOT EXISTS {database}.dash_dlq{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT received_at, topic, reason, JSONExtractString(raw, 'source') AS source,
    if(match(JSONExtractString(raw, 'reported_at'), '^(19[7-9][0-9]|2[01][0-9][0-9])-'),
       parseDateTime64BestEffortOrNull(JSONExtractString(raw, 'reported_at'), 3, 'UTC'),
       NULL) AS reported_at,
    resolution
FROM {database}.dlq FINAL;

-- dash_metric_counts: Series counts, the last written per series-day.
CREATE VIEW IF NOT EXISTS {database}.dash_metric_counts{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT day, sector, district, kind, events
FROM {database}.metric_day_counts AS t FINAL;

-- dash_cases: Each case's latest version, a person's name masked; no request ids.
CREATE VIEW IF NOT EXISTS {database}.dash_cases{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT case_id, subject_id, subject_type, if(t.subject_type = 'person', if(lengthUTF8(t.subject_name) <= 1, repeat('*', lengthUTF8(t.subject_name)), concat(substringUTF8(t.subject_name, 1, 1), repeat('*', lengthUTF8(t.subject_name) - 1))), t.subject_name) AS subject_name, sector, district, team, level, state, disposition, rules, score, grade, opened_at, raised_at, acknowledged_at, disposed_at, acknowledge_due, dispose_due, overdue_alert_id, overdue_at
FROM {database}.cases AS t FINAL;

-- dash_metric_anomalies: Series verdicts.
CREATE VIEW IF NOT EXISTS {database}.dash_metric_anomalies{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT day, sector, district, kind, value, anomaly_score
FROM {database}.metric_anomalies AS t FINAL;

-- dash_pipeline_metrics: The pipeline's own metrics.
CREATE VIEW IF NOT EXISTS {database}.dash_pipeline_metrics{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT ts, name, value
FROM {database}.pipeline_metrics AS t;

-- dash_webhook_dead_letters: Failed deliveries without URL and body.
CREATE VIEW IF NOT EXISTS {database}.dash_webhook_dead_letters{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT id, subscription_id, alert_id, attempts, last_error, failed_at, replayed_at
FROM {database}.webhook_dead_letters AS t FINAL;

-- dash_measures: Measures applied, without the free-text note.
CREATE VIEW IF NOT EXISTS {database}.dash_measures{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT report_id, measure_id, measure_type, subject_id, department, decision, decided_at
FROM {database}.measures AS t;

-- dash_subject_registry: Registered subjects per type.
CREATE VIEW IF NOT EXISTS {database}.dash_subject_registry{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT subject_type, registered, as_of
FROM {database}.subject_registry AS t FINAL;

-- dash_policy_changes: audited policy changes (who, when, the policy before and after).
CREATE VIEW IF NOT EXISTS {database}.dash_policy_changes{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT ts, actor, details FROM {database}.audit WHERE action = 'policy_change';

-- dash_credit_checks: when credit checks happened, not who was checked or why.
CREATE VIEW IF NOT EXISTS {database}.dash_credit_checks{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT ts FROM {database}.audit WHERE action = 'credit_check';
