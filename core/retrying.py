"""The pipeline's retry schedules, on tenacity: how long to wait, when to stop, what to log.

Every loop that tries again (a webhook delivery, the sink's insert, the worker's
output, the case desk's store work, the read-back of sent warnings) is a
:class:`tenacity.AsyncRetrying` built from these pieces, so that a schedule reads
the same wherever it is used and its waits can be listed in a test without waiting.

>>> waits(doubling(0.5, 5.0), 6)
(0.5, 1.0, 2.0, 4.0, 5.0)
>>> waits(growing(0.5, 0.5), 3)
(0.5, 1.0)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from tenacity import RetryCallState, wait_exponential, wait_incrementing
from tenacity.stop import stop_base
from tenacity.wait import wait_base

__all__ = ["doubling", "growing", "log_before_sleep", "stop_when_set", "waits"]


def doubling(first: float, cap: float) -> wait_base:
    """Wait ``first`` seconds, then twice as long each time, never more than ``cap``.

    >>> waits(doubling(1.0, 60.0), 5)
    (1.0, 2.0, 4.0, 8.0)
    >>> waits(doubling(0.0, 60.0), 3)
    (0.0, 0.0)
    """
    return wait_exponential(multiplier=first, max=cap)


def growing(first: float, step: float) -> wait_base:
    """Wait ``first`` seconds, then ``step`` longer each time (no cap)."""
    return wait_incrementing(start=first, increment=step)


class stop_when_set(stop_base):
    """Give up once ``event`` is set: a process asked to stop does not wait for its store.

    >>> event = asyncio.Event()
    >>> stop = stop_when_set(event)
    >>> stop(None), event.set(), stop(None)
    (False, None, True)
    """

    def __init__(self, event: asyncio.Event) -> None:
        self.event = event

    def __call__(self, retry_state: RetryCallState | None) -> bool:
        return self.event.is_set()


def log_before_sleep(
    logger: logging.Logger, message: str, *, describe: Callable[[BaseException], tuple[object, ...]]
) -> Callable[[RetryCallState], None]:
    """A ``before_sleep`` hook: a warning with ``describe(error)`` and the seconds to wait.

    ``message`` takes the values ``describe`` gives, then the wait (``%.1f``).
    """

    def note(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        seconds = state.next_action.sleep if state.next_action is not None else 0.0
        details = describe(error) if error is not None else ()
        logger.warning(message, *details, seconds)

    return note


def waits(wait: wait_base, attempts: int) -> tuple[float, ...]:
    """The ``attempts - 1`` waits ``wait`` gives between consecutive tries."""
    found = []
    for attempt in range(1, attempts):
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = attempt
        found.append(float(wait(state)))
    return tuple(found)
