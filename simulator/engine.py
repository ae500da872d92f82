"""The discrete-event loop: a day's background records, stories and follow-ups, in time order.

Every future record sits in one heap keyed by (second, sequence). Each simulated
day first draws its background records (a Poisson count per kind, scaled by the
calendar, spread over the population by type and sector), then pops the heap up
to midnight. Popping a record materialises it into a wire event, which may
schedule later records (a repair, the next arrears report): these are never
earlier than the record itself, so events come out with ``occurred_at``
non-decreasing. Only what is still to happen is held, so memory does not grow
with the number of events.
"""

from __future__ import annotations

import math
import random
from array import array
from bisect import bisect
from collections.abc import Iterator
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import count

from creditbrain.simulator.calendar import (
    DAY,
    Clock,
    activity,
    tax_arrears_factor,
    time_of_day,
    wage_arrears_factor,
)
from creditbrain.simulator.catalogue import GENERATORS, GOVERNMENT, Generator
from creditbrain.simulator.config import CityConfig
from creditbrain.simulator.corrupt import ErrorInjector
from creditbrain.simulator.declines import VARIED_NOISE, cast_varied, story_steps
from creditbrain.simulator.plan import RANDOM, Plan
from creditbrain.simulator.population import DISTRICT_KEYS, SECTOR_KEYS, Population
from creditbrain.simulator.records import Records
from creditbrain.simulator.stories import (
    DETERIORATION_DAYS,
    Episode,
    Story,
    choose_episodes,
    deterioration,
    recovery,
)
from creditbrain.simulator.wire import SimEvent

#: Working days a year: yearly rates are spread over these.
_WORKING_DAYS = 250
_STORY_KINDS = frozenset({"deteriorating", "recovering"})
#: A future record: (second, sequence, subject, kind, plan); the sequence breaks ties.
_Item = tuple[int, int, int, str, Plan]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson draw: exact for small means, normal approximation for large ones.

    >>> poisson(random.Random(1), 0.0)
    0
    """
    if mean < 30:
        limit = math.exp(-mean)
        draws, product = 0, rng.random()
        while product > limit:
            draws += 1
            product *= rng.random()
        return draws
    return max(0, int(rng.gauss(mean, math.sqrt(mean)) + 0.5))


def _weight(generator: Generator, subject_type: int, sector: str) -> float:
    """Records a year one subject of this type and sector gets from ``generator``."""
    return generator.per_year[subject_type] * generator.sectors.get(sector, 1.0)


@dataclass(slots=True)
class _Source:
    """A background generator bound to the population: who it picks, how often."""

    kind: str
    plan: Plan
    per_day: float
    groups: list[array[int]]
    cumulative: list[float]


class Run:
    """The state of one simulation; :meth:`stream` yields its events once.

    Parameters
    ----------
    config
        What to simulate. Every random choice derives from ``config.seed``, through
        separate generators for the population, the stories, the events and the
        bad messages, so the valid events do not depend on the error rate.
    """

    def __init__(self, config: CityConfig) -> None:
        self.config = config
        self.population = Population.build(config)
        self.clock = Clock(config.start, config.days)
        self._rng = random.Random(f"{config.seed}:events")  # noqa: S311 (simulation)
        self._heap: list[_Item] = []
        self._sequence = count()
        self._horizon = config.days * DAY
        self.records = Records(self.population, self.clock, self._rng, self.schedule)
        # The varied story mix also has more background trouble to tell the declines from.
        self._noise = VARIED_NOISE if config.story_mix == "varied" else 1.0
        self._sources = [s for s in map(self._bind, GENERATORS) if s.per_day > 0]
        plot_rng = random.Random(f"{config.seed}:stories")  # noqa: S311 (simulation)
        self.episodes = choose_episodes(
            plot_rng, self.population, config.systemic_episodes, config.days, self._baseline
        )
        self._episode_plans = [Plan(episode=i) for i in range(len(self.episodes))]
        self.stories: dict[int, Story] = {}
        self._cast_stories(plot_rng)
        self.errors = ErrorInjector(
            self.population,
            self.clock,
            random.Random(f"{config.seed}:errors"),  # noqa: S311 (simulation)
            self.records.repairable,
            config.error_rate,
        )

    def schedule(self, second: int, subject: int, kind: str, plan: Plan) -> None:
        """Add a future record; records past the end of the span are never needed."""
        if second < self._horizon:
            heappush(self._heap, (second, next(self._sequence), subject, kind, plan))

    def _bind(self, generator: Generator) -> _Source:
        groups: list[array[int]] = []
        cumulative: list[float] = []
        total = 0.0
        for (subject_type, sector, _), members in self.population.groups.items():
            weight = _weight(generator, subject_type, SECTOR_KEYS[sector]) * len(members)
            if weight > 0:
                total += weight
                groups.append(members)
                cumulative.append(total)
        plan = Plan(list_name=generator.variant) if generator.variant else RANDOM
        per_day = total / _WORKING_DAYS * self.config.activity * self._noise
        return _Source(generator.kind, plan, per_day, groups, cumulative)

    def _baseline(self, kind: str, sector: str, district: str) -> float:
        """Ordinary working-day count of ``kind`` among the organisations of one cell."""
        cell = [
            (subject_type, len(members))
            for (
                subject_type,
                sector_index,
                district_index,
            ), members in self.population.groups.items()
            if subject_type <= GOVERNMENT
            and SECTOR_KEYS[sector_index] == sector
            and DISTRICT_KEYS[district_index] == district
        ]
        total = sum(
            _weight(generator, subject_type, sector) * size
            for generator in GENERATORS
            if generator.kind == kind
            for subject_type, size in cell
        )
        return total / _WORKING_DAYS * self.config.activity

    def _cast_stories(self, rng: random.Random) -> None:
        """Pick the deteriorating and recovering organisations and schedule their start."""
        config = self.config
        if config.story_mix == "varied":
            first, _ = self.population.ranges[0]
            _, last = self.population.ranges[2]
            for subject, story in cast_varied(rng, self.population, range(first, last), config):
                self.stories[subject] = story
                self.schedule(story.start, subject, story.label, RANDOM)
            return
        first, _ = self.population.ranges[0]
        _, last = self.population.ranges[2]  # enterprises .. individual businesses
        candidates = range(first, last)
        deteriorating = round(config.deteriorating_share * len(candidates))
        recovering = round(config.recovering_share * len(candidates))
        chosen = rng.sample(candidates, deteriorating + recovering)
        pace = min(1.0, config.days / 365)
        earliest = int(0.03 * config.days)
        latest = max(earliest, int(config.days - 0.9 * DETERIORATION_DAYS * pace))
        for index, subject in enumerate(chosen):
            if index < deteriorating:
                label, day = "deteriorating", earliest + int((latest - earliest) * rng.random())
            else:
                label, day = "recovering", int((0.02 + 0.33 * rng.random()) * config.days)
            start = day * DAY + time_of_day(rng, True)
            self.stories[subject] = Story(label, start)
            self.schedule(start, subject, label, RANDOM)

    def _start_story(self, second: int, subject: int, label: str) -> None:
        pace = min(1.0, self.config.days / 365)
        self.records.reserve_arrears(subject)
        kind = self.stories[subject].kind
        if kind is not None and kind != "recovering":
            steps = story_steps(kind, self._rng, second, pace)
        elif label == "deteriorating":
            steps = deterioration(self._rng, second, pace)
        else:
            steps, turn = recovery(self._rng, second, pace)
            self.stories[subject].turning_point = turn
        for when, kind, plan in steps:
            self.schedule(when, subject, kind, plan)

    def _background(self, day: int) -> list[_Item]:
        """One day's background and episode records, in (second, sequence) order.

        They stay off the heap (a sorted list merged with it is cheaper than a push and
        a pop each); only the records they set off go on it.
        """
        rng = self._rng
        date = self.clock.dates[day]
        busy = activity(date)
        working = busy == 1.0
        factors = {
            "wage_arrears": wage_arrears_factor(date),
            "tax_arrears": tax_arrears_factor(date),
        }
        midnight = day * DAY
        items: list[_Item] = []
        add, sequence, random_ = items.append, self._sequence, rng.random
        # The innermost loop of the generator: picking and scheduling are inlined.
        for source in self._sources:
            kind, plan, groups, cumulative = (
                source.kind,
                source.plan,
                source.groups,
                source.cumulative,
            )
            total = cumulative[-1]
            for _ in range(poisson(rng, source.per_day * busy * factors.get(kind, 1.0))):
                group = groups[bisect(cumulative, random_() * total)]
                subject = group[int(random_() * len(group))]
                add((midnight + time_of_day(rng, working), next(sequence), subject, kind, plan))
        for index, episode in enumerate(self.episodes):
            if episode.first_day <= day <= episode.last_day:
                plan = self._episode_plans[index]
                members = episode.subjects
                for _ in range(poisson(rng, episode.per_day * busy)):
                    subject = members[int(random_() * len(members))]
                    second = midnight + time_of_day(rng, working)
                    add((second, next(sequence), subject, episode.kind, plan))
        items.sort()  # (second, sequence) is unique: plans are never compared
        return items

    def stream(self) -> Iterator[SimEvent]:
        """Every message of the run in event-time order, bad ones included."""
        heap = self._heap
        handlers = self.records.handlers
        errors = self.errors
        chance, draw = errors.chance, errors.draw
        episodes: list[Episode] = self.episodes
        for day in range(self.config.days):
            background = self._background(day)
            midnight = (day + 1) * DAY
            position, count_ = 0, len(background)
            while True:
                # Merge the day's sorted background with the heap of follow-ups and stories.
                if (
                    heap
                    and heap[0][0] < midnight
                    and (position == count_ or heap[0] < background[position])
                ):
                    second, _, subject, kind, plan = heappop(heap)
                elif position < count_:
                    second, _, subject, kind, plan = background[position]
                    position += 1
                else:
                    break
                if kind in _STORY_KINDS:
                    self._start_story(second, subject, kind)
                    continue
                event = handlers[kind](second, subject, plan)
                if event is None:
                    continue
                if plan.episode is not None:
                    episodes[plan.episode].emitted += 1
                yield event
                if chance and draw() < chance:
                    yield errors.make(second)
