"""The edges to real systems: the Kafka-protocol broker and the ClickHouse store.

Modules:

:mod:`.broker`
    the embedded Tansu broker process, and topic set-up on any broker.
:mod:`.kafka_security`
    TLS and SASL options that every Kafka client of the process gets.
:mod:`.extras`
    the ``embedded`` extra (chDB, Tansu): imported when used, one line when missing.
:mod:`.metrics_http`
    a process's metrics port: ``/metrics`` (Prometheus) and ``/health``.
:mod:`.produce`
    JSON Lines onto the contract's topics (``replay``, ``backfill``).
:mod:`.groups`
    the pipeline's own consumer groups (the sink, the webhook dispatcher).
:mod:`.lag`
    how far a consumer group is behind: what the demo and the tests wait on.
:mod:`.store`
    the ClickHouse store: one clickhouse-connect client, embedded chDB or a server.
:mod:`.cases`
    cases and their transitions in the store (what the case desk and the API share).
:mod:`.migrate`
    numbered SQL migrations (``migrations/*.sql``), applied once, in order, to any
    ClickHouse, single server or cluster.
"""
