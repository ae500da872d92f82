-- webhook_subscriptions: who receives signed warnings, and which ones. The highest
-- version of a subscription wins; deleting one is a newer row with deleted = 1, so
-- its dead letters still name a subscription that can be looked up. The secret is
-- needed in clear to sign (HMAC), so it is kept here and never returned by the API:
-- protect this table with the server's access rights.
CREATE TABLE IF NOT EXISTS {database}.webhook_subscriptions{on_cluster}
(
    id         String,
    url        String,
    secret     String,
    feed       LowCardinality(String),
    levels     Array(LowCardinality(String)),
    sectors    Array(LowCardinality(String)),
    districts  Array(LowCardinality(String)),
    owner      String,
    role       LowCardinality(String),
    created_at DateTime64(3, 'UTC'),
    deleted    UInt8,
    version    UInt64
)
ENGINE = {replicated}ReplacingMergeTree(version)
ORDER BY id;
