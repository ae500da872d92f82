"""The simulated city's subjects: who they are, where, in which sector.

Subjects are numbered ``0..n-1`` in type order (enterprises first, persons last), so
a type is a contiguous range. Per subject the population keeps compact codes
(type, sector, district) and two strings: the identifier sent on the wire and the
ready-made JSON fragment ``"subject":{...},"sector":...,"district":...`` that
every event of the subject repeats. Memory is linear in the population (about
300 bytes a subject), so millions of subjects fit.

Organisations get a unified social credit code whose registration prefix matches
their type (``91`` enterprise, ``92`` individual business, ``12``/``52``/``53``
institution or social organisation, ``11`` government organ); persons get a
resident identity number. Both come from :mod:`creditbrain.schemas.identifiers`
and are unique within the population.

Examples
--------
>>> from creditbrain.simulator.config import CityConfig
>>> population = Population.build(CityConfig.scaled(0.001))
>>> len(population), population.type_of(0), population.type_of(len(population) - 1)
(53, 'enterprise', 'person')
"""

from __future__ import annotations

import random
from array import array
from bisect import bisect
from collections.abc import Callable, Mapping
from itertools import accumulate

from creditbrain.schemas.identifiers import (
    credit_code_check_digit,
    generate_credit_code,
    generate_resident_id,
)
from creditbrain.schemas.reference import DISTRICTS, SECTORS
from creditbrain.simulator import names
from creditbrain.simulator.catalogue import (
    DISTRICT_WEIGHTS,
    ISSUER_PREFIXES,
    PERSON,
    SECTOR_WEIGHTS,
    SUBJECT_TYPES,
)
from creditbrain.simulator.config import POPULATION_FIELDS, CityConfig

SECTOR_KEYS: tuple[str, ...] = tuple(SECTORS)
DISTRICT_KEYS: tuple[str, ...] = tuple(DISTRICTS)
_SECTOR_INDEX = {s: i for i, s in enumerate(SECTOR_KEYS)}
_DISTRICT_INDEX = {d: i for i, d in enumerate(DISTRICT_KEYS)}

#: A (type, sector, district) cell of the population: indices of its subjects.
Group = tuple[int, int, int]


class _Picker:
    """Weighted choice among a few keys with one uniform draw."""

    def __init__(self, weights: Mapping[str, float]) -> None:
        self.keys = tuple(weights)
        self.cumulative = list(accumulate(weights.values()))

    def __call__(self, rng: random.Random) -> str:
        return self.keys[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def _name_maker(kind: int) -> Callable[[random.Random, str, str], str]:
    makers: tuple[Callable[[random.Random, str, str], str], ...] = (
        names.company_name,
        names.institution_name,
        names.shop_name,
        lambda rng, _sector, district: names.government_name(rng, district),
        lambda rng, _sector, _district: names.person_name(rng),
    )
    return makers[kind]


class Population:
    """Every subject of the simulated city; build it with :meth:`build`."""

    def __init__(self) -> None:
        self.types = bytearray()
        self.sectors = bytearray()
        self.districts = bytearray()
        self.ids: list[str] = []
        #: UTF-8 JSON text ``"subject":{...},"sector":"...","district":"..."`` per subject.
        self.fragments: list[bytes] = []
        #: First and one-past-last subject number of each type.
        self.ranges: list[tuple[int, int]] = []
        self.groups: dict[Group, array[int]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, config: CityConfig) -> Population:
        """The population of ``config``, drawn from its seed alone."""
        population = cls()
        rng = random.Random(f"{config.seed}:population")  # noqa: S311 (simulation, not secrecy)
        seen: set[str] = set()
        for kind, field in enumerate(POPULATION_FIELDS):
            first = len(population)
            population._add_type(rng, kind, getattr(config, field), seen)
            population.ranges.append((first, len(population)))
        population._index_groups()
        return population

    def _add_type(self, rng: random.Random, kind: int, count: int, seen: set[str]) -> None:
        district_of = _Picker(DISTRICT_WEIGHTS[1 if kind == PERSON else 0])
        sector_of = _Picker(SECTOR_WEIGHTS[kind])
        make_name = _name_maker(kind)
        type_name = SUBJECT_TYPES[kind]
        for _ in range(count):
            district = district_of(rng)
            sector = sector_of(rng)
            identifier = self._new_identifier(rng, kind, district, seen)
            name = make_name(rng, sector, district)
            self.types.append(kind)
            self.sectors.append(_SECTOR_INDEX[sector])
            self.districts.append(_DISTRICT_INDEX[district])
            self.ids.append(identifier)
            self.fragments.append(
                f'"subject":{{"type":"{type_name}","id":"{identifier}","name":"{name}"}},'
                f'"sector":"{sector}","district":"{district}"'.encode()
            )

    @staticmethod
    def _new_identifier(rng: random.Random, kind: int, district: str, seen: set[str]) -> str:
        while True:
            if kind == PERSON:
                identifier = generate_resident_id(rng, district)
            else:
                # The generator picks any registration prefix; the type decides it here.
                first17 = (
                    rng.choice(ISSUER_PREFIXES[kind]) + generate_credit_code(rng, district)[2:17]
                )
                identifier = first17 + credit_code_check_digit(first17)
            if identifier not in seen:
                seen.add(identifier)
                return identifier

    def _index_groups(self) -> None:
        groups: dict[Group, array[int]] = {}
        for subject, key in enumerate(zip(self.types, self.sectors, self.districts, strict=True)):
            groups.setdefault(key, array("I")).append(subject)
        self.groups = dict(sorted(groups.items()))

    def type_of(self, subject: int) -> str:
        """The subject's type as on the wire (``enterprise`` ... ``person``)."""
        return SUBJECT_TYPES[self.types[subject]]

    def sector_of(self, subject: int) -> str:
        """The subject's sector key."""
        return SECTOR_KEYS[self.sectors[subject]]

    def district_of(self, subject: int) -> str:
        """The subject's district code."""
        return DISTRICT_KEYS[self.districts[subject]]

    def of_type(self, kind: int) -> range:
        """The subject numbers of one type."""
        return range(*self.ranges[kind])
