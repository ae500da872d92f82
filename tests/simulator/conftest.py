"""A small simulated city, generated once per session and shared by the simulator tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig, SimEvent, Simulator

KEY = b"simulator-test-key"
#: About 2,000 subjects over a year: every kind, story and bad-message reason occurs.
SMALL = CityConfig.scaled(0.04, seed=11, error_rate=0.02)


@dataclass(frozen=True)
class Generated:
    """One finished run: its messages, in emission order, and its ground truth."""

    config: CityConfig
    events: list[SimEvent]
    truth: dict[str, Any]

    @property
    def lines(self) -> list[bytes]:
        return [event.value for event in self.events]

    def truth_bytes(self) -> bytes:
        return json.dumps(self.truth, ensure_ascii=False, indent=2).encode()


def generate(config: CityConfig) -> Generated:
    simulator = Simulator(config, pseudonym_key=KEY)
    events = list(simulator.events())
    return Generated(config, events, simulator.ground_truth())


@pytest.fixture(scope="session")
def small_run() -> Generated:
    return generate(SMALL)


@pytest.fixture(scope="session")
def parse_context() -> ParseContext:
    return ParseContext(pseudonym_key=KEY)
