-- shadow_alerts: a shadow policy set's comparison (PUT /policies/shadow/{name}):
-- every warning change under the shadow set (side 'shadow': never delivered, and
-- never in the live warnings' tables) and, on the same re-scorings, the live set's
-- own changes (side 'live'), per run of the shadow (started_at). One row per change
-- (sent: the set would send it), so a report counts openings and escalations as a
-- backtest does; a change stored again after a redelivery collapses into one row.
CREATE TABLE IF NOT EXISTS {database}.shadow_alerts{on_cluster}
(
    shadow         LowCardinality(String),
    started_at     DateTime64(3, 'UTC'),
    side           LowCardinality(String),
    alert_id       String,
    version        UInt64,
    change         LowCardinality(String),
    sent           UInt8,
    subject_id     String,
    subject_type   LowCardinality(String),
    sector         LowCardinality(String),
    district       LowCardinality(String),
    rule           LowCardinality(String),
    level          LowCardinality(String),
    score          UInt16,
    grade          LowCardinality(String),
    first_event_at DateTime64(3, 'UTC'),
    event_time     DateTime64(3, 'UTC')
)
ENGINE = {replicated}ReplacingMergeTree
ORDER BY (shadow, started_at, side, subject_id, alert_id, version);

-- shadow_policies: the shadows started and ended through the API (one row per change
-- of a shadow; the highest version wins). GET /policies/shadow lists the running
-- ones; a shadow's report counts both sides from its started_at.
CREATE TABLE IF NOT EXISTS {database}.shadow_policies{on_cluster}
(
    name       String,
    scope      String,
    override   String,
    reason     String,
    who        String,
    started_at DateTime64(3, 'UTC'),
    ended_at   Nullable(DateTime64(3, 'UTC')),
    version    UInt64
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY name;

-- dash_shadow_alerts: the shadows' comparison for the dashboards (no names are kept).
CREATE VIEW IF NOT EXISTS {database}.dash_shadow_alerts{on_cluster}
DEFINER = CURRENT_USER SQL SECURITY DEFINER
AS SELECT shadow, started_at, side, change, sent, subject_type, sector, district, rule, level, event_time
FROM {database}.shadow_alerts AS t FINAL;
