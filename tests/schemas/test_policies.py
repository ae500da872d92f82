"""Warning policies: DOMAIN.md's defaults, validation, precedence, messages, audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from creditbrain.alerts.policy import DEFAULT_POLICIES, PolicyOverride, PolicySet, RulePolicy
from creditbrain.alerts.policy_changes import PolicyChange, apply_policy_message, policy_message
from creditbrain.alerts.rules import RULE_NAMES, RuleName
from creditbrain.core.errors import ConfigurationError
from creditbrain.schemas.policies import PolicyError, Scope
from creditbrain.schemas.reference import DISTRICTS, SECTORS, Reference

DOMAIN_TABLE = {
    "dishonest_debtor_listed": ("red", {}),
    "serious_dishonesty_listed": ("red", {}),
    "government_dishonest": ("red", {}),
    "grade_fell_to_D": ("red", {}),
    "grade_downgrade": ("orange", {}),
    "score_drop": ("orange", {"points": 100, "window_days": 30}),
    "social_insurance_arrears_3m": ("orange", {"months": 3}),
    "wage_arrears": ("orange", {"red_workers": 10}),
    "penalty_burst": ("yellow", {"count": 3, "window_days": 90}),
    # Model warnings also resolve only below the threshold less the hysteresis, and
    # no sooner than hold_days after opening.
    "anomalous_deterioration": ("yellow", {"threshold": 0.88, "hysteresis": 0.15, "hold_days": 30}),
    "predicted_serious_default": (
        "yellow",
        {"probability": 0.5, "hysteresis": 0.15, "hold_days": 30},
    ),
    "first_negative_record": ("blue", {}),
    "metric_anomaly": ("orange", {"threshold": 0.95}),
    # Not in DOMAIN.md's table: raised by the case desk when a case misses its deadline.
    "case_overdue": ("orange", {}),
}


def policies(scopes: dict[str, dict[str, Any]]) -> PolicySet:
    return PolicySet.model_validate(
        {"overrides": {scope: {"rules": rules} for scope, rules in scopes.items()}}
    )


@pytest.mark.parametrize("rule", RULE_NAMES)
def test_defaults_are_domain_md(rule: RuleName) -> None:
    policy = DEFAULT_POLICIES.resolve(rule, "finance", "371103")
    level, thresholds = DOMAIN_TABLE[rule]
    assert (policy.level, dict(policy.thresholds), policy.enabled) == (level, thresholds, True)
    assert (policy.cooldown_days, policy.reveal_person_names) == (7, False)


# --- validation ---------------------------------------------------------------------------------

BAD = [
    ({"rules": {"score_dorp": {"level": "red"}}}, "score_dorp"),
    ({"rules": {"score_drop": {"level": "purple"}}}, "'red', 'orange', 'yellow' or 'blue'"),
    ({"rules": {"score_drop": {"thresholds": {"points": -5}}}}, "score_drop.thresholds.points"),
    ({"rules": {"penalty_burst": {"thresholds": {"window_days": 0}}}}, "greater than 0"),
    ({"rules": {"score_drop": {"thresholds": {"pionts": 5}}}}, "score_drop.thresholds.pionts"),
    ({"rules": {"score_drop": {"thresholds": {"points": "5"}}}}, "valid integer"),
    ({"rules": {"grade_downgrade": {"thresholds": {"points": 5}}}}, "grade_downgrade.thresholds"),
    ({"rules": {"predicted_serious_default": {"thresholds": {"probability": 1.5}}}}, "less than"),
    ({"rules": {"wage_arrears": {"cooldown_days": -1}}}, "cooldown_days"),
    ({"rules": {"wage_arrears": {"enable": False}}}, "enable"),
]


@pytest.mark.parametrize(("override", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_overrides_say_what_is_wrong(override: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match="(?s)" + message.replace("(", r"\(")):
        PolicyOverride.model_validate(override)
    with pytest.raises(PolicyError, match="policy for sector=finance"):
        apply_policy_message(DEFAULT_POLICIES, b"sector=finance", orjson.dumps(override))


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("sector=bakery", "unknown sector 'bakery'"),
        ("district=110101", "unknown district '110101'"),
        ("district=371102|sector=finance", "write it as 'sector=finance|district=371102'"),
        ("sector=finance|sector=health", "expected"),
        ("city", "expected"),
        ("", "expected"),
    ],
)
def test_bad_scopes_say_what_is_wrong(key: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("|", r"\|")):
        apply_policy_message(DEFAULT_POLICIES, key, b'{"rules": {}}')
    with pytest.raises(ValidationError, match=message.replace("|", r"\|")):
        PolicySet.model_validate({"overrides": {key: {"rules": {}}}})


def test_policy_errors_are_configuration_errors() -> None:
    assert issubclass(PolicyError, ConfigurationError)
    assert issubclass(PolicyError, ValueError)


def test_bad_json_and_bad_keys_are_policy_errors() -> None:
    with pytest.raises(PolicyError, match="policy for \\*"):
        apply_policy_message(DEFAULT_POLICIES, b"*", b"{not json")
    with pytest.raises(PolicyError, match="UTF-8"):
        apply_policy_message(DEFAULT_POLICIES, b"\xff", b"{}")


def test_the_deployments_reference_tables_decide_what_is_known() -> None:
    reference = Reference(districts={"350102": "鼓楼区"}, sectors={"fisheries": "渔业"})
    value = b'{"rules": {"penalty_burst": {"level": "red"}}}'
    changed = apply_policy_message(
        DEFAULT_POLICIES, "sector=fisheries|district=350102", value, reference
    )
    assert changed.resolve("penalty_burst", "fisheries", "350102").level == "red"
    with pytest.raises(PolicyError, match="unknown sector"):
        apply_policy_message(DEFAULT_POLICIES, "sector=finance", value, reference)


def test_defaults_must_name_their_own_rule() -> None:
    with pytest.raises(ValidationError, match="is the policy of 'score_drop'"):
        PolicySet(defaults={"wage_arrears": RulePolicy(rule="score_drop", level="red")})


# --- precedence ----------------------------------------------------------------------------------

LAYERS = {
    "*": {"penalty_burst": {"level": "blue", "cooldown_days": 1, "thresholds": {"count": 4}}},
    "district=371102": {"penalty_burst": {"level": "orange", "grid": True}},
    "sector=food_drug": {"penalty_burst": {"level": "red", "thresholds": {"window_days": 30}}},
    "sector=food_drug|district=371102": {"penalty_burst": {"enabled": False}},
}


@pytest.mark.parametrize(
    ("sector", "district", "expected"),
    [
        # sector and district: its own switch, the sector's level and window, the district's grid
        ("food_drug", "371102", (False, "red", 1, True, {"count": 4, "window_days": 30})),
        ("food_drug", "371103", (True, "red", 1, False, {"count": 4, "window_days": 30})),
        ("finance", "371102", (True, "orange", 1, True, {"count": 4, "window_days": 90})),
        ("finance", "371103", (True, "blue", 1, False, {"count": 4, "window_days": 90})),
    ],
)
def test_precedence_field_by_field(sector: str, district: str, expected: tuple[Any, ...]) -> None:
    p = policies(LAYERS).resolve("penalty_burst", sector, district)
    assert (p.enabled, p.level, p.cooldown_days, p.grid, dict(p.thresholds)) == expected


def test_without_overrides_the_defaults_apply() -> None:
    assert policies({}).resolve("penalty_burst", "food_drug", "371102") == DEFAULT_POLICIES.resolve(
        "penalty_burst", "food_drug", "371102"
    )


@given(st.sampled_from(sorted(SECTORS)), st.sampled_from(sorted(DISTRICTS)))
def test_the_most_specific_scope_wins(sector: str, district: str) -> None:
    scopes = {
        "*": "blue",
        f"district={district}": "yellow",
        f"sector={sector}": "orange",
        f"sector={sector}|district={district}": "red",
    }
    keys = list(scopes)
    for n in range(len(keys)):
        present = {k: {"wage_arrears": {"level": scopes[k]}} for k in keys[: n + 1]}
        assert policies(present).resolve("wage_arrears", sector, district).level == scopes[keys[n]]


def test_resolution_is_cached_and_a_new_set_resolves_afresh() -> None:
    first = policies({"*": {"wage_arrears": {"level": "red"}}})
    assert first.resolve_all("finance", "371102") is first.resolve_all("finance", "371102")
    second = apply_policy_message(first, b"*", None)
    assert second.resolve("wage_arrears", "finance", "371102").level == "orange"
    assert first.resolve("wage_arrears", "finance", "371102").level == "red"  # still immutable


# --- messages, JSON, audit ----------------------------------------------------------------------


def test_messages_set_replace_and_delete_a_scope() -> None:
    key, value = policy_message(
        "sector=finance",
        PolicyOverride.model_validate({"rules": {"wage_arrears": {"level": "red"}}}),
    )
    assert key == b"sector=finance"
    assert orjson.loads(value or b"") == {"rules": {"wage_arrears": {"level": "red"}}}
    one = apply_policy_message(DEFAULT_POLICIES, key, value)
    two = apply_policy_message(one, key, b'{"rules": {"wage_arrears": {"grid": false}}}')
    assert (
        two.resolve("wage_arrears", "finance", "371102").level == "orange"
    )  # replaced, not merged
    assert apply_policy_message(two, key, None).overrides == {}
    assert apply_policy_message(two, key, b"").overrides == {}
    assert apply_policy_message(DEFAULT_POLICIES, key, None) == DEFAULT_POLICIES


def test_json_round_trips() -> None:
    original = policies(LAYERS)
    again = PolicySet.model_validate_json(original.to_bytes())
    assert again == original
    for sector, district in [("food_drug", "371102"), ("finance", "371103")]:
        assert again.resolve_all(sector, district) == original.resolve_all(sector, district)
    rule = original.resolve("penalty_burst", "food_drug", "371103")
    assert RulePolicy.model_validate_json(rule.model_dump_json()) == rule
    override = original.overrides["*"]
    assert PolicyOverride.model_validate_json(override.to_bytes()) == override


def test_a_policy_change_is_audited_with_before_and_after() -> None:
    before_set = policies({"sector=finance": {"wage_arrears": {"level": "red"}}})
    after = PolicyOverride.model_validate({"rules": {"wage_arrears": {"enabled": False}}})
    change = PolicyChange.of(
        before_set,
        "sector=finance",
        after,
        who="supervisor-3",
        when=datetime(2026, 3, 5, 2, tzinfo=UTC),
        reason="false alarms during the audit",
    )
    assert change.before == before_set.overrides["sector=finance"]
    assert change.after == after
    assert PolicyChange.model_validate_json(change.model_dump_json()) == change
    applied = apply_policy_message(before_set, *change.message())
    assert applied.resolve("wage_arrears", "finance", "371102").enabled is False
    deletion = PolicyChange.of(
        applied, "sector=finance", None, who="x", when=change.when, reason="r"
    )
    assert deletion.message() == (b"sector=finance", None)


@pytest.mark.parametrize(
    "bad",
    [{"who": ""}, {"reason": ""}, {"scope": "sector=bakery"}, {"when": "2026-03-05T10:00:00"}],
)
def test_a_policy_change_needs_who_when_and_why(bad: dict[str, Any]) -> None:
    fields = {
        "who": "s",
        "when": "2026-03-05T10:00:00+08:00",
        "scope": "*",
        "before": None,
        "after": None,
        "reason": "r",
    }
    with pytest.raises(ValidationError):
        PolicyChange.model_validate({**fields, **bad})


def test_scope_keys() -> None:
    assert [Scope.parse(k).precedence for k in ("*", "district=371102", "sector=health")] == [
        0,
        1,
        2,
    ]
    assert Scope.parse("sector=health|district=371102").precedence == 3
