"""Identifiers of credit subjects and their check digits.

* Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from
  ``0-9A-Z`` without ``I O S V Z``; the 18th is a MOD 31 check digit and positions
  9..17 are an organisation code (GB 11714) with its own MOD 11 check digit.
* Resident identity number (居民身份证号码, GB 11643): 17 digits and an
  ISO 7064 MOD 11-2 check digit (``0-9`` or ``X``).

Persons are never kept in clear: :func:`pseudonymise_person_id` turns a
resident id into ``p:`` plus 32 hex digits of HMAC-SHA256 with the deployment's key.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import re

CREDIT_CODE_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUE = {c: i for i, c in enumerate(CREDIT_CODE_CHARSET)}
_CREDIT_WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
_ORG_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_PERSON_WEIGHTS = tuple(pow(2, 17 - i, 11) for i in range(17))
_PERSON_CHECK = "10X98765432"
_CREDIT_RE = re.compile(r"[0-9A-HJ-NP-RTUWXY]{18}")
_PERSON_RE = re.compile(r"[0-9]{17}[0-9X]")

#: Registration authority + entity category pairs used by the generator (1: organs, 5: social
#: organisations, 9: market regulation; second char: category).
_ISSUER_PREFIXES = ("11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93")


def credit_code_check_digit(first17: str) -> str:
    """The 18th character of a unified social credit code.

    Parameters
    ----------
    first17
        The first 17 characters, upper case.

    Examples
    --------
    >>> credit_code_check_digit("91350100M000100Y4")
    '3'
    """
    total = sum(_CREDIT_VALUE[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_CHARSET[(31 - total % 31) % 31]


def organisation_code_check_digit(first8: str) -> str:
    """The 9th character of an organisation code (GB 11714), embedded at positions 9..17.

    Examples
    --------
    >>> organisation_code_check_digit("M000100Y")
    '4'
    """
    total = sum(_ORG_CHARSET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def normalise_credit_code(code: str) -> str:
    """Strip and upper-case a credit code as typed by a person.

    >>> normalise_credit_code(" 91350100m000100y43 ")
    '91350100M000100Y43'
    """
    return code.strip().upper()


def is_valid_credit_code(code: str) -> bool:
    """Whether ``code`` (normalised) is a unified social credit code whose check digits hold.

    Examples
    --------
    >>> is_valid_credit_code("91350100M000100Y43")
    True
    >>> is_valid_credit_code("91350100M000100Y44")
    False
    >>> is_valid_credit_code(normalise_credit_code("91350100m000100y43"))
    True
    """
    if not _CREDIT_RE.fullmatch(code):
        return False
    if credit_code_check_digit(code[:17]) != code[17]:
        return False
    return organisation_code_check_digit(code[8:16]) == code[16]


def resident_id_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a resident identity number.

    Examples
    --------
    >>> resident_id_check_digit("11010519491231002")
    'X'
    """
    total = sum(int(c) * w for c, w in zip(first17, _PERSON_WEIGHTS, strict=True))
    return _PERSON_CHECK[total % 11]


def is_valid_resident_id(number: str) -> bool:
    """Whether an 18-character resident identity number's check digit holds.

    >>> is_valid_resident_id("11010519491231002X")
    True
    >>> is_valid_resident_id("110105194912310021")
    False
    """
    if not _PERSON_RE.fullmatch(number):
        return False
    return resident_id_check_digit(number[:17]) == number[17]


def pseudonymise_person_id(number: str, key: bytes) -> str:
    """The pseudonym of a resident id: ``p:`` + 32 hex digits of HMAC-SHA256(key, id).

    A lower-case ``x`` is upper-cased first, so both spellings map to one pseudonym.

    >>> pseudonymise_person_id("11010519491231002x", b"k") == pseudonymise_person_id(
    ...     "11010519491231002X", b"k")
    True
    >>> pseudonymise_person_id("11010519491231002X", b"k")[:2]
    'p:'
    """
    digest = hmac.new(key, number.strip().upper().encode("ascii"), hashlib.sha256).hexdigest()
    return "p:" + digest[:32]


def is_pseudonym(value: str) -> bool:
    """Whether ``value`` has the form of a person pseudonym.

    >>> is_pseudonym("p:" + "0" * 32)
    True
    """
    return (
        len(value) == 34
        and value.startswith("p:")
        and all(c in "0123456789abcdef" for c in value[2:])
    )


def generate_credit_code(rng: random.Random, division: str = "371102") -> str:
    """A random, valid unified social credit code registered in ``division``.

    >>> is_valid_credit_code(generate_credit_code(random.Random(1)))
    True
    """
    org_body = "".join(rng.choice(_ORG_CHARSET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    org = org_body + organisation_code_check_digit(org_body)
    first17 = rng.choice(_ISSUER_PREFIXES) + division + org
    return first17 + credit_code_check_digit(first17)


def generate_resident_id(rng: random.Random, division: str = "371102") -> str:
    """A random, valid resident identity number born in ``division`` between 1950 and 2005.

    >>> is_valid_resident_id(generate_resident_id(random.Random(1)))
    True
    """
    year = rng.randint(1950, 2005)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    serial = rng.randint(0, 999)
    first17 = f"{division}{year:04d}{month:02d}{day:02d}{serial:03d}"
    return first17 + resident_id_check_digit(first17)
