"""The Faust worker: topics, the subject table, agents and sinks; no credit rules.

Modules:

:mod:`.app`
    the Faust application: topics, the subject table, the scoring agent and
    the services beside it (:func:`~.app.create_stream`).
:mod:`.processor`
    one batch of input messages through the engine; its effects become output messages.
:mod:`.messages`
    the records the stream passes around, independent of Faust.
:mod:`.subjects`
    the table's entry: a subject's record and the input partition it belongs to.
:mod:`.models`
    the online models in the stream: per-subject early warning, city-level series.
:mod:`.checkpoints`
    the models' checkpoints on the models topic (``ModelKeeper``), and checkpoint files.
:mod:`.kafka_io`
    reading topic-partitions to their true end (the embedded broker's ListOffsets
    is wrong: KNOWN_ISSUES.md), for every reader that must know where the end is.
:mod:`.policies`
    supervisors' live warning policies, followed by every worker.
:mod:`.snoozes`
    snoozes of subjects' warnings, followed by every worker and the API.
:mod:`.output`
    the output producer: each batch's outputs straight into aiokafka.
:mod:`.sent`
    warnings go out once: fences on the warning topics, read back after a crash.
:mod:`.sink`
    the ClickHouse sink: the output topics, in batches, into the store.
:mod:`.metrics`
    the worker's and the sink's Prometheus families (prometheus-client).
:mod:`.recorder`
    a process's metrics, minute by minute, into the ``pipeline_metrics`` table.
:mod:`.rows`
    output messages to ClickHouse rows, one small function per table.
:mod:`.cases`
    the case desk: warnings join cases, grid reports close them, overdue notices.
:mod:`.compat_faust`, :mod:`.compat_tansu`
    work-arounds for Faust 0.15 itself and for the embedded broker (KNOWN_ISSUES.md).
"""
