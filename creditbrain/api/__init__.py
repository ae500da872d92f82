"""The HTTP API of creditbrain: credit checks, warnings, policies and webhooks.

The API sits at the edge, after the stream: it reads what the sinks wrote to
ClickHouse, publishes supervisors' policy changes to ``credit.policies`` and
delivers warnings to webhook subscribers. :func:`create_app` builds the FastAPI
app from plain values; :mod:`~creditbrain.api.server` runs it beside the worker
(:class:`~creditbrain.api.server.ApiService`) or alone (``creditbrain api``);
:mod:`~creditbrain.api.webhooks` holds the webhook dispatcher. Routers, one per
resource: ``subjects`` (credit check), ``alerts``, ``policies``,
``subscriptions``, ``ops`` (health, metrics). See ``docs/api.md``.
"""

from __future__ import annotations

from creditbrain.api.app import create_app

__all__ = ["create_app"]
