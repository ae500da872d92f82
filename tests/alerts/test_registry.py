"""The rule registry is the folder: every rule file registered, every rule with its defaults."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import get_args

import pytest

import creditbrain.alerts.rules as rules_package
from creditbrain.alerts.policy import DEFAULT_POLICIES, THRESHOLD_MODELS, default_policy
from creditbrain.alerts.rules import RULE_NAMES, RULES, Rule, RuleName, collect, rule_modules
from creditbrain.alerts.rules.base import NoThresholds, Thresholds
from creditbrain.schemas.events import KINDS
from creditbrain.schemas.warnings import LEVEL_RANK

FOLDER = Path(rules_package.__file__).parent
#: A CJK ideograph: each rule's docstring gives its Chinese term.
CHINESE = re.compile("[\u4e00-\u9fff]")


def rule_files() -> set[str]:
    return {path.stem for path in FOLDER.glob("*.py")} - {"__init__", "base"}


def test_every_rule_file_is_registered_and_nothing_else() -> None:
    assert rule_files() == set(rule_modules())
    assert {name.lower() for name in RULES} == rule_files()
    assert len(RULES) == len(rule_files()) == 14


@pytest.mark.parametrize("module", sorted(rule_files()))
def test_each_file_declares_the_rule_the_registry_holds(module: str) -> None:
    declared = sys.modules[f"creditbrain.alerts.rules.{module}"].RULE
    assert isinstance(declared, Rule)
    assert RULES[declared.name] is declared
    doc = sys.modules[f"creditbrain.alerts.rules.{module}"].__doc__ or ""
    assert f"``{declared.name}``" in doc.splitlines()[0], "the docstring opens with the name"
    assert CHINESE.search(doc), "the docstring gives the rule's Chinese term"


@pytest.mark.parametrize("name", RULE_NAMES)
def test_every_registered_rule_has_defaults(name: str) -> None:
    rule = RULES[name]
    assert rule.level in LEVEL_RANK
    assert rule.cooldown_days >= 0
    assert issubclass(rule.thresholds, Thresholds)
    thresholds = rule.thresholds().model_dump()  # every threshold has a default
    assert all(isinstance(value, int | float) for value in thresholds.values())
    policy = default_policy(name)
    assert (policy.level, policy.grid, policy.cooldown_days) == (
        rule.level,
        rule.grid,
        rule.cooldown_days,
    )
    assert dict(policy.thresholds) == thresholds
    assert DEFAULT_POLICIES.defaults[name] == policy
    assert THRESHOLD_MODELS[name] is rule.thresholds
    assert rule.requires is None or rule.requires in KINDS


def test_the_registry_is_in_domain_md_order_and_builds_the_rule_names() -> None:
    orders = [rule.order for rule in RULES.values()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)
    assert RULE_NAMES == tuple(RULES) == get_args(RuleName)
    assert RULE_NAMES[0] == "dishonest_debtor_listed" and RULE_NAMES[-1] == "case_overdue"


def test_only_the_city_level_rule_and_the_case_notice_have_no_subject_check() -> None:
    no_check = [name for name, rule in RULES.items() if rule.check is None]
    assert no_check == ["metric_anomaly", "case_overdue"]


def test_rules_without_numbers_accept_no_thresholds() -> None:
    plain = [name for name, rule in RULES.items() if rule.thresholds is NoThresholds]
    assert "grade_downgrade" in plain and "wage_arrears" not in plain
    assert all(default_policy(name).thresholds == {} for name in plain)


@pytest.fixture
def fake_module(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    module = ModuleType("creditbrain.alerts.rules.extra_rule")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def test_a_new_file_joins_the_registry_in_its_order(fake_module: ModuleType) -> None:
    fake_module.RULE = Rule(name="extra_rule", order=15, level="blue", check=None)
    collected = collect(["extra_rule", *rule_modules()])
    assert list(collected) == [*RULE_NAMES, "extra_rule"]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (None, "defines no RULE"),
        (Rule(name="other", order=99, level="blue", check=None), "defines the rule 'other'"),
        (Rule(name="extra_rule", order=1, level="blue", check=None), "share an order"),
        (
            Rule(name="extra_rule", order=99, level="red", check=None, red_event=lambda *_: True),
            "names the kind it requires",
        ),
    ],
)
def test_a_malformed_rule_file_is_refused(
    fake_module: ModuleType, rule: Rule | None, message: str
) -> None:
    if rule is not None:
        fake_module.RULE = rule
    with pytest.raises((TypeError, ValueError), match=message):
        collect([*rule_modules(), "extra_rule"])
