"""The run-time assembly: settings in, the running system out.

Modules:

:mod:`.worker`
    :func:`~.worker.stream_config` (the Faust stream's configuration from the
    settings) and :func:`~.worker.build_host`, which puts the stream and the
    services beside it into one :class:`~.worker.Host` for ``creditbrain worker``
    and ``creditbrain serve``.
:mod:`.sink`
    :class:`~.sink.SinkService`: the ClickHouse sink on the worker's event loop.
:mod:`.serve`
    :func:`~.serve.api_services`: the HTTP API and the webhook dispatcher that
    ``serve`` runs beside the worker, answering with its live policies.
:mod:`.cases`
    cases' configuration and calendar from the settings; the case desk beside the worker.
:mod:`.metrics`
    :class:`~.metrics.MetricsService`: a worker's or sink's metrics port
    (``/metrics``, ``/health``), and the health checks it answers with.
:mod:`.demo`
    :class:`~.demo.Demo`: the whole system on one machine for ``creditbrain demo``
    (embedded broker, a worker process, a simulated city, the output watched).

The modules import Faust and the store when imported, so the CLI imports them
inside its commands; this package's face imports none of them.
"""
