"""The engine (引擎): the one place where an event becomes state, scores, opinions and warnings.

Every way of running creditbrain is a driver of this engine that only moves its
effects somewhere: the worker (:mod:`creditbrain.streams.processor`: effects to
Kafka topics, changed subjects to the changelog), ``creditbrain score`` (final
scores), ``creditbrain backtest`` (the warning changes the stream would publish)
and the models' evaluation (first warnings per subject). So what is measured
offline is what production runs.

Modules:

* :mod:`.engine` -- :class:`Engine`: one message or one moment in, effects out;
* :mod:`.effects` -- the effects, plain frozen values;
* :mod:`.clock` -- the watermark and the heap of pending publicity expiries;
* :mod:`.replay` -- drivers for files: scores of a file (``creditbrain score``)
  and the warning changes of a file under a candidate policy (``creditbrain backtest``);
* :mod:`.compare` -- the policy in force and a candidate over the same history
  (``POST /policies/preview``, ``creditbrain backtest --compare``);
* :mod:`.shadow` -- shadow policy sets, judged beside the live one and never
  delivered (``PUT /policies/shadow/{name}``);
* :mod:`.evaluation` -- do the models foretell red events, and at what cost?
  (``creditbrain models evaluate``, on a file or a simulated city);
* :mod:`.scoring` -- the definitions it scores warnings by (true only if a red event
  follows within the horizon);
* :mod:`.trial` -- a trial of half-space trees on the accumulation features, scored
  the same way (not wired into the rules).
"""

from __future__ import annotations

from .clock import ExpiryClock
from .engine import Counters, Engine

__all__ = ["Counters", "Engine", "ExpiryClock"]
