"""The ClickHouse sink as a service of the worker's event loop (``serve``, ``worker`` with sink).

``creditbrain sink`` runs the same :class:`~creditbrain.streams.sink.ClickHouseSink`
alone, without this wrapper.
"""

from __future__ import annotations

from typing import Any

from mode import Service

from creditbrain.streams.sink import ClickHouseSink


class SinkService(Service):
    """Runs a :class:`ClickHouseSink` inside the Faust worker's event loop."""

    def __init__(self, sink: ClickHouseSink, **kwargs: Any) -> None:
        self.sink = sink
        super().__init__(**kwargs)

    @Service.task
    async def _run(self) -> None:
        await self.sink.run()

    async def on_stop(self) -> None:
        self.sink.stop()
