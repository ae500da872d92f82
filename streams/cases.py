"""The case desk: warnings and disposition reports in, cases and overdue notices out.

A small consumer beside the worker (its own group on ``credit.warnings`` and
``credit.dispositions``) that drives the pure case logic of
:mod:`creditbrain.alerts.cases`:

* a warning joins its subject's case for the owning team (opening, re-raising or
  reopening it);
* a disposition report closes or annotates the case it names, once per report id;
  an invalid report, or one about an unknown case or refused by the case's state,
  goes to the dead-letter topic with its reason;
* after every batch, event time (the latest ``time`` of a warning and ``data.at`` of
  a report read so far, never the wall clock) is compared with the open cases'
  deadlines, and each case that missed one gets one ``case_overdue`` warning, sent
  like any other (``credit.warnings``, and ``alerts.log`` for the store); the case
  is marked once the warning is on the broker.

Cases live in the store (:class:`~creditbrain.infra.cases.CaseRepository`), which the
API also writes: the desk keeps no state of its own but the event time it has seen.
Offsets are committed after a batch's cases are stored and its warnings sent, so a
crash re-reads the batch, and the stable case ids, the report ids the cases remember
and the overdue mark make the re-read change nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import CommitFailedError
from aiokafka.structs import ConsumerRecord, TopicPartition
from pydantic import ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type

from creditbrain.alerts.cases import (
    NOT_CASES,
    Action,
    CaseConfig,
    CaseError,
    Step,
    act,
    case_id_of,
    join,
    mark_overdue,
    overdue_warning,
)
from creditbrain.alerts.lifecycle import AlertUpdate
from creditbrain.alerts.policy import PolicySet
from creditbrain.core.errors import ConfigurationError, StoreError
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.core.retrying import doubling, log_before_sleep, stop_when_set
from creditbrain.core.workdays import WorkCalendar
from creditbrain.infra.cases import CaseRepository
from creditbrain.infra.groups import group_consumer
from creditbrain.infra.kafka_security import aiokafka_options
from creditbrain.schemas.contract import DLQ, WARNINGS, topic_name
from creditbrain.schemas.dispositions import DISPOSITIONS_TOPIC, DispositionEvent
from creditbrain.schemas.warnings import WarningEvent
from creditbrain.streams.messages import Outbound, alert_messages

log = logging.getLogger(__name__)

_Batch = dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]

AUDIT_COLUMNS = ("ts", "actor", "role", "action", "subject_id", "purpose", "details")


@dataclass
class DeskCounters:
    """What the desk has done, for ``/metrics`` and tests."""

    warnings: int = 0
    cases_changed: int = 0
    dispositions_applied: int = 0
    dispositions_repeated: int = 0
    dispositions_refused: int = 0
    overdue_sent: int = 0
    without_calendar: int = 0


@dataclass
class CaseDesk:
    """The case logic over a repository, one message at a time (no Kafka in here).

    Each handler returns the messages to produce (contract suffixes as topics).
    """

    cases: CaseRepository
    config: CaseConfig
    calendar: WorkCalendar
    policies: Callable[[], PolicySet]
    now: int = 0
    counters: DeskCounters = field(default_factory=DeskCounters)
    _marks: list[Step] = field(default_factory=list)

    def on_warning(self, body: bytes) -> list[Outbound]:
        """A warning joins its case."""
        warning = WarningEvent.from_bytes(body)
        self.now = max(self.now, to_epoch_ms(warning.time))
        if warning.data.rule in NOT_CASES:
            return []
        self.counters.warnings += 1
        team = self.config.team_for(warning.data.sector, warning.data.district)
        case = self.cases.get(case_id_of(warning.data.subject.id, team))
        step = join(case, warning, self.config, self.calendar)
        if step is not None and step.case != case:
            self.cases.save(step)
            self.counters.cases_changed += 1
        return []

    def on_disposition(self, body: bytes, position: tuple[str, int, int]) -> list[Outbound]:
        """A report from the grid closes or annotates its case; refused ones are dead letters."""
        try:
            report = DispositionEvent.from_bytes(body)
        except ValidationError as error:
            return self._refuse(body, position, "invalid_disposition", str(error)[:500])
        at = to_epoch_ms(report.data.at)
        self.now = max(self.now, at)
        case = self.cases.get(report.data.case_id)
        if case is None:
            return self._refuse(body, position, "unknown_case", report.data.case_id)
        action: Action = "dispose" if report.data.disposition is not None else "note"
        try:
            step = act(
                case, action, at=at, actor=report.data.by, role="grid", config=self.config,
                calendar=self.calendar, disposition=report.data.disposition,
                note=report.data.note, attachments=report.data.attachments,
                request_id=report.id,
            )  # fmt: skip
        except CaseError as error:
            return self._refuse(body, position, "refused_by_case", str(error))
        except ConfigurationError as error:
            return self._refuse(body, position, "no_calendar", str(error))
        if step.transition is None:
            self.counters.dispositions_repeated += 1
            return []
        self.cases.save(step)
        self.cases.store.insert_rows(
            "audit",
            [{"ts": datetime.now(UTC), "actor": report.data.by, "role": "grid",
              "action": "case_disposition", "subject_id": case.subject_id,
              "purpose": report.source,
              "details": orjson.dumps({"case_id": case.case_id, "report_id": report.id,
                                       "disposition": report.data.disposition}).decode()}],
            AUDIT_COLUMNS,
        )  # fmt: skip
        self.counters.dispositions_applied += 1
        return []

    def tick(self) -> list[Outbound]:
        """Notice the deadlines event time has passed: one ``case_overdue`` per case round.

        The cases' marks are held until :meth:`confirm`, which the driver calls once the
        warnings are on the broker: a crash in between sends a notice again (same alert
        id, collapsed downstream) rather than never.
        """
        if not self.now:
            return []
        out: list[Outbound] = []
        policies = self.policies()
        for case in self.cases.due_before(self.now):
            step = mark_overdue(case, self.now)
            if step is None:
                continue
            update: AlertUpdate | None = overdue_warning(step.case, policies)
            # Marked even when the policy is off: switching it on later must not
            # send a notice for a breach long past.
            self._marks.append(step)
            if update is not None:
                out.extend(alert_messages(update))
                self.counters.overdue_sent += 1
        return out

    def forget_marks(self) -> None:
        """Drop marks of a tick whose batch is being tried again (they come back with it)."""
        self._marks.clear()

    def confirm(self) -> None:
        """Store the overdue marks of the last :meth:`tick` (after its warnings were sent)."""
        for step in self._marks:
            self.cases.save(step)
        self._marks.clear()

    def _refuse(
        self, body: bytes, position: tuple[str, int, int], reason: str, detail: str
    ) -> list[Outbound]:
        self.counters.dispositions_refused += 1
        topic, partition, offset = position
        headers = [
            ("reason", reason.encode()),
            ("detail", detail.encode()),
            ("source-topic", topic.encode()),
            ("source-partition", str(partition).encode()),
            ("source-offset", str(offset).encode()),
        ]
        return [Outbound(DLQ, None, body, headers)]


class CaseDeskRunner:
    """Runs a :class:`CaseDesk` on the broker until :meth:`stop`."""

    def __init__(
        self,
        desk: CaseDesk,
        bootstrap: str,
        prefix: str,
        group_id: str,
        retry_max_delay: float = 5.0,
    ) -> None:
        self.desk = desk
        self.retry_max_delay = retry_max_delay
        self.bootstrap = bootstrap
        self.prefix = prefix
        self.group_id = group_id
        self._stopping = asyncio.Event()
        self.warnings_topic = topic_name(prefix, WARNINGS)
        self.dispositions_topic = topic_name(prefix, DISPOSITIONS_TOPIC)

    def stop(self) -> None:
        """Finish after the batch in hand."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume, apply, produce, commit; until stopped."""
        consumer = group_consumer(
            self.bootstrap, self.group_id, self.warnings_topic, self.dispositions_topic
        )
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks=1, **aiokafka_options())
        await consumer.start()
        await producer.start()
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(timeout_ms=200, max_records=500)
                if not batch:
                    continue
                out = await self._until_stored(self._apply, batch)
                if out is None:
                    break  # stopped during a store outage: the batch stays uncommitted
                for message in out:
                    await producer.send(
                        topic_name(self.prefix, message.topic), message.value,
                        key=message.key, headers=message.headers or None,
                    )  # fmt: skip
                await producer.flush()
                if await self._until_stored(self._confirm, batch) is None:
                    break
                try:
                    await consumer.commit()
                except CommitFailedError as error:
                    log.warning("case desk commit failed (%s); the batch will be re-read", error)
        finally:
            await consumer.stop()
            await producer.stop()

    async def _until_stored(
        self,
        work: Callable[[_Batch], list[Outbound] | None],
        batch: _Batch,
    ) -> list[Outbound] | None:
        """``work(batch)`` in a thread, tried again while the store refuses (like the sink).

        A batch tried again changes nothing twice: a warning already joined adds no
        transition, a report already applied is remembered by its case. ``None`` when
        stopped before the store came back.
        """
        retrying = AsyncRetrying(
            wait=doubling(0.5, self.retry_max_delay),
            sleep=_pause,
            stop=stop_when_set(self._stopping),
            retry=retry_if_exception_type(StoreError),
            before_sleep=log_before_sleep(
                log, "case desk: the store refused (%s); trying again in %.1f s", describe=_why
            ),
            reraise=True,
        )
        try:
            return await retrying(asyncio.to_thread, work, batch) or []
        except StoreError as error:
            log.warning("case desk: the store refused (%s); stopping", error)
            return None

    def _confirm(self, batch: _Batch) -> list[Outbound]:
        self.desk.confirm()
        return []

    def _apply(self, batch: _Batch) -> list[Outbound]:
        self.desk.forget_marks()
        out: list[Outbound] = []
        for records in batch.values():
            for record in records:
                value = record.value or b""
                if record.topic == self.dispositions_topic:
                    position = (record.topic, record.partition, record.offset)
                    out.extend(self.desk.on_disposition(value, position))
                    continue
                try:
                    out.extend(self.desk.on_warning(value))
                except ValidationError as error:
                    # The topic carries the stream's own output: a bad one is a defect
                    # elsewhere, to be seen in the log, not a reason to stop the desk.
                    log.error("case desk: unreadable warning at %s: %s", record.offset, error)
                except ConfigurationError as error:
                    # A year the working-day calendar does not hold: no deadline can be
                    # set, so no case; the log says which year to add.
                    self.desk.counters.without_calendar += 1
                    log.error("case desk: warning at %s left out: %s", record.offset, error)
        out.extend(self.desk.tick())
        return out


def _why(error: BaseException) -> tuple[object, ...]:
    return (error,)


async def _pause(seconds: float) -> None:
    """The wait between two tries (a test replaces it to list the waits)."""
    await asyncio.sleep(seconds)
