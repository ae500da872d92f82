"""The Prometheus side of operations: the dashboard, the alert rules and the scrape config.

Every PromQL expression (dashboard panels and alert rules) must parse (promql-parser)
and may name only metric families that the processes really expose: the names are
collected from the registries the worker, the sink and the API build, in this
process, not from a list.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry

from creditbrain.alerts.delivery import RetryPolicy
from creditbrain.api import create_app
from creditbrain.api.metrics import watch_dispatcher
from creditbrain.api.webhooks import WebhookDispatcher
from creditbrain.dashboards.catalogue import build
from creditbrain.dashboards.operations import (
    PROMETHEUS_UID,
    UID,
    expressions,
    operations_dashboard,
)
from creditbrain.engine.engine import Counters
from creditbrain.schemas.contract import input_topics
from creditbrain.streams.metrics import PartitionLag, SinkMetrics, WorkerMetrics
from creditbrain.streams.sink import SinkStats
from tests.api.conftest import FakePublisher, settings_for_tests

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "infra" / "prometheus"
RULES = sorted((PROMETHEUS / "rules").glob("*.yml"))
GRAFANA = ROOT / "infra" / "grafana"

#: What an exposition adds to a family's name, by type.
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("_sum", "_count", "_created"),
}
#: Grafana's own variables, as Prometheus would see them once Grafana has filled them in.
_GRAFANA = {"$__rate_interval": "1m", "$__interval": "15s"}
#: Series Prometheus makes itself, not a process.
_PROMETHEUS = frozenset({"up"})


def _names(registry: CollectorRegistry) -> set[str]:
    found = set()
    for family in registry.collect():
        found.add(family.name)
        found.update(family.name + suffix for suffix in _SUFFIXES.get(family.type, ()))
        found.update(sample.name for sample in family.samples)
    return found


@pytest.fixture(scope="module")
def exposed() -> set[str]:
    """Every sample name the worker, the sink and the API (with the dispatcher) can expose."""
    worker = CollectorRegistry()
    WorkerMetrics(
        worker, Counters, {}, lag=PartitionLag(lambda t, p: 0), input_topics=input_topics("t")
    )
    sink = CollectorRegistry()
    SinkMetrics(sink, SinkStats())
    app = create_app(settings_for_tests(), lambda: pytest.fail("no store"), FakePublisher())
    dispatcher = WebhookDispatcher("127.0.0.1:1", {}, "g", list, lambda rows: None, RetryPolicy())
    watch_dispatcher(app, dispatcher)
    return _names(worker) | _names(sink) | _names(app.state.metrics_registry)


def _rules() -> list[dict[str, Any]]:
    rules = []
    for path in RULES:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        for group in doc["groups"]:
            rules.extend(group["rules"])
    return rules


def _selected(expr: str) -> set[str]:
    """The metric names ``expr`` selects; a syntax error fails here."""
    for variable, value in _GRAFANA.items():
        expr = expr.replace(variable, value)
    names: set[str] = set()

    def note(node: object) -> None:
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)

    promql_parser.walk(promql_parser.parse(expr), note)
    return names


def _unknown(expr: str, exposed: set[str]) -> set[str]:
    return _selected(expr) - exposed - _PROMETHEUS


def test_the_families_are_collected_from_the_processes(exposed: set[str]) -> None:
    for name in (
        "creditbrain_consumer_lag",
        "creditbrain_input_messages_total",
        "creditbrain_sink_insert_seconds_bucket",
        "creditbrain_http_request_seconds_count",
        "creditbrain_webhook_dead_letters_total",
    ):
        assert name in exposed


def test_every_dashboard_expression_names_exposed_families(exposed: set[str]) -> None:
    for expr in expressions():
        assert _selected(expr), expr
        assert not _unknown(expr, exposed), expr


def test_the_check_catches_a_misspelt_family_and_broken_promql(exposed: set[str]) -> None:
    assert _unknown("rate(creditbrain_sink_row_total[5m])", exposed) == {
        "creditbrain_sink_row_total"
    }
    with pytest.raises(ValueError, match="parenthesis"):
        _selected("sum by (job (creditbrain_consumer_lag)")


def test_the_alert_rules_parse_and_name_exposed_families(exposed: set[str]) -> None:
    rules = _rules()
    names = {rule["alert"] for rule in rules}
    assert {
        "CreditbrainLagGrowing",
        "CreditbrainDeadLettersHigh",
        "CreditbrainSinkFailing",
        "CreditbrainDepartmentSilent",
    } <= names
    for rule in rules:
        assert rule["labels"]["severity"] in ("page", "ticket"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"\d+[smh]", rule["for"]), rule["alert"]
        assert not _unknown(rule["expr"], exposed), rule["alert"]
    lag = next(rule for rule in rules if rule["alert"] == "CreditbrainLagGrowing")
    assert lag["for"] == "10m"


def test_the_scrape_config_reaches_every_process_and_loads_the_rules() -> None:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"worker", "sink", "api"} <= set(jobs)
    ports = {name: jobs[name]["dns_sd_configs"][0]["port"] for name in ("worker", "sink", "api")}
    assert ports == {"worker": 9464, "sink": 9464, "api": 8600}
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yml"]


def test_the_datasource_and_the_dashboard_agree() -> None:
    datasources = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yaml").read_text()
    )
    (prometheus,) = datasources["datasources"]
    assert (prometheus["uid"], prometheus["type"]) == (PROMETHEUS_UID, "prometheus")
    board = operations_dashboard("zh")
    for panel in board["panels"]:
        assert panel["datasource"]["uid"] == PROMETHEUS_UID
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
    assert len({panel["id"] for panel in board["panels"]}) == len(board["panels"])


def test_the_build_writes_the_dashboard_as_committed(tmp_path: Path) -> None:
    written = build(tmp_path)
    path = tmp_path / "cb-operations" / f"{UID}.json"
    assert path in written
    committed = GRAFANA / "dashboards" / "cb-operations" / f"{UID}.json"
    assert json.loads(committed.read_text()) == json.loads(path.read_text())
