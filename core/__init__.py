"""The bottom layer: what every part of creditbrain imports, and which imports nothing of it.

Modules:

:mod:`.errors`
    the one exception tree (:class:`CreditBrainError` and its few subclasses); the
    CLI catches its root, everything else is a bug.
:mod:`.eventtime`
    event time: :data:`DAY_MS`, the city's zone :data:`CST` (``+08:00``), epoch
    milliseconds to and from datetimes, and the CST calendar day of a moment.
:mod:`.retrying`
    the retry schedules (tenacity) every loop that tries again is built from.
:mod:`.workdays`
    the working-day calendar of mainland China (statutory holidays, adjusted
    working days, office hours) and deadlines in working days and hours.

The layers above, bottom up: ``core`` → ``schemas`` → ``simulator`` → ``models``,
``alerts`` → ``engine`` → ``streams``, ``infra`` → ``dashboards`` → the front door
(``creditbrain/``: CLI, API, run-time assembly, settings). A module imports only
from its own layer or below; ``tests/test_layers.py`` checks it.
"""

from __future__ import annotations

from creditbrain.core.errors import (
    BrokerError,
    ConfigurationError,
    CreditBrainError,
    InputFileError,
    StoreError,
    StoreLockedError,
)
from creditbrain.core.eventtime import CST, DAY_MS, day_of, from_epoch_ms, to_epoch_ms

__all__ = [
    "CST",
    "DAY_MS",
    "BrokerError",
    "ConfigurationError",
    "CreditBrainError",
    "InputFileError",
    "StoreError",
    "StoreLockedError",
    "day_of",
    "from_epoch_ms",
    "to_epoch_ms",
]
