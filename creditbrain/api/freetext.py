"""Resident ids in free text: replaced by their pseudonym before anything is stored.

A purpose, a note or a reason is typed by a person, who may paste a resident
identity number into it ("核查 371102199001011234 的信用"). Persons are never kept
in clear (DOMAIN.md), so every 18-character run that is a valid resident id (GB
11643, check digit included; full-width digits as well) becomes its pseudonym,
``p:`` and 32 hex digits, the same one the person has everywhere else. A run whose
check digit fails is left alone: it is not an id (a phone number, an amount).

Ids split by spaces or dashes are not recognised; the threat model in
RELIABILITY.md says so.

>>> key = b"k"
>>> scrubbed = pseudonymise_text("核查 11010519491231002X 的信用", key)
>>> scrubbed == "核查 " + pseudonymise_person_id("11010519491231002X", key) + " 的信用"
True
>>> pseudonymise_text("order 110105194912310021 (bad check digit)", key)
'order 110105194912310021 (bad check digit)'
>>> contains_resident_id("id:１１０１０５１９４９１２３１００２ｘ")
True
"""

from __future__ import annotations

import re
import unicodedata

from creditbrain.schemas.identifiers import is_valid_resident_id, pseudonymise_person_id

# Not inside a longer run of digits: a 19-digit number is not an id.
_CANDIDATE = re.compile(r"(?<![0-9０-９])[0-9０-９]{17}[0-9０-９XxＸｘ](?![0-9０-９])")
#: Runs of digits (and check characters) that may hold ids end to end.
_DIGITS = re.compile(r"[0-9０-９XxＸｘ]{18,}")


def _resident_id(candidate: str) -> str | None:
    """``candidate`` as a resident id (half-width, upper case) if it is a valid one."""
    number = unicodedata.normalize("NFKC", candidate).upper()
    return number if is_valid_resident_id(number) else None


def pseudonymise_text(text: str, key: bytes, *, embedded: bool = False) -> str:
    """``text`` with every valid resident id replaced by its pseudonym under ``key``.

    With ``embedded``, ids inside longer runs of digits are found as well (any 18
    characters in a row whose check digit holds, left to right): for what must
    never show an id, such as an error body, where replacing a number that only
    looks like one costs nothing.

    >>> twice = "11010519491231002X" * 2
    >>> pseudonymise_text(twice, b"k").count("p:")  # the first runs on into digits
    1
    >>> pseudonymise_text(twice, b"k", embedded=True).count("p:")
    2
    """
    if embedded:
        return _pseudonymise_runs(text, key)

    def replace(match: re.Match[str]) -> str:
        number = _resident_id(match.group())
        return pseudonymise_person_id(number, key) if number else match.group()

    return _CANDIDATE.sub(replace, text)


def _pseudonymise_runs(text: str, key: bytes) -> str:
    out: list[str] = []
    done = 0
    for run in _DIGITS.finditer(text):
        start, end = run.span()
        position = start
        while position + 18 <= end:
            number = _resident_id(text[position : position + 18])
            if number is None:
                position += 1
                continue
            out += [text[done:position], pseudonymise_person_id(number, key)]
            position += 18
            done = position
    out.append(text[done:])
    return "".join(out)


def contains_resident_id(text: str) -> bool:
    """Whether ``text`` holds a valid resident id in clear."""
    return any(_resident_id(match.group()) for match in _CANDIDATE.finditer(text))
