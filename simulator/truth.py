"""The ground truth of a run: what a perfect early-warning system would know.

It goes to a side file, never on the wire. Subjects appear under their identifier
as the system stores it: the credit code for organisations, the pseudonym
(``p:`` + HMAC) for persons, so the file holds no clear resident id.

Listed are the subjects with a story (``deteriorating`` or ``recovering``) and
every subject with a red-warning record; every other subject is ``normal`` with
none. The red records are those of DOMAIN.md's red rules that a single record
fires: ``dishonest_debtor``, ``list_entry`` of ``serious_dishonesty``, and
``wage_arrears`` with ``workers_affected`` ≥ 10. A story's ``first_red_at`` may be
``null``: its slide had not reached a red record when the span ended. With the
``varied`` story mix, each subject with a story also names its ``story`` (the kind
of decline, ``recovering`` or ``lookalike``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from creditbrain.schemas.events import KINDS
from creditbrain.schemas.identifiers import pseudonymise_person_id
from creditbrain.simulator.calendar import DAY
from creditbrain.simulator.catalogue import PERSON, SUBJECT_TYPES
from creditbrain.simulator.corrupt import REASON_WEIGHTS
from creditbrain.simulator.engine import Run

FORMAT = "creditbrain.simulator.truth/1"
RED_RECORDS = (
    "dishonest_debtor",
    "list_entry serious_dishonesty",
    "wage_arrears workers_affected >= 10",
)


def subject_key(run: Run, subject: int, pseudonym_key: bytes) -> str:
    """The identifier of a subject as stored downstream (pseudonym for persons)."""
    identifier = run.population.ids[subject]
    if run.population.types[subject] == PERSON:
        return pseudonymise_person_id(identifier, pseudonym_key)
    return identifier


def _subjects(run: Run, pseudonym_key: bytes) -> list[dict[str, Any]]:
    stamp = run.clock.stamp
    first_red = run.records.first_red
    listed = []
    for subject in set(run.stories) | set(first_red):
        story = run.stories.get(subject)
        red = first_red.get(subject)
        turning_point = story.turning_point if story else None
        entry: dict[str, Any] = {
            "id": subject_key(run, subject, pseudonym_key),
            "type": run.population.type_of(subject),
            "sector": run.population.sector_of(subject),
            "district": run.population.district_of(subject),
            "label": story.label if story else "normal",
            "story_start": stamp(story.start) if story else None,
            "turning_point": stamp(turning_point) if turning_point is not None else None,
            "first_red_at": stamp(red[0]) if red else None,
            "first_red_kind": red[1] if red else None,
            "first_red_event_id": red[2] if red else None,
        }
        if story is not None and story.kind is not None:
            # Only the varied story mix names kinds: the classic truth stays as it was.
            entry["story"] = story.kind
        listed.append(entry)
    return sorted(listed, key=lambda entry: entry["id"])


def ground_truth(run: Run, pseudonym_key: bytes) -> dict[str, Any]:
    """The ground truth of a finished run, as a JSON-ready dict."""
    stamp = run.clock.stamp
    valid = sum(run.records.counts.values())
    errors = run.errors.counts
    erroneous = sum(errors.values())
    labels = Counter(story.label for story in run.stories.values())
    by_type = Counter(run.population.types)
    return {
        "format": FORMAT,
        "config": run.config.model_dump(mode="json"),
        "span": {"start": stamp(0), "end": stamp(run.config.days * DAY - 1)},
        "messages": {
            "total": valid + erroneous,
            "valid": valid,
            "erroneous": erroneous,
            "valid_by_kind": {kind: run.records.counts[kind] for kind in KINDS},
        },
        "erroneous_by_reason": {reason.value: errors[reason.value] for reason in REASON_WEIGHTS},
        "population": {
            "total": len(run.population),
            "by_type": {name: by_type[index] for index, name in enumerate(SUBJECT_TYPES)},
            "deteriorating": labels["deteriorating"],
            "recovering": labels["recovering"],
            "with_red_record": len(run.records.first_red),
        },
        "red_records": list(RED_RECORDS),
        "subjects": _subjects(run, pseudonym_key),
        "episodes": [
            {
                "sector": episode.sector,
                "district": episode.district,
                "kind": episode.kind,
                "description": episode.description,
                "start": stamp(episode.first_day * DAY),
                "end": stamp((episode.last_day + 1) * DAY - 1),
                "extra_per_working_day": round(episode.per_day, 2),
                "extra_events": episode.emitted,
            }
            for episode in run.episodes
        ],
    }
