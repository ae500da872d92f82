-- subject_registry: how many subjects of each type the registers hold (market
-- supervision's register of enterprises and individual businesses, the registers
-- of non-enterprise legal persons and government bodies, the resident population
-- for persons). Coverage targets divide by these counts, not by the subjects the
-- store has seen. The deployment sets them (`creditbrain dashboards registry`);
-- the latest count per type wins.
CREATE TABLE IF NOT EXISTS {database}.subject_registry{on_cluster}
(
    subject_type LowCardinality(String),
    registered   UInt64,
    as_of        DateTime64(3, 'UTC') DEFAULT now64(3, 'UTC'),
    source       String
)
ENGINE = {replicated}ReplacingMergeTree(as_of)
ORDER BY subject_type;
