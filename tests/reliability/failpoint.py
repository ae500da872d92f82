"""``creditbrain`` that kills itself at the worst moment for its warnings.

``python -m tests.reliability.failpoint serve ...`` runs the real CLI with one
change: the worker's output producer sends ``SIGKILL`` to its own process while it
writes the changelog records of the ``CRASH_AT``-th batch that sent warnings and
writes fences (a worker writes them once it has caught up with what its partitions
held when it took them). By then the batch's warnings are on their topics; of its
changelog records only the fences and the records of subjects that sent no warning
have been written. The
subjects whose warnings went out are saved as they were before the batch: their
redelivered events make those warnings again, above the fence just written.

A test cannot reach that moment with an outside ``kill -9`` except by luck (about
one run in three); this makes it happen every time, with nothing else changed.
"""

from __future__ import annotations

import os
import runpy
import signal
from typing import Any

from creditbrain.streams import output

#: The batch (counting batches that sent warnings and write fences) in whose changelog
#: write to die.
CRASH_AT = 2

_original = output.OutputProducer._send_all


class _Seen:
    #: Keys (subjects) of the warnings in the last outputs sent.
    warned: set[bytes] = set()
    #: Batches so far that sent warnings and write fences.
    batches = 0


async def _send_all(self: Any, producer: Any, records: list[Any], since: Any = None) -> None:
    if since is not None:  # a batch's outputs
        _Seen.warned = {key for topic, _, key, *_ in records if topic in self.sent.topics}
        await _original(self, producer, records, since)
        return
    fenced = any(r[0] == self.fence_topic for r in records)
    if fenced and _Seen.warned:
        _Seen.batches += 1
    if not fenced or not _Seen.warned or _Seen.batches < CRASH_AT:
        await _original(self, producer, records, since)
        return
    kept = [r for r in records if r[0] == self.fence_topic or r[2] not in _Seen.warned]
    await _original(self, producer, kept, since)
    os.kill(os.getpid(), signal.SIGKILL)


if __name__ == "__main__":
    # Only in the process it launches: importing this module (pytest collects it)
    # changes nothing.
    output.OutputProducer._send_all = _send_all  # type: ignore[method-assign]
    runpy.run_module("creditbrain.cli", run_name="__main__", alter_sys=True)
