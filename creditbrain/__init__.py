"""creditbrain: real-time credit monitoring and early warning for a city's credit platform.

This folder is the front door; the parts below it are folders of their own, mapped
into this package by ``pyproject.toml`` (ARCHITECTURE.md). Bottom up:

:mod:`creditbrain.core`
    errors and event time, which every part imports.
:mod:`creditbrain.schemas`
    the wire contract and the domain's data.
:mod:`creditbrain.simulator`
    a simulated city's events with their ground truth.
:mod:`creditbrain.models`, :mod:`creditbrain.alerts`
    the credit score and the models; the warning rules and the life of an alert.
:mod:`creditbrain.engine`
    the per-event step written once: an event or a moment in, effects out; every
    driver (worker, ``score``, ``backtest``, ``models evaluate``) runs it.
:mod:`creditbrain.streams`, :mod:`creditbrain.infra`
    the Faust worker and sinks; the broker and the ClickHouse store.
:mod:`creditbrain.dashboards`
    Grafana dashboards as code, and the offline snapshot.

The front door itself:

:mod:`.cli`
    the ``creditbrain`` command, one module per command group.
:mod:`.runtime`
    the run-time assembly: worker, sink, serve, demo.
:mod:`.api`
    the HTTP API: credit checks, warnings, policies, webhooks.
:mod:`.settings`
    the one settings class, read here and passed down as plain values.
:mod:`.asyncapi`
    the AsyncAPI document of the topics, built from the models and the topic layout.
"""
