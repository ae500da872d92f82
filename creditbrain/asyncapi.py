"""The AsyncAPI 3.0 document of creditbrain's topics, built from the code that uses them.

Every topic a partner or the store reads or writes is one channel: the six input
topics, the dead letters, scores, warnings, the grid's warnings, the supervisors'
policies and the scored days of the city's series. Each channel says its Kafka
topic, partitions and compaction (:func:`creditbrain.schemas.contract.topic_specs`,
what ``creditbrain topics create`` makes), and each message its key, headers and
payload schema. The payload schemas are those the stream validates and writes with
(:mod:`creditbrain.schemas.export`, the policy override of
:mod:`creditbrain.alerts.policy`), gathered under ``components.schemas``; operations
are written from creditbrain's side (``receive`` the inputs, ``send`` the outputs,
both for the policies, which its API writes and its workers read).

``creditbrain schemas export DIR`` writes it as ``DIR/asyncapi.json`` beside the JSON
Schemas; docs/schemas/ holds the copy for the default settings, which a test keeps
equal to what the command writes.

>>> doc = asyncapi_document("credit", 4)
>>> doc["asyncapi"], doc["channels"]["policies"]["address"]
('3.0.0', 'credit.policies')
>>> doc["channels"]["policies"]["bindings"]["kafka"]["topicConfiguration"]
{'cleanup.policy': ['compact']}
>>> doc["operations"]["receive-events-penalty"]["action"]
'receive'
"""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

from pydantic import TypeAdapter

from creditbrain.alerts.policy import PolicyOverride
from creditbrain.alerts.snooze import SnoozeMessage
from creditbrain.engine.shadow import NAME_PATTERN, Shadow
from creditbrain.schemas.contract import (
    DISPOSITIONS,
    DLQ,
    INPUT_TOPICS,
    MEASURES,
    POLICIES,
    SCORES,
    SHADOW_POLICIES,
    SNOOZES,
    WARNINGS,
    WARNINGS_GRID,
    TopicSpec,
    topic_name,
    topic_specs,
)
from creditbrain.schemas.dispositions import DispositionEvent
from creditbrain.schemas.events import EVENT_ADAPTER
from creditbrain.schemas.measures import MeasureReport
from creditbrain.schemas.outputs import MetricDay, ScoreChange
from creditbrain.schemas.parse import Reason
from creditbrain.schemas.warnings import CONTENT_TYPE, WarningEvent
from creditbrain.streams.messages import METRIC_DAYS

_KAFKA_BINDING = "0.5.0"
_REF = "#/components/schemas/{model}"

_PARTITIONING = (
    "Partitioned by the key with Kafka's default partitioner (murmur2), so that all "
    "messages with one key keep their order on one partition."
)

#: Payload name in ``components.schemas`` -> the type that validates it.
_PAYLOADS: dict[str, TypeAdapter[Any]] = {
    "CreditEvent": EVENT_ADAPTER,
    "WarningEvent": TypeAdapter(WarningEvent),
    "ScoreChange": TypeAdapter(ScoreChange),
    "PolicyOverride": TypeAdapter(PolicyOverride),
    "SnoozeMessage": TypeAdapter(SnoozeMessage),
    "Shadow": TypeAdapter(Shadow),
    "MetricDay": TypeAdapter(MetricDay),
    "DispositionEvent": TypeAdapter(DispositionEvent),
    "MeasureReport": TypeAdapter(MeasureReport),
}


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **schema}


_SOURCE_HEADERS = {
    "source-topic": _header("Input topic of the message this record derives from."),
    "source-partition": _header("Its partition (decimal).", pattern="^[0-9]+$"),
    "source-offset": _header("Its offset (decimal).", pattern="^[0-9]+$"),
}

_MESSAGES: dict[str, dict[str, Any]] = {
    "credit-event": {
        "title": "Credit event",
        "summary": "A penalty, judgment, arrears, positive record, list change, repair "
        "or objection about one subject.",
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(model="CreditEvent")},
        "bindings": {
            "kafka": {
                "key": _header("subject.id: the credit code or the resident identity number."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "dead-letter": {
        "title": "Dead letter",
        "summary": "An input message that could not be applied, unchanged, with the reason.",
        "description": "The payload is the input message as it arrived (it may not be JSON), "
        "with a person's resident identity number replaced by its pseudonym; empty when "
        "the message was over the size limit (header `body: dropped`). A repair or "
        "objection applied late gets a second record with `resolution: applied_late`.",
        "payload": {"description": "The input message's bytes."},
        "headers": {
            "type": "object",
            "required": ["reason", "event-id", "revision"],
            "properties": {
                "reason": _header("Reason code.", enum=[r.value for r in Reason]),
                "detail": _header("What was wrong, for a person to read."),
                "event-id": _header("The message's event_id, empty when it had none."),
                "revision": _header(
                    "Orders a later verdict on the same message after an earlier one.",
                    pattern="^[0-9]+$",
                ),
                "body": _header("Present when the body was not kept.", enum=["dropped"]),
                "resolution": _header(
                    "Present when a parked repair or objection was applied after all.",
                    enum=["applied_late"],
                ),
                **_SOURCE_HEADERS,
            },
        },
        "bindings": {
            "kafka": {
                "key": {
                    "type": ["string", "null"],
                    "description": "The subject's id (a person's pseudonym) when known.",
                },
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "score-change": {
        "title": "Score change",
        "summary": "A subject's score, grade and reasons after an event or an expiry.",
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(model="ScoreChange")},
        "bindings": {
            "kafka": {
                "key": _header("subject_id (a person's pseudonym)."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "warning": {
        "title": "Warning",
        "summary": "One change (opened, escalated, resolved) of one alert, a CloudEvent.",
        "description": "CloudEvents 1.0 in the structured mode of the CloudEvents Kafka "
        "binding. The event `id` is `<alertid>:<version>`, unique per change.",
        "contentType": CONTENT_TYPE,
        "payload": {"$ref": _REF.format(model="WarningEvent")},
        "headers": {
            "type": "object",
            "required": ["content-type", "alert-id", "alert-version"],
            "properties": {
                "content-type": _header("The CloudEvents Kafka binding.", const=CONTENT_TYPE),
                "alert-id": _header("The alert (the CloudEvents extension `alertid`)."),
                "alert-version": _header("The change (`data.version`).", pattern="^[1-9][0-9]*$"),
            },
        },
        "bindings": {
            "kafka": {
                "key": _header("The CloudEvents `subject`: subject id, pseudonym or series."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "policy-override": {
        "title": "Policy override",
        "summary": "What one scope changes in the default warning rules; no value deletes it.",
        "contentType": "application/json",
        "payload": {"anyOf": [{"$ref": _REF.format(model="PolicyOverride")}, {"type": "null"}]},
        "bindings": {
            "kafka": {
                "key": _header(
                    "The scope: `*`, `sector=<key>`, `district=<code>` or "
                    "`sector=<key>|district=<code>`.",
                    pattern=r"^(\*|sector=[^|=]+|district=[^|=]+|sector=[^|=]+\|district=[^|=]+)$",
                ),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "shadow-policy": {
        "title": "Shadow policy",
        "summary": "A candidate override of one scope judged beside the live policies, its "
        "warnings stored only; no value ends it.",
        "contentType": "application/json",
        "payload": {"anyOf": [{"$ref": _REF.format(model="Shadow")}, {"type": "null"}]},
        "bindings": {
            "kafka": {
                "key": _header("The shadow's name.", pattern=NAME_PATTERN),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "snooze": {
        "title": "Snooze",
        "summary": "One subject's warnings (one rule or all) held back until an event-time "
        "moment; no value lifts it.",
        "contentType": "application/json",
        "payload": {"anyOf": [{"$ref": _REF.format(model="SnoozeMessage")}, {"type": "null"}]},
        "bindings": {
            "kafka": {
                "key": _header("The snooze id."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "measure-report": {
        "title": "Measure applied or declined",
        "summary": "A department's report of a joint reward or punishment measure it "
        "applied or declined for a subject (联合奖惩措施反馈).",
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(model="MeasureReport")},
        "bindings": {
            "kafka": {
                "key": _header("The subject the measure concerns."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "case-disposition": {
        "title": "Case disposition report",
        "summary": "What the grid system or a department did about a case (CloudEvents, "
        "structured mode); a report delivered twice keeps its id and is applied once.",
        "contentType": "application/cloudevents+json; charset=UTF-8",
        "payload": {"$ref": _REF.format(model="DispositionEvent")},
        "bindings": {
            "kafka": {
                "key": _header("The case id, or no key."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
    "metric-day": {
        "title": "Scored series day",
        "summary": "A day of a sector x district x kind series: its count and anomaly score.",
        "contentType": "application/json",
        "payload": {"$ref": _REF.format(model="MetricDay")},
        "bindings": {
            "kafka": {
                "key": _header("The series, `<sector>|<district>|<kind>`."),
                "bindingVersion": _KAFKA_BINDING,
            }
        },
    },
}


def _channels() -> list[tuple[str, str, str, str, str]]:
    """Channel id, topic suffix, message, creditbrain's actions and description of each topic."""
    inputs = [
        (
            suffix.replace(".", "-"),
            suffix,
            "credit-event",
            "receive",
            f"Input events of the kinds {', '.join(kinds)}.",
        )
        for suffix, kinds in INPUT_TOPICS.items()
    ]
    return [
        *inputs,
        ("events-dlq", DLQ, "dead-letter", "send", "Input messages that were not applied."),
        ("scores", SCORES, "score-change", "send", "Every change of a subject's score."),
        ("warnings", WARNINGS, "warning", "send", "Every warning sent."),
        (
            "warnings-grid",
            WARNINGS_GRID,
            "warning",
            "send",
            "The warnings routed to the grid governance system (网格化治理); a person's "
            "name is masked unless the policy reveals it.",
        ),
        (
            "policies",
            POLICIES,
            "policy-override",
            "send receive",
            "Supervisors' overrides of the warning rules, by scope (compacted): the API "
            "writes them (`PUT /policies/{scope}`), every worker follows them.",
        ),
        (
            "policies-shadow",
            SHADOW_POLICIES,
            "shadow-policy",
            "send receive",
            "Shadow policy sets (compacted): the API writes them (`PUT "
            "/policies/shadow/{name}`), every worker judges each re-scoring under each of "
            "them too and stores what they would do (`shadow_alerts`), never sending it.",
        ),
        (
            "snoozes",
            SNOOZES,
            "snooze",
            "send receive",
            "Snoozes of one subject's warnings (compacted): the API writes them "
            "(`POST /subjects/{id}/snoozes`), every worker follows them and holds back "
            "the changes they cover (stored, marked snoozed, not sent).",
        ),
        (
            "measures-applied",
            MEASURES,
            "measure-report",
            "receive",
            "Departments' reports of the joint measures they applied or declined; the sink "
            "stores them for the plan's targets (they change no score).",
        ),
        (
            "dispositions",
            DISPOSITIONS,
            "case-disposition",
            "receive",
            "Dispositions of cases reported back by the grid governance system (网格化治理) "
            "and departments; the case desk applies them.",
        ),
        (
            "metric-days",
            METRIC_DAYS,
            "metric-day",
            "send",
            "Each scored day of each city-level series, for the store.",
        ),
    ]


def _kafka_channel(spec: TopicSpec) -> dict[str, Any]:
    binding: dict[str, Any] = {
        "topic": spec.name,
        "partitions": spec.partitions,
        "replicas": spec.replication_factor,
    }
    if spec.compacted:
        binding["topicConfiguration"] = {"cleanup.policy": ["compact"]}
    binding["bindingVersion"] = _KAFKA_BINDING
    return binding


def _without_discriminators(schema: Any) -> Any:
    """``schema`` without pydantic's OpenAPI-style ``discriminator`` objects.

    AsyncAPI's ``discriminator`` is a property name whose value names a schema; a
    ``oneOf`` of ``kind`` constants says what pydantic's mapping says.

    >>> _without_discriminators({"oneOf": [], "discriminator": {"propertyName": "kind"}})
    {'oneOf': []}
    """
    if isinstance(schema, dict):
        return {
            key: _without_discriminators(value)
            for key, value in schema.items()
            if not (key == "discriminator" and isinstance(value, dict))
        }
    if isinstance(schema, list):
        return [_without_discriminators(item) for item in schema]
    return schema


def payload_schemas() -> dict[str, Any]:
    """``components.schemas``: each payload and every schema it refers to, by name."""
    inputs = [(name, "validation", adapter) for name, adapter in _PAYLOADS.items()]
    tops, defs = TypeAdapter.json_schemas(inputs, ref_template=_REF)  # type: ignore[arg-type]
    schemas: dict[str, Any] = dict(defs.get("$defs", {}))
    for (name, _mode), schema in tops.items():
        if schema != {"$ref": _REF.format(model=name)}:
            schemas[name] = schema
    return {name: _without_discriminators(schemas[name]) for name in sorted(schemas)}


def asyncapi_document(prefix: str, partitions: int, replication_factor: int = 1) -> dict[str, Any]:
    """The AsyncAPI 3.0 document of the topics named with ``prefix``."""
    specs = {spec.name: spec for spec in topic_specs(prefix, partitions, replication_factor)}
    days = topic_name(prefix, METRIC_DAYS)
    specs[days] = TopicSpec(days, partitions, replication_factor)
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel, suffix, message, actions, description in _channels():
        spec = specs[topic_name(prefix, suffix)]
        channels[channel] = {
            "address": spec.name,
            "description": f"{description} {_PARTITIONING}",
            "messages": {message: {"$ref": f"#/components/messages/{message}"}},
            "bindings": {"kafka": _kafka_channel(spec)},
        }
        for action in actions.split():
            operations[f"{action}-{channel}"] = {
                "action": action,
                "channel": {"$ref": f"#/channels/{channel}"},
                "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
            }
    return {
        "asyncapi": "3.0.0",
        "id": "urn:creditbrain:topics",
        "info": {
            "title": "creditbrain topics",
            "version": version("creditbrain"),
            "description": "What department systems send to creditbrain over Kafka and what "
            "it sends back: credit events in, dead letters, scores, warnings and the "
            "series' scored days out, supervisors' policies in. Topic names carry a "
            f"configurable prefix (here `{prefix}`). The worker's other topics (accepted "
            "events, the alert log, table changelogs) are internal and not listed.",
            "license": {"name": "Apache-2.0"},
        },
        "servers": {
            "broker": {
                "host": "{bootstrap}",
                "protocol": "kafka",
                "description": "The deployment's Kafka-protocol broker.",
                "variables": {
                    "bootstrap": {
                        "default": "localhost:9092",
                        "description": "CREDITBRAIN_KAFKA__BOOTSTRAP",
                    }
                },
            }
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": _MESSAGES, "schemas": payload_schemas()},
    }
