"""The comparison the throughput benchmark needs: the same work, one event at a time.

A plain Faust agent that iterates its stream event by event (no ``take``) and hands
each message to the same :class:`~creditbrain.streams.processor.Processor`. Run as
``python -m benchmarks.naive_agent`` with the ``CREDITBRAIN_*`` environment of a worker.
"""

from __future__ import annotations

from typing import Any

import faust

from creditbrain.infra.kafka_security import faust_credentials
from creditbrain.runtime.worker import stream_config
from creditbrain.schemas.contract import input_topics, topic_name
from creditbrain.settings import get_settings
from creditbrain.streams.compat_tansu import patch_faust_for_tansu
from creditbrain.streams.messages import Inbound
from creditbrain.streams.processor import Processor


def main() -> None:
    settings = get_settings()
    config = stream_config(settings, settings.kafka.bootstrap or "", embedded_broker=True)
    patch_faust_for_tansu()
    app = faust.App(
        config.app_id,
        broker=f"kafka://{config.bootstrap}",
        broker_credentials=faust_credentials(),
        store="memory://",
        topic_partitions=config.partitions,
        broker_session_timeout=6,
        broker_heartbeat_interval=1,
        consumer_auto_offset_reset="earliest",
        web_enabled=False,
    )
    source = app.topic(*input_topics(config.prefix), key_serializer="raw", value_serializer="raw")
    outputs: dict[str, Any] = {}
    processor = Processor({}, config.ctx, config.scorecard, config.max_message_bytes)

    @app.agent(source, name="naive")
    async def naive(stream: Any) -> None:
        async for event in stream.events():
            message = event.message
            result = processor.process(
                [
                    Inbound(
                        message.topic, message.partition, message.offset, message.key, message.value
                    )
                ]
            )
            for out in result.outbound:
                topic = outputs.get(out.topic)
                if topic is None:
                    topic = outputs[out.topic] = app.topic(
                        topic_name(config.prefix, out.topic) + ".naive",
                        key_serializer="raw",
                        value_serializer="raw",
                    )
                await topic.send(key=out.key, value=out.value)

    faust.Worker(app, loglevel="warn", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
