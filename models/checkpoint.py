"""Checkpoints of the early-warning models: bytes a restarted worker resumes from.

A checkpoint is :data:`MAGIC`, one format-version byte and the pickle of an
:class:`~creditbrain.models.subject.EarlyWarning` without its per-subject feature
states (those live beside each subject's state, in the worker's table). Where the
bytes are kept (a compacted Kafka topic, a ClickHouse row) is the caller's choice;
they must only ever come from our own writer, as any pickle can run code on load.

Examples
--------
>>> from creditbrain.models.subject import EarlyWarning
>>> restored = load(dump(EarlyWarning(seed=7)))
>>> restored.seed, restored.feature_states
(7, {})
"""

from __future__ import annotations

import pickle
from collections.abc import MutableMapping

from creditbrain.core.errors import CreditBrainError
from creditbrain.models.features import FeatureState
from creditbrain.models.subject import EarlyWarning

__all__ = ["CHECKPOINT_FORMAT", "MAGIC", "READABLE_FORMATS", "CheckpointError", "dump", "load"]

MAGIC = b"CBEW"
#: Bumped whenever the pickled classes change in a way an old checkpoint cannot follow.
#: Format 3 keeps each waiting example as a dict of its non-zero features.
CHECKPOINT_FORMAT = 3
#: Older formats :func:`load` still reads (format 2: examples as tuples of pairs,
#: turned into dicts on load).
READABLE_FORMATS = frozenset((2, CHECKPOINT_FORMAT))


class CheckpointError(CreditBrainError, ValueError):
    """Bytes that are not a checkpoint of this format."""


def dump(model: EarlyWarning) -> bytes:
    """The checkpoint of ``model`` (its feature states left out)."""
    states = model.feature_states
    model.feature_states = {}
    try:
        body = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
    finally:
        model.feature_states = states
    return MAGIC + bytes([CHECKPOINT_FORMAT]) + body


def load(
    data: bytes, feature_states: MutableMapping[str, FeatureState] | None = None
) -> EarlyWarning:
    """The model of a checkpoint, keeping its feature states in ``feature_states``."""
    if data[: len(MAGIC)] != MAGIC:
        raise CheckpointError("not an early-warning checkpoint")
    version = data[len(MAGIC)] if len(data) > len(MAGIC) else None
    if version not in READABLE_FORMATS:
        raise CheckpointError(f"checkpoint format {version}, expected {CHECKPOINT_FORMAT}")
    # Trusted input: checkpoints are written by dump() into our own topic or table.
    model = pickle.loads(data[len(MAGIC) + 1 :])  # noqa: S301
    if not isinstance(model, EarlyWarning):
        raise CheckpointError(f"checkpoint holds a {type(model).__name__}")
    model.feature_states = {} if feature_states is None else feature_states
    return model
