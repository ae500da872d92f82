"""A miniature of the stream for alert tests: apply, re-score, expire, judge.

It calls the domain the way ``streams/processor.py`` does (apply_event, evaluate
as of ``max(as_of, occurred_at)``, publicity expiries caught up before a later
event), and hands every re-scoring to :func:`judge` with the subject's
:class:`AlertState`, so tests see the warnings the stream would send.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from creditbrain.alerts import AlertState, AlertUpdate, Transition, judge, last_score
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.models.scorecard import (
    DEFAULT_SCORECARD,
    Applied,
    ScorecardConfig,
    apply_event,
    evaluate,
)
from creditbrain.schemas.events import CreditEvent
from creditbrain.schemas.policies import DEFAULT_POLICIES, PolicySet
from creditbrain.schemas.state import EntityState, Record
from tests.strategies import T0


def ms(at: datetime | timedelta) -> int:
    """Epoch ms of a moment, or of ``T0 + offset``."""
    return to_epoch_ms(T0 + at if isinstance(at, timedelta) else at)


@dataclass
class Driver:
    policies: PolicySet = DEFAULT_POLICIES
    config: ScorecardConfig = DEFAULT_SCORECARD
    states: dict[str, EntityState] = field(default_factory=dict)
    alerts: dict[str, AlertState] = field(default_factory=dict)
    log: list[AlertUpdate] = field(default_factory=list)
    #: Round-trip every AlertState through JSON between transitions (as a Faust table would).
    persist: bool = False

    def apply(
        self,
        event: CreditEvent,
        *,
        anomaly: float | None = None,
        probability: float | None = None,
        must_apply: bool = True,
    ) -> list[AlertUpdate]:
        """Apply one event (after the expiries due before it); the updates it caused."""
        subject_id = event.subject.id
        state = self.states.get(subject_id) or EntityState.for_event(event)
        event_ms = to_epoch_ms(event.occurred_at)
        updates = self._expire(state, event_ms)
        outcome = apply_event(state, event, self.config)
        if not isinstance(outcome, Applied):
            assert not must_apply, outcome
            return updates
        self.states[subject_id] = state
        as_of = max(state.as_of_ms, event_ms)
        updates += self._rescore(state, as_of, Record.from_event(event), anomaly, probability)
        return updates

    def advance(self, until: datetime | timedelta) -> list[AlertUpdate]:
        """Publicity expiries of every subject up to ``until``."""
        updates: list[AlertUpdate] = []
        for state in self.states.values():
            updates += self._expire(state, ms(until))
        return updates

    def state_of(self, subject_id: str) -> AlertState:
        return self.alerts.setdefault(subject_id, AlertState())

    def _expire(self, state: EntityState, until_ms: int) -> list[AlertUpdate]:
        updates: list[AlertUpdate] = []
        while state.next_change_ms is not None and state.next_change_ms <= until_ms:
            updates += self._rescore(state, state.next_change_ms, None, None, None)
        return updates

    def _rescore(
        self,
        state: EntityState,
        as_of: int,
        event: Record | None,
        anomaly: float | None,
        probability: float | None,
    ) -> list[AlertUpdate]:
        before = last_score(state)
        after = evaluate(state, as_of, self.config)
        state.record_score(after, as_of)
        transition = Transition.of(
            state,
            before,
            after,
            as_of,
            event,
            anomaly_score=anomaly,
            default_probability=probability,
        )
        alerts = self.state_of(state.subject_id)
        if self.persist:
            alerts = self.alerts[state.subject_id] = AlertState.from_json(alerts.to_json())
        updates = judge(alerts, transition, self.policies)
        self.log += updates
        return updates


def changes(updates: list[AlertUpdate]) -> list[tuple[str, str]]:
    """``(rule, change)`` of each update, in order."""
    return [(u.rule, u.change) for u in updates]


def of_rule(updates: list[AlertUpdate], rule: str) -> list[AlertUpdate]:
    return [u for u in updates if u.rule == rule]


def only(updates: list[AlertUpdate], rule: str) -> AlertUpdate:
    """The one update of ``rule`` (fails when there are none or several)."""
    found = of_rule(updates, rule)
    assert len(found) == 1, changes(updates)
    return found[0]
