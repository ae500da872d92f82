"""The processes' own metrics, for operations: a Grafana dashboard on Prometheus.

The other dashboards read the store; this one reads what the worker, the sink and
the API expose on their metrics ports (docs/operations.md, "Metrics"), scraped by
the Prometheus of ``infra/compose.yaml``: lag, rates, dead letters, latencies and
webhook delivery failures, now rather than as of the data's end. Every expression
names only families the processes expose; tests/dashboards/test_operations.py
checks them against the processes' registries, with the alert rules of
``infra/prometheus/rules``.

>>> board = operations_dashboard("en")
>>> board["uid"], board["panels"][0]["datasource"]["type"]
('cb-ops-metrics', 'prometheus')
>>> operations_dashboard("zh")["title"]
'城市信用大脑 · 运行指标'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from creditbrain.dashboards.model import SCHEMA_VERSION
from creditbrain.dashboards.names import TIME_ZONE, Lang

UID = "cb-ops-metrics"
FOLDER = "cb-operations"
#: The uid of the provisioned Prometheus datasource (infra/grafana/provisioning).
PROMETHEUS_UID = "creditbrain-prometheus"

_RATE = "[$__rate_interval]"


@dataclass(frozen=True, slots=True)
class PromPanel:
    """A time series panel: titles in both languages, one PromQL query per series set."""

    en: str
    zh: str
    exprs: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    width: int = 12

    def to_grafana(self, panel_id: int, x: int, y: int, lang: Lang) -> dict[str, Any]:
        datasource = {"type": "prometheus", "uid": PROMETHEUS_UID}
        return {
            "id": panel_id,
            "type": "timeseries",
            "title": self.en if lang == "en" else self.zh,
            "gridPos": {"x": x, "y": y, "w": self.width, "h": 8},
            "datasource": datasource,
            "targets": [
                {
                    "refId": chr(ord("A") + i),
                    "datasource": datasource,
                    "expr": expr,
                    "legendFormat": legend,
                }
                for i, (expr, legend) in enumerate(self.exprs)
            ],  # fmt: skip
            "fieldConfig": {"defaults": {"unit": self.unit}, "overrides": []},
            "options": {"legend": {"displayMode": "table", "placement": "right"}},
        }


def _p95(family: str, by: str) -> str:
    return f"histogram_quantile(0.95, sum by (le, {by}) (rate({family}_bucket{_RATE})))"


PANELS: tuple[PromPanel, ...] = (
    PromPanel(
        "Input messages per second, by department topic",
        "各部门主题输入速率（条/秒）",
        ((f"sum by (topic) (rate(creditbrain_input_messages_total{_RATE}))", "{{topic}}"),),
        unit="ops",
    ),
    PromPanel(
        "Consumer lag (messages behind)",
        "消费积压（条）",
        (("sum by (job, topic) (creditbrain_consumer_lag)", "{{job}} {{topic}}"),),
    ),
    PromPanel(
        "Events by outcome per second",
        "事件处理结果速率（条/秒）",
        ((f"sum by (outcome) (rate(creditbrain_events_total{_RATE}))", "{{outcome}}"),),
        unit="ops",
    ),
    PromPanel(
        "Dead letters per second, by reason",
        "死信速率（条/秒，按原因）",
        ((f"sum by (reason) (rate(creditbrain_dead_letters_total{_RATE}))", "{{reason}}"),),
        unit="ops",
    ),
    PromPanel(
        "Batch processing time p95",
        "批处理耗时 p95",
        ((_p95("creditbrain_batch_seconds", "job"), "{{job}}"),),
        unit="s",
    ),
    PromPanel(
        "Warnings published per second, by level",
        "预警发布速率（条/秒，按等级）",
        ((f"sum by (level) (rate(creditbrain_warnings_total{_RATE}))", "{{level}}"),),
        unit="ops",
    ),
    PromPanel(
        "Sink rows per second, by table",
        "入库速率（行/秒，按表）",
        ((f"sum by (table) (rate(creditbrain_sink_rows_total{_RATE}))", "{{table}}"),),
        unit="ops",
    ),
    PromPanel(
        "Sink insert time p95, by table",
        "入库耗时 p95（按表）",
        ((_p95("creditbrain_sink_insert_seconds", "table"), "{{table}}"),),
        unit="s",
    ),
    PromPanel(
        "Sink failures and seconds since the last write",
        "入库失败与距上次写入秒数",
        (
            (
                f"sum by (instance) (increase(creditbrain_sink_failures_total{_RATE}))",
                "failures {{instance}}",
            ),
            ("max by (instance) (creditbrain_sink_flush_age_seconds)", "age {{instance}}"),
        ),  # fmt: skip
    ),
    PromPanel(
        "API latency p95, by route",
        "接口耗时 p95（按路由）",
        ((_p95("creditbrain_http_request_seconds", "route"), "{{route}}"),),
        unit="s",
    ),
    PromPanel(
        "API answers per second, by status",
        "接口应答速率（按状态码）",
        (
            (
                f"sum by (status) (rate(creditbrain_http_request_seconds_count{_RATE}))",
                "{{status}}",
            ),
        ),  # fmt: skip
        unit="reqps",
    ),
    PromPanel(
        "Webhook deliveries, retries and failures per second",
        "推送送达、重试与失败速率",
        (
            (f"sum(rate(creditbrain_webhook_deliveries_total{_RATE}))", "delivered"),
            (f"sum(rate(creditbrain_webhook_retries_total{_RATE}))", "retries"),
            (f"sum(rate(creditbrain_webhook_dead_letters_total{_RATE}))", "dead letters"),
        ),
        unit="ops",
    ),
    PromPanel(
        "Model checkpoint age",
        "模型检查点时长",
        (("max by (instance) (creditbrain_checkpoint_age_seconds)", "{{instance}}"),),
        unit="s",
    ),
    PromPanel(
        "Subjects held in state",
        "状态中的主体数",
        (("sum by (instance) (creditbrain_state_subjects)", "{{instance}}"),),
    ),
)


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard."""
    return [expr for panel in PANELS for expr, _ in panel.exprs]


def operations_dashboard(lang: Lang = "zh") -> dict[str, Any]:
    """The dashboard JSON as Grafana provisions it."""
    panels = []
    x = y = 0
    for index, panel in enumerate(PANELS):
        if x + panel.width > 24:
            x, y = 0, y + 8
        panels.append(panel.to_grafana(index + 1, x, y, lang))
        x += panel.width
    return {
        "uid": UID,
        "title": "Credit brain · process metrics" if lang == "en" else "城市信用大脑 · 运行指标",
        "description": "Lag, rates, dead letters, latencies and delivery failures (Prometheus).",
        "tags": ["creditbrain", "prometheus"],
        "timezone": TIME_ZONE,
        "editable": True,
        "schemaVersion": SCHEMA_VERSION,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": []},
        "panels": panels,
    }


def write_operations(out_dir: Path, lang: Lang = "zh") -> Path:
    """Write the dashboard under ``out_dir/<folder>/<uid>.json``; the path written."""
    folder = out_dir / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{UID}.json"
    doc = json.dumps(operations_dashboard(lang), indent=2, ensure_ascii=False)
    path.write_text(doc + "\n", encoding="utf-8")
    return path
