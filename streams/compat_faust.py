"""A work-around for Faust 0.15 itself, whatever the broker.

When a worker restarts with a backlog, table recovery resumes the stream
partitions while the consumer's flow is active and only afterwards seeks them to
the committed offsets. Records fetched in between are delivered, rewound and
delivered again, and a batch per partition can be skipped; because Faust commits
only contiguous acknowledged offsets, the committed offset then sticks before the
gap (KNOWN_ISSUES.md item 9). Stopping the flow before stream partitions are
resumed during a rebalance closes the window: recovery resumes the flow itself
after the seek.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_installed = False


def patch_faust_recovery_resume() -> None:
    """Stop the flow before stream partitions are resumed during a rebalance (idempotent)."""
    global _installed
    if _installed:
        return
    from faust.transport.consumer import Consumer

    original_resume = Consumer.resume_partitions

    def resume_partitions(self: Any, tps: Iterable[Any]) -> None:
        tps = list(tps)
        rebalancing = bool(getattr(self.app, "rebalancing", False))
        if rebalancing and any(not self._is_changelog_tp(tp) for tp in tps) and self.flow_active:
            self.stop_flow()
        original_resume(self, tps)

    Consumer.resume_partitions = resume_partitions  # type: ignore[method-assign]
    _installed = True
