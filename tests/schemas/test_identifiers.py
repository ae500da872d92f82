"""Check digits: our generators always verify, any single-character change is caught."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from creditbrain.schemas.identifiers import (
    CREDIT_CODE_CHARSET,
    generate_credit_code,
    generate_resident_id,
    is_valid_credit_code,
    is_valid_resident_id,
    pseudonymise_person_id,
)

seeds = st.integers(min_value=0, max_value=2**32)


@given(seeds)
def test_generated_credit_codes_verify(seed: int) -> None:
    assert is_valid_credit_code(generate_credit_code(random.Random(seed)))


@given(seeds)
def test_generated_resident_ids_verify(seed: int) -> None:
    assert is_valid_resident_id(generate_resident_id(random.Random(seed)))


@given(seeds, st.integers(0, 17), st.sampled_from(CREDIT_CODE_CHARSET))
def test_any_single_change_of_a_credit_code_is_caught(seed: int, at: int, char: str) -> None:
    code = generate_credit_code(random.Random(seed))
    changed = code[:at] + char + code[at + 1 :]
    if changed != code:
        assert not is_valid_credit_code(changed)


@given(seeds, st.integers(0, 17), st.sampled_from("0123456789X"))
def test_any_single_change_of_a_resident_id_is_caught(seed: int, at: int, char: str) -> None:
    number = generate_resident_id(random.Random(seed))
    changed = number[:at] + char + number[at + 1 :]
    if changed != number:
        assert not is_valid_resident_id(changed)


def test_pseudonym_is_keyed_and_never_contains_the_number() -> None:
    number = generate_resident_id(random.Random(5))
    first, other = pseudonymise_person_id(number, b"a"), pseudonymise_person_id(number, b"b")
    assert first != other and number not in first
    assert len(first) == 34 and first.startswith("p:")
