"""The history ``creditbrain backtest --from-store`` replays: stored events and the policy in force.

The same window and scope rules as ``POST /policies/preview``: whole UTC days, at
most two years, only the subjects of the scope, and the policy in force as the
store's audited changes say (the CLI has no broker to read ``credit.policies`` from).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from creditbrain.alerts.policy import PolicySet
from creditbrain.api.policy_history import policies_in_audit
from creditbrain.api.preview import MAX_DAYS, stored_lines
from creditbrain.cli.check import open_store
from creditbrain.core.errors import ConfigurationError
from creditbrain.schemas.policies import PolicyError, Scope
from creditbrain.settings import Settings

#: The window when ``--since`` is not given, as for a preview.
DEFAULT_DAYS = 180


@dataclass(frozen=True)
class StoredHistory:
    """Wire messages of the window, the policy in force, and the window's end (epoch ms)."""

    lines: list[bytes]
    in_force: PolicySet
    end_ms: int


def window(since: str | None, to: str | None, today: date) -> tuple[datetime, datetime]:
    """``[start, end)`` of whole UTC days from ``--since`` / ``--to``; a one-line error if bad.

    >>> window("2025-06-01", "2025-06-30", date(2026, 1, 1))[1]
    datetime.datetime(2025, 7, 1, 0, 0, tzinfo=datetime.timezone.utc)
    >>> window("2020-01-01", None, date(2026, 1, 1))
    Traceback (most recent call last):
    ...
    creditbrain.core.errors.ConfigurationError: --since: a window of at most 730 days
    """
    last = _day(to, "--to") if to is not None else today
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(days=1)
    first = _day(since, "--since") if since is not None else None
    start = (
        end - timedelta(days=DEFAULT_DAYS)
        if first is None
        else datetime(first.year, first.month, first.day, tzinfo=UTC)
    )
    if not start < end:
        raise ConfigurationError("--since: must come before --to")
    if end - start > timedelta(days=MAX_DAYS):
        raise ConfigurationError(f"--since: a window of at most {MAX_DAYS} days")
    return start, end


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(f"{option}: expected a day as YYYY-MM-DD, got {text!r}") from None


def read_store(settings: Settings, scope: str, since: str | None, to: str | None) -> StoredHistory:
    """The stored events of ``scope`` in the window, and the policy in force."""
    try:
        parsed = Scope.parse(scope)
    except PolicyError as error:
        raise ConfigurationError(f"--scope: {error}") from None
    start, end = window(since, to, datetime.now(UTC).date())
    store = open_store(settings)
    try:
        lines, _ = stored_lines(store, parsed, start, end)
        in_force = policies_in_audit(store)
    finally:
        store.close()
    return StoredHistory(lines, in_force, int(end.timestamp() * 1000))
