"""The edges to real systems: the embedded broker, the ClickHouse store and its migrations."""
