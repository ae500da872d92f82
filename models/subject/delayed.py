"""Learning "a red event within 90 days" from labels that only exist 90 days later.

A subject's features at event time ``t`` are an example whose label is whether
the subject had a red event in ``(t, t + horizon]``. That is known once the event
time seen by the stream (the watermark) has passed ``t + horizon``; until then the
example waits in a bounded queue ordered by its time. Red events are remembered
per subject only as long as a waiting example can still need them. A red event
that arrives after the watermark has passed the end of an example's horizon is
missed by that example: the stream's lateness must stay well below the horizon.

Most transitions are of subjects without any deduction; only every
``clean_stride``-th of those is queued (chosen by a hash of subject and time, so a
replay picks the same ones), weighted by ``clean_stride``, which keeps the
probabilities calibrated at a fraction of the learning cost.

An example waits as the dict of its non-zero features, the very dict that is later
learned. The garbage collector does not track a dict of strings and floats, so a
waiting example is one object to it (the queue's tuple) where a tuple of pairs was
about twenty: with tens of thousands waiting, that made its passes a large part of
the models' cost.
"""

from __future__ import annotations

import heapq
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

from river import base

from creditbrain.core.eventtime import DAY_MS

__all__ = ["DelayedLabels", "example_weight"]


def example_weight(subject_id: str, at_ms: int, clean: bool, stride: int) -> float:
    """The weight an example of ``subject_id`` at ``at_ms`` is learned with; 0 to skip it.

    Clean examples are kept one in ``stride`` (by a hash of subject and time), weighted
    by ``stride``; the others are all kept with weight 1.

    >>> example_weight("s", 0, False, 8), example_weight("s", 0, True, 1)
    (1.0, 1.0)
    >>> sorted({example_weight("s", at, True, 8) for at in range(40)})
    [0.0, 8.0]
    """
    if clean and stride > 1:
        if zlib.crc32(f"{subject_id}:{at_ms}".encode()) % stride:
            return 0.0
        return float(stride)
    return 1.0


class DelayedLabels:
    """A binary classifier taught with labels that mature ``horizon_days`` after each example.

    Parameters
    ----------
    classifier
        The River classifier taught (``learn_one(x, y, w=...)``).
    feature_names
        The keys an ``x`` may have (examples wait as their non-zero items).
    horizon_days
        Event-time horizon of the label.
    max_pending
        At most this many examples wait; further ones are dropped (and counted).
    clean_stride
        Keep one in this many examples whose ``clean`` flag is set, weighted by it.

    Examples
    --------
    >>> from river import linear_model
    >>> learner = DelayedLabels(linear_model.LogisticRegression(), ("a",), horizon_days=1)
    >>> learner.add("s1", {"a": 1.0}, 0)
    >>> learner.red("s1", DAY_MS // 2)
    >>> learner.advance(DAY_MS), learner.learned
    (0, 0)
    >>> learner.advance(DAY_MS + 1), learner.learned, learner.positives
    (1, 1, 1)
    """

    def __init__(
        self,
        classifier: base.Classifier,
        feature_names: Sequence[str],
        horizon_days: int = 90,
        max_pending: int = 200_000,
        clean_stride: int = 8,
    ) -> None:
        self.classifier = classifier
        self.feature_names = tuple(feature_names)
        self.horizon_days = horizon_days
        self.max_pending = max_pending
        self.clean_stride = clean_stride
        self._horizon_ms = horizon_days * DAY_MS
        self._pending: list[tuple[int, int, str, dict[str, float], float]] = []
        self._reds: dict[str, list[int]] = {}
        self._red_order: list[tuple[int, str]] = []
        self._sequence = 0
        self.watermark_ms = 0
        self.learned = 0
        self.positives = 0
        self.dropped = 0

    def add(self, subject_id: str, x: Mapping[str, float], at_ms: int, clean: bool = False) -> None:
        """Queue the example of ``subject_id`` at ``at_ms`` (sampled when ``clean``)."""
        weight = example_weight(subject_id, at_ms, clean, self.clean_stride)
        if weight:
            # Only the non-zero features wait: a zero adds nothing to a linear model's dot
            # product nor to its gradient, and most features of most transitions are zero.
            sparse = {name: value for name, value in x.items() if value}
            self.push(subject_id, sparse, at_ms, weight)

    def push(self, subject_id: str, x: dict[str, float], at_ms: int, weight: float) -> None:
        """Queue ``x`` itself, sampled and weighted already (:func:`example_weight`).

        ``x`` should hold only non-zero features; it is kept, and later learned, as it
        is, so nobody may change it afterwards (one dict can wait in several learners).
        """
        if len(self._pending) >= self.max_pending:
            self.dropped += 1
            return
        self._sequence += 1
        heapq.heappush(self._pending, (at_ms, self._sequence, subject_id, x, weight))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Checkpoints of format 2 kept each waiting example as a tuple of (name, value)
        # pairs; the order of the queue does not depend on it, so it stays a heap.
        pending = state["_pending"]
        if pending and isinstance(pending[0][3], tuple):
            state["_pending"] = [(a, s, i, dict(x), w) for a, s, i, x, w in pending]
        self.__dict__.update(state)

    def red(self, subject_id: str, at_ms: int) -> None:
        """Note a red event of ``subject_id`` at ``at_ms``."""
        self._reds.setdefault(subject_id, []).append(at_ms)
        heapq.heappush(self._red_order, (at_ms, subject_id))

    def advance(self, at_ms: int) -> int:
        """Move the watermark to ``at_ms``; learn every example whose label has matured."""
        if at_ms > self.watermark_ms:
            self.watermark_ms = at_ms
        mature_before = self.watermark_ms - self._horizon_ms
        pending = self._pending
        taught = 0
        learn: Any = self.classifier.learn_one
        while pending and pending[0][0] < mature_before:
            moment, _, subject_id, x, weight = heapq.heappop(pending)
            label = self._label(subject_id, moment)
            learn(x, label, w=weight)
            taught += 1
            self.positives += label
        self.learned += taught
        if taught:
            self._forget_reds(mature_before)
        return taught

    def _label(self, subject_id: str, moment: int) -> bool:
        reds = self._reds.get(subject_id)
        if not reds:
            return False
        until = moment + self._horizon_ms
        return any(moment < red <= until for red in reds)

    def _forget_reds(self, mature_before: int) -> None:
        # A red event can only matter to examples after (red - horizon); those still waiting
        # are all at or after mature_before.
        order = self._red_order
        while order and order[0][0] < mature_before:
            at_ms, subject_id = heapq.heappop(order)
            reds = self._reds[subject_id]
            reds.remove(at_ms)
            if not reds:
                del self._reds[subject_id]

    @property
    def pending(self) -> int:
        """Examples waiting for their label."""
        return len(self._pending)

    def predict_proba_one(self, x: dict[str, float]) -> float:
        """Probability of the positive class for ``x``."""
        features: dict[Any, Any] = x
        proba: dict[Any, float] = self.classifier.predict_proba_one(features)
        return float(proba.get(True, 0.0))
