"""The stream against the real embedded broker and chDB: scores equal the offline reference.

Each test runs ``creditbrain serve`` as a child process on fresh topics, feeds it a
simulated city as department systems would (raw messages on the input topics,
keyed by subject id), waits until the worker and the sink have caught up, stops
it and compares ClickHouse with ``score_lines`` on the same messages.
"""

from __future__ import annotations

import random
import time

import pytest
from kafka import KafkaProducer

from creditbrain.engine.replay import score_lines
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.events import ParseContext
from creditbrain.simulator import CityConfig
from creditbrain.simulator.simulation import Simulator
from tests.fixtures.serve import ServeProcess

pytestmark = pytest.mark.integration

KEY = b"test-pseudonym-key"


def city(scale: float, seed: int) -> list[tuple[str, bytes, bytes]]:
    """(topic suffix, key, value) of a simulated city, slightly out of order."""
    sim = Simulator(CityConfig.scaled(scale, seed=seed, shuffle_window=200), pseudonym_key=KEY)
    return [(e.topic_suffix, e.key, e.value) for e in sim.events()]


def produce(serve: ServeProcess, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=serve.bootstrap, linger_ms=5, batch_size=256 * 1024)
    for suffix, key, value in messages:
        producer.send(serve.topic(suffix), key=key, value=value)
    producer.flush()
    producer.close()


def expected_scores(messages: list[tuple[str, bytes, bytes]]) -> dict[str, tuple[int, str, list]]:
    ctx = ParseContext(pseudonym_key=KEY)
    offline = score_lines((value for _, _, value in messages), ctx, DEFAULT_SCORECARD)
    return {
        subject_id: (
            result.score,
            result.grade,
            [[r.event_id, r.kind, r.effect] for r in result.reasons],
        )
        for subject_id, result in offline.results.items()
    }


QUERIES = (
    "SELECT subject_id, score, grade, reasons FROM entity_state FINAL",
    "SELECT reason, count() AS n FROM dlq FINAL WHERE resolution = '' GROUP BY reason",
    "SELECT count() AS n FROM events FINAL",
)


def read_store(serve: ServeProcess) -> tuple[dict[str, tuple[int, str, list]], dict[str, int], int]:
    """Scores by subject, unresolved dead letters by reason, and events stored, in one read."""
    import json

    states, dead, events = serve.query_many(list(QUERIES))
    scores = {
        str(row["subject_id"]): (
            int(row["score"]),  # type: ignore[call-overload]
            str(row["grade"]),
            [[r["event_id"], r["kind"], r["effect"]] for r in json.loads(str(row["reasons"]))],
        )
        for row in states
    }
    dead_letters = {str(row["reason"]): int(row["n"]) for row in dead}  # type: ignore[call-overload]
    return scores, dead_letters, int(events[0]["n"])  # type: ignore[call-overload]


def stored_scores(serve: ServeProcess) -> dict[str, tuple[int, str, list]]:
    return read_store(serve)[0]


def expected_dead_letters(offline) -> dict[str, int]:
    return {reason.value: n for reason, n in offline.rejected.items() if n}


def test_stream_scores_equal_offline_reference(serve_factory) -> None:
    messages = city(0.1, seed=7)
    assert len(messages) >= 20_000
    duplicates = random.Random(1).sample(messages, 500)
    serve = serve_factory()
    serve.start()
    produce(serve, messages + duplicates)
    serve.wait_until_sunk()
    assert serve.stop() == 0

    expected = expected_scores(messages)
    stored, dead_letters, accepted = read_store(serve)
    assert stored.keys() == expected.keys()
    mismatched = [s for s in expected if stored[s] != expected[s]]
    assert not mismatched, (mismatched[:3], [(stored[s], expected[s]) for s in mismatched[:3]])

    # Every message is accounted for exactly once, as in the offline reference.
    offline = score_lines(
        (value for _, _, value in messages + duplicates),
        ParseContext(pseudonym_key=KEY),
        DEFAULT_SCORECARD,
    )
    dead = sum(dead_letters.values())
    assert accepted == offline.applied
    assert dead_letters == expected_dead_letters(offline)
    assert accepted + dead + offline.duplicates == len(messages) + len(duplicates)


def test_killed_worker_restarts_with_the_same_scores_and_replay_changes_nothing(
    serve_factory,
) -> None:
    messages = city(0.1, seed=11)
    half = len(messages) // 2
    serve = serve_factory()
    serve.start()
    produce(serve, messages[:half])
    serve.wait_until_sunk()
    produce(serve, messages[half:])
    time.sleep(1.0)  # mid-stream: the second half is being processed
    serve.kill()

    serve.start()  # recovers the table from its changelog, resumes from committed offsets
    produce(serve, messages)  # and the whole file once more: every event a duplicate
    serve.wait_until_sunk()
    assert serve.stop() == 0

    expected = expected_scores(messages)
    stored, dead_letters, accepted = read_store(serve)
    missing, extra = expected.keys() - stored.keys(), stored.keys() - expected.keys()
    assert not missing and not extra, (len(missing), len(extra), len(expected))
    mismatched = [s for s in expected if stored[s] != expected[s]]
    assert not mismatched, (mismatched[:3], [(stored[s], expected[s]) for s in mismatched[:3]])
    # The worker saw the file twice: the offline reference of both passes in a row
    # says what must be applied and what dead-lettered.
    offline = score_lines(
        (value for _, _, value in messages + messages),
        ParseContext(pseudonym_key=KEY),
        DEFAULT_SCORECARD,
    )
    assert accepted == offline.applied
    assert dead_letters == expected_dead_letters(offline)
