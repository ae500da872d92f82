"""Snoozes in force, followed by every worker and the API from ``credit.snoozes``.

Like ``credit.policies`` (:mod:`creditbrain.streams.policies`): a compacted topic of
one partition (key: the snooze id, value: the snooze, empty to lift it) that every
worker reads whole from the start and then follows, replacing the processor's
:class:`~creditbrain.alerts.snooze.SnoozeSet` after each message. Snoozes end by
themselves in event time (the engine compares), so an expired snooze left on the
topic holds nothing back; lifting one early is a tombstone.
"""

from __future__ import annotations

import logging

from creditbrain.alerts.snooze import SnoozeError, SnoozeSet, apply_snooze_message
from creditbrain.streams.policies import PolicyFollower

log = logging.getLogger(__name__)


class SnoozeView:
    """Where a follower without an engine keeps the snoozes it read (the API's copy).

    >>> len(SnoozeView().snoozes.by_id)
    0
    """

    def __init__(self) -> None:
        self.snoozes = SnoozeSet()


class SnoozeFollower(PolicyFollower):
    """Reads ``credit.snoozes`` into ``processor.snoozes`` (a processor or :class:`SnoozeView`)."""

    def _apply(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            log.warning("snooze message without a key ignored")
            return
        try:
            self.processor.snoozes = apply_snooze_message(self.processor.snoozes, key, value)
        except SnoozeError as error:
            log.warning("snooze message rejected: %s", error)
            return
        self.applied += 1
