"""``creditbrain score``: the offline scorer on a small hand-written file.

``tests/data/score_small.jsonl`` holds three subjects and the usual trouble:

* enterprise 91350100M000100Y43: a serious penalty of 250,000 CNY (-60 - 20) and a
  provincial commendation (+20); a repair of an unknown record (``unknown_reference``);
* enterprise 91371102AY4CL12T2Q: a dishonest-debtor listing (-200, delivered twice)
  and tax arrears of 7 months (-50), cleared on 2026-03-01 12:00 +08:00;
* a person (clear resident id in the file, a pseudonym in the output): wage arrears (-100);
* a line that is not JSON, a blank line (skipped), a licence with a bad credit code.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from creditbrain.cli.contract import parse_context, read_lines
from creditbrain.cli.score import score_command
from creditbrain.core.errors import ConfigurationError, InputFileError
from creditbrain.core.eventtime import to_epoch_ms
from creditbrain.engine.replay import score_lines
from creditbrain.models.scorecard import DEFAULT_SCORECARD
from creditbrain.schemas.identifiers import pseudonymise_person_id
from creditbrain.schemas.parse import Reason
from creditbrain.settings import get_settings

DATA = Path(__file__).parent.parent / "data" / "score_small.jsonl"
A, B = "91350100M000100Y43", "91371102AY4CL12T2Q"
A1, A2 = "a1000000-0000-4000-8000-000000000001", "a2000000-0000-4000-8000-000000000002"
B1 = "b1000000-0000-4000-8000-000000000001"
C1 = "c1000000-0000-4000-8000-000000000001"
CLEARED_AT = "2026-03-01T04:00:00+00:00"


def person() -> str:
    key = get_settings().pseudonym_key.get_secret_value().encode()
    return pseudonymise_person_id("11010519491231002X", key)


def cli() -> typer.Typer:
    app = typer.Typer(pretty_exceptions_enable=False)
    app.command("score")(score_command)

    @app.callback()
    def root() -> None:
        """The score command, mounted as the main CLI does."""

    return app


def run(*args: str) -> tuple[list[str], str, BaseException | None]:
    result = CliRunner().invoke(cli(), ["score", *args])
    return result.stdout.splitlines(), result.stderr, result.exception


def test_score_lines() -> None:
    ctx = parse_context(get_settings())
    scores = score_lines(read_lines(DATA), ctx, DEFAULT_SCORECARD)
    assert {sid: (r.score, r.grade) for sid, r in scores.results.items()} == {
        A: (940, "A"),
        B: (800, "B"),
        person(): (900, "A"),
    }
    assert (scores.applied, scores.duplicates) == (6, 1)
    assert scores.rejected == {
        Reason.BAD_JSON: 1,
        Reason.BAD_CREDIT_CODE: 1,
        Reason.UNKNOWN_REFERENCE: 1,
    }
    # the latest *accepted* event: the rejected repair of 2026-03-05 does not move it
    assert scores.as_of_ms == to_epoch_ms(datetime.fromisoformat(CLEARED_AT))


def test_score_lines_as_of_an_earlier_moment() -> None:
    ctx = parse_context(get_settings())
    as_of = to_epoch_ms(datetime.fromisoformat("2026-02-20T00:00:00+08:00"))
    scores = score_lines(read_lines(DATA), ctx, DEFAULT_SCORECARD, as_of)
    assert (scores.results[B].score, scores.results[B].grade) == (750, "C")  # not yet cleared
    before_all = score_lines(read_lines(DATA), ctx, DEFAULT_SCORECARD, 0)
    assert {(r.score, r.reasons) for r in before_all.results.values()} == {(1000, ())}


def test_cli_lines() -> None:
    out, err, error = run(str(DATA))
    assert error is None
    assert out == [
        f"{A}\t940\tA\tpenalty -80 {A1}; commendation +20 {A2}",
        f"{B}\t800\tB\tdishonest_debtor -200 {B1}",
        f"{person()}\t900\tA\twage_arrears -100 {C1}",
    ]
    assert err.strip() == (
        f"3 subjects scored as of {CLEARED_AT}; 6 applied, 1 duplicates, 3 rejected "
        "(bad_credit_code 1, bad_json 1, unknown_reference 1)"
    )


def test_cli_json() -> None:
    out, _, error = run(str(DATA), "--json", "--as-of", "2026-02-20T00:00:00+08:00")
    assert error is None
    rows = [json.loads(line) for line in out]
    assert [list(row) for row in rows] == [
        ["subject_id", "subject_type", "score", "grade", "reasons"]
    ] * 3
    assert [row["subject_id"] for row in rows] == [A, B, person()]
    assert rows[1]["score"] == 750
    assert rows[1]["reasons"][0] == {
        "event_id": "b2000000-0000-4000-8000-000000000002",
        "kind": "tax_arrears",
        "effect": -50,
    }
    assert rows[2]["subject_type"] == "person"
    assert "11010519491231002X" not in "\n".join(out)


def test_cli_scorecard_file(tmp_path: Path) -> None:
    card = tmp_path / "card.toml"
    card.write_text("[deductions]\ndishonest_debtor = 100\n")
    out, _, error = run(str(DATA), "--scorecard", str(card))
    assert error is None
    assert out[1].startswith(f"{B}\t900\tA\t")


def test_cli_reads_the_deployments_scorecard_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Persons of human_resources weigh wage arrears at 60, not 100; the enterprises stay.
    card = tmp_path / "card.toml"
    card.write_text('[sectors.human_resources.persons.deductions]\n"wage_arrears" = 60\n')
    monkeypatch.setenv("CREDITBRAIN_SCORECARD_FILE", str(card))
    get_settings.cache_clear()
    try:
        out, _, error = run(str(DATA))
        assert error is None
        assert [line.split("\t")[1] for line in out] == ["940", "800", "940"]
        plain = tmp_path / "plain.toml"
        plain.write_text("")
        out, _, error = run(str(DATA), "--scorecard", str(plain))  # the option wins
        assert [line.split("\t")[1] for line in out] == ["940", "800", "900"]
    finally:
        monkeypatch.delenv("CREDITBRAIN_SCORECARD_FILE")
        get_settings.cache_clear()


def test_cli_empty_file(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"\n")
    out, err, error = run(str(empty))
    assert (out, error) == ([], None)
    assert err.strip() == "0 subjects scored; 0 applied, 0 duplicates, 0 rejected"


@pytest.mark.parametrize(
    ("args", "error_type", "message"),
    [
        (["missing.jsonl"], InputFileError, "no such file"),
        ([str(DATA), "--as-of", "yesterday"], ConfigurationError, "not an ISO 8601 time"),
        ([str(DATA), "--as-of", "2026-03-01T00:00:00"], ConfigurationError, "UTC offset"),
        ([str(DATA), "--scorecard", "card.yaml"], ConfigurationError, "expected a .json or .toml"),
    ],
)
def test_cli_errors(args: list[str], error_type: type[Exception], message: str) -> None:
    _, _, error = run(*args)
    assert isinstance(error, error_type)
    assert message in str(error)
    assert "\n" not in str(error)
