"""A trial of River's half-space trees on the accumulation and peer-relative features.

The experiment that led to the trees behind ``anomalous_deterioration`` (now the
default of :class:`~creditbrain.models.subject.EarlyWarning`, with a persistence
gate this trial leaves out): it measures what an unsupervised detector would warn of,
with the evaluation's definitions (:mod:`.scoring`), beside the engine. A simulated
city is replayed through the engine with cold models; on every transition of a subject
with recent trouble, a :class:`river.anomaly.HalfSpaceTrees` scores (then learns) the
features of any accumulation of trouble (:data:`KEYS`, from the models' own feature
dict). A warning is a transition scoring at or above a quantile of all the year's
scores, at most one per subject per 30 days; figures at 180 days for the whole city,
the held-out kinds of decline, and the share of look-alikes warned.

``python -m creditbrain.engine.trial --seed 42`` prints one line per quantile.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from typing import Any

from river import anomaly

from creditbrain.alerts import PolicySet
from creditbrain.core.eventtime import DAY_MS
from creditbrain.models.subject import EarlyWarning
from creditbrain.models.subject.early_warning import DETECTOR_FEATURES
from creditbrain.schemas.events import ParseContext
from creditbrain.schemas.state import EntityState, Record, ScoreResult
from creditbrain.simulator.stories import HELD_OUT

from .evaluation import _KEY, _city, _story_of, _values, replay, to_epoch_ms_of
from .scoring import HEADLINE_HORIZON, Outcome, score

__all__ = ["KEYS", "QUANTILES", "Row", "trial"]

#: The features the detector sees: any accumulation of trouble, and its excess over peers.
KEYS = DETECTOR_FEATURES
#: Quantiles of the year's scores tried as thresholds (0.9 was chosen on tuning seed 2).
QUANTILES = (0.9, 0.95, 0.98, 0.99)
_GAP_MS = 30 * DAY_MS


class _Watched(EarlyWarning):
    """The models, and beside them the detector scoring each transition with trouble."""

    def __init__(self, detector: Any) -> None:
        super().__init__(detector=False)  # the trial's own trees stand beside the rules
        self.detector = detector
        self.scores: list[tuple[str, int, float]] = []

    def observe(
        self,
        state: EntityState,
        result: ScoreResult,
        at_ms: int,
        record: Record | None = None,
        *,
        policies: PolicySet | None = None,
    ) -> tuple[float | None, float | None]:
        opinion = super().observe(state, result, at_ms, record, policies=policies)
        last: dict[str, float] = self.__dict__.get("_last_x", {})
        x = {key: last.get(key, 0.0) for key in KEYS}
        if any(x.values()):
            self.scores.append((state.subject_id, at_ms, self.detector.score_one(x)))
            self.detector.learn_one(x)
        return opinion


@dataclass(frozen=True)
class Row:
    """The detector's figures at one quantile."""

    quantile: float
    threshold: float
    whole: Outcome
    held_out: Outcome
    lookalikes_warned: float


def trial(seed: int, scale: float = 0.2, days: int = 365) -> list[Row]:
    """Replay ``seed``'s varied city; the detector's figures at each of :data:`QUANTILES`."""
    model = _Watched(anomaly.HalfSpaceTrees(n_trees=25, height=8, window_size=250, seed=1))
    start = date(2025, 1, 1)
    simulator = _city(seed, scale, start, days, "varied")
    begin = to_epoch_ms_of(start)
    found = replay(
        _values(simulator), model, PolicySet(), ParseContext(_KEY), (begin, begin + days * DAY_MS)
    )
    seen = found.seen
    stories = {e["id"]: _story_of(e) for e in simulator.ground_truth()["subjects"]}
    keep = {s for s in seen.subjects if s not in seen.reds}
    keep |= {s for s, story in stories.items() if story in HELD_OUT}
    lookalikes = [s for s, story in stories.items() if story == "lookalike" and s in seen.subjects]
    values = sorted(value for _, _, value in model.scores)
    rows = []
    for quantile in QUANTILES:
        threshold = values[int(quantile * (len(values) - 1))] if values else 1.0
        warned: dict[str, list[int]] = {}
        for subject_id, at_ms, value in model.scores:
            times = warned.get(subject_id)
            if value >= threshold and (times is None or at_ms - times[-1] > _GAP_MS):
                warned.setdefault(subject_id, []).append(at_ms)
        rows.append(
            Row(
                quantile,
                threshold,
                score("half-space trees", warned, seen, HEADLINE_HORIZON),
                score("half-space trees", warned, seen, HEADLINE_HORIZON, keep),
                sum(s in warned for s in lookalikes) / len(lookalikes) if lookalikes else 0.0,
            )
        )
    return rows


def _cell(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def main(argv: list[str] | None = None) -> None:
    """Print the trial's figures for one seed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)
    print(
        "| quantile | threshold | precision | recall | lead | false /1000 healthy/month "
        "| held-out precision | held-out recall | look-alikes warned |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in trial(args.seed, args.scale, args.days):
        w, h = row.whole, row.held_out
        print(
            f"| {row.quantile} | {row.threshold:.3f} | {_cell(w.precision)} | {_cell(w.recall)} "
            f"| {_cell(w.median_lead_days)} | {w.false_per_1000_healthy_month:.2f} "
            f"| {_cell(h.precision)} | {_cell(h.recall)} | {row.lookalikes_warned:.2f} |"
        )


if __name__ == "__main__":
    main()
