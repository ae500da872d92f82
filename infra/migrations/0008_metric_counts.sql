-- metric_day_counts: each series-day's whole count, the last one written winning.
-- It replaces metric_counts (0004), a SummingMergeTree that added up every row of a
-- key: a day written twice (a batch read again after a crash, or a day scored again
-- after the series watch resumed from an older checkpoint) was counted twice. The
-- sink writes a day's whole count, never a part of it, so keeping the newest row is
-- exact. version is the Kafka offset of the day's message: a series' days are keyed
-- to one partition, so a later message always has the higher offset, even when both
-- arrive in one insert. Read with FINAL (or argMax(events, version)).
--
-- metric_counts is left as it was (a migration cannot drop a sharded table on a
-- cluster); nothing writes it any more.
CREATE TABLE IF NOT EXISTS {database}.metric_day_counts{on_cluster}
(
    day      Date,
    sector   LowCardinality(String),
    district LowCardinality(String),
    kind     LowCardinality(String),
    events   UInt64,
    version  UInt64
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY (sector, district, kind, day);
