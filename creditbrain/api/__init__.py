"""The HTTP API of creditbrain: credit checks, warnings, policies and webhooks.

The API sits at the edge, after the stream: it reads what the sinks wrote to
ClickHouse, publishes supervisors' policy changes to ``credit.policies`` and
delivers warnings to webhook subscribers. :func:`create_app` builds the FastAPI
app from plain values; :mod:`~creditbrain.api.server` runs it beside the worker
(:class:`~creditbrain.api.server.ApiService`) or alone (``creditbrain api``);
:mod:`~creditbrain.api.webhooks` holds the webhook dispatcher. See ``docs/api.md``.

Modules:

:mod:`.app`, :mod:`.server`
    the FastAPI application; serving it beside the worker or alone.
:mod:`.subjects`, :mod:`.alerts`, :mod:`.policies`, :mod:`.subscriptions`, :mod:`.ops`
    the routers, one per resource: credit check (信用核查), warnings, policies,
    webhook subscribers, health and metrics.
:mod:`.cases`, :mod:`.inspections`, :mod:`.objections`
    cases of warnings (transitions, bulk actions, grid reports), the month's
    random inspection list by grade, and the objections pending on a credit check.
:mod:`.policy_history`
    the versions of each policy scope, as the audit keeps them.
:mod:`.preview`
    a candidate policy tried over the stored history before it goes live.
:mod:`.shadow`
    candidate policies judged beside the live ones on the live stream, their report
    and their promotion.
:mod:`.snoozes`, :mod:`.watchlists`
    one subject's warnings held back until an event-time moment; named lists of
    subjects and the warnings of theirs.
:mod:`.views`
    response models shared by the routers, and the queries that fill them.
:mod:`.lookup`
    the credit check's read: one statement, no ``FINAL``.
:mod:`.context`
    what every route needs: settings, store, policy publisher, counters.
:mod:`.metrics`
    the API's Prometheus registry: request latency by route and status, counters.
:mod:`.problems`, :mod:`.responses`
    every error as an RFC 9457 problem (``application/problem+json``); what each
    route can answer, declared in the OpenAPI document.
:mod:`.pages`, :mod:`.times`
    cursor pages of the lists; times a caller may give (within the store's range).
:mod:`.auth`, :mod:`.ratelimit`
    API keys and roles; per-key limits by route class, priced by what a read costs.
:mod:`.guards`, :mod:`.targets`, :mod:`.freetext`
    the body cap and the scrub of error bodies; the webhook targets allowed (no
    loopback, private or metadata address); resident ids in free text pseudonymised.
:mod:`.measures`
    joint reward and punishment measures (守信联合激励 / 失信联合惩戒) as data.
:mod:`.webhooks`
    the webhook dispatcher, the subscription table, replay of dead letters.
:mod:`.openapi`
    the OpenAPI schema as a committed artefact (``docs/openapi.json``).
"""

from __future__ import annotations

from creditbrain.api.app import create_app

__all__ = ["create_app"]
