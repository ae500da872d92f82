"""Checkpoints of the online models: the bytes a restarted worker or a backtest resumes from.

Both kinds of learned model are kept here, each as a magic, one format-version
byte and a pickle:

=========  =======  ====================================================================
magic      format   holds
=========  =======  ====================================================================
``CBEW``   4 (2-3)  an :class:`~creditbrain.models.subject.EarlyWarning` without its
                    per-subject feature states (those live beside each subject's state)
``CBSW``   1        one bank of the series watch: series key -> the series' track
=========  =======  ====================================================================

A **checkpoint file** (``CBCF``, format 1) holds named checkpoints, as the worker
keeps them under their keys on ``<app id>-models``: what a backtest warms its
models from (:func:`read_file` also takes a file holding one bare checkpoint).
Where the bytes are kept is the caller's choice; they must only ever come from our
own writer, as any pickle can run code on load.

Examples
--------
>>> from creditbrain.models.subject import EarlyWarning
>>> restored = load(dump(EarlyWarning(seed=7)))
>>> restored.seed, restored.feature_states
(7, {})
>>> kind_of(dump(EarlyWarning())), kind_of(dump_series({})), kind_of(b"{}")
('early-warning', 'series', None)
>>> unpack(pack({"series-0": dump_series({"a": 1})})).series_banks(int)
{'series-0': {'a': 1}}
"""

from __future__ import annotations

import io
import pickle
import struct
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

from creditbrain.core.errors import CreditBrainError
from creditbrain.models.features import FeatureState
from creditbrain.models.subject import EarlyWarning
from creditbrain.models.subject.early_warning import new_detector

__all__ = [
    "CHECKPOINT_FORMAT",
    "FILE_FORMAT",
    "FILE_MAGIC",
    "MAGIC",
    "READABLE_FORMATS",
    "SERIES_FORMAT",
    "SERIES_MAGIC",
    "CheckpointError",
    "Checkpoints",
    "dump",
    "dump_series",
    "kind_of",
    "load",
    "load_series",
    "pack",
    "read_file",
    "unpack",
    "write_file",
]

MAGIC = b"CBEW"
#: Bumped whenever the pickled classes change in a way an old checkpoint cannot follow.
#: Format 3 keeps each waiting example as a dict of its non-zero features; format 4
#: models score deterioration with the half-space trees by default.
CHECKPOINT_FORMAT = 4
#: Older formats :func:`load` still reads (format 2: examples as tuples of pairs,
#: turned into dicts on load; formats 2 and 3 without a detector get a fresh one, the
#: default they were written before).
READABLE_FORMATS = frozenset((2, 3, CHECKPOINT_FORMAT))

SERIES_MAGIC = b"CBSW"
SERIES_FORMAT = 1

FILE_MAGIC = b"CBCF"
FILE_FORMAT = 1
#: Per entry of a checkpoint file: the key's length, then the value's.
_KEY_LEN = struct.Struct(">H")
_VALUE_LEN = struct.Struct(">Q")

Kind = Literal["early-warning", "series"]
T = TypeVar("T")


class CheckpointError(CreditBrainError, ValueError):
    """Bytes that are not a checkpoint of this format."""


def _body(data: bytes, magic: bytes, formats: frozenset[int], what: str) -> bytes:
    """The pickle of a checkpoint, after its magic and format byte are checked."""
    if data[: len(magic)] != magic:
        raise CheckpointError(f"not {what}")
    version = data[len(magic)] if len(data) > len(magic) else None
    if version not in formats:
        raise CheckpointError(f"{what} of format {version}, expected {max(formats)}")
    return data[len(magic) + 1 :]


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
    body = _body(data, MAGIC, READABLE_FORMATS, "an early-warning checkpoint")
    # Trusted input: checkpoints are written by dump() into our own topic, table or file.
    model = pickle.loads(body)  # noqa: S301
    if not isinstance(model, EarlyWarning):
        raise CheckpointError(f"checkpoint holds a {type(model).__name__}")
    model.feature_states = {} if feature_states is None else feature_states
    if data[len(MAGIC)] < 4 and model.__dict__.get("_detector") is None:
        model.__dict__["_detector"] = new_detector(model.seed)
    return model


def dump_series(bank: Mapping[str, object]) -> bytes:
    """The checkpoint of one series bank (series key -> track)."""
    body = pickle.dumps(dict(bank), protocol=pickle.HIGHEST_PROTOCOL)
    return SERIES_MAGIC + bytes([SERIES_FORMAT]) + body


class _TrackUnpickler(pickle.Unpickler):
    """Reads a track class of our package as ``track`` wherever it was defined when written.

    The series watch's classes may move between modules of the package; a pickle
    names the module, and a checkpoint written before a move must still load.
    """

    def __init__(self, data: bytes, track: type[object]) -> None:
        super().__init__(io.BytesIO(data))
        self.track = track

    def find_class(self, module: str, name: str) -> Any:
        if name == self.track.__qualname__ and module.startswith("creditbrain."):
            return self.track
        return super().find_class(module, name)


def load_series(data: bytes, track: type[T]) -> dict[str, T]:
    """The bank of a :func:`dump_series` checkpoint whose every track is a ``track``."""
    body = _body(data, SERIES_MAGIC, frozenset((SERIES_FORMAT,)), "a series checkpoint")
    bank = _TrackUnpickler(body, track).load()  # our own writer only, as above
    if not isinstance(bank, dict):
        raise CheckpointError(f"series checkpoint holds a {type(bank).__name__}")
    wrong = {type(v).__name__ for v in bank.values() if not isinstance(v, track)}
    if wrong:
        raise CheckpointError(f"series checkpoint holds {', '.join(sorted(wrong))}")
    return bank


def kind_of(data: bytes) -> Kind | None:
    """Which model a checkpoint holds, by its magic; ``None`` for other bytes."""
    if data.startswith(MAGIC):
        return "early-warning"
    if data.startswith(SERIES_MAGIC):
        return "series"
    return None


@dataclass(frozen=True)
class Checkpoints:
    """Named checkpoints of both kinds, as the worker keeps them (key -> bytes)."""

    blobs: Mapping[str, bytes]

    def early_warning(
        self, feature_states: MutableMapping[str, FeatureState] | None = None
    ) -> EarlyWarning | None:
        """The early-warning models, if there is a checkpoint of them (at most one)."""
        found = [blob for blob in self.blobs.values() if kind_of(blob) == "early-warning"]
        if len(found) > 1:
            raise CheckpointError(f"{len(found)} early-warning checkpoints, expected one")
        return load(found[0], feature_states) if found else None

    def series_banks(self, track: type[T]) -> dict[str, dict[str, T]]:
        """Every series bank by its key (a bank per partition of the worker's counts)."""
        return {
            key: load_series(blob, track)
            for key, blob in sorted(self.blobs.items())
            if kind_of(blob) == "series"
        }


def pack(blobs: Mapping[str, bytes]) -> bytes:
    """A checkpoint file of the model checkpoints among ``blobs`` (other values left out)."""
    kept = {key: blob for key, blob in sorted(blobs.items()) if kind_of(blob) is not None}
    parts = [FILE_MAGIC, bytes([FILE_FORMAT])]
    for key, blob in kept.items():
        name = key.encode()
        parts += [_KEY_LEN.pack(len(name)), name, _VALUE_LEN.pack(len(blob)), blob]
    return b"".join(parts)


def unpack(data: bytes) -> Checkpoints:
    """The checkpoints of a file from :func:`pack`.

    A lone checkpoint (the bytes of :func:`dump` or :func:`dump_series`) reads as a
    file of one, under its kind as key.
    """
    kind = kind_of(data)
    if kind is not None:
        return Checkpoints({kind: data})
    view = memoryview(_body(data, FILE_MAGIC, frozenset((FILE_FORMAT,)), "a checkpoint file"))
    blobs: dict[str, bytes] = {}
    at = 0
    try:
        while at < len(view):
            (size,) = _KEY_LEN.unpack_from(view, at)
            at += _KEY_LEN.size
            key = bytes(view[at : at + size]).decode()
            at += size
            (size,) = _VALUE_LEN.unpack_from(view, at)
            at += _VALUE_LEN.size
            if at + size > len(view):
                raise CheckpointError("checkpoint file cut short")
            blobs[key] = bytes(view[at : at + size])
            at += size
    except (struct.error, UnicodeDecodeError) as error:
        raise CheckpointError(f"checkpoint file damaged: {error}") from error
    return Checkpoints(blobs)


def write_file(path: Path, blobs: Mapping[str, bytes]) -> int:
    """Write the model checkpoints among ``blobs`` to ``path``; returns how many."""
    # Written beside and renamed: a reader never sees half a file.
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(pack(blobs))
    partial.replace(path)
    return sum(kind_of(blob) is not None for blob in blobs.values())


def read_file(path: Path) -> Checkpoints:
    """The checkpoints of a file from :func:`write_file`."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise CheckpointError(f"checkpoint file {path} not readable: {error}") from error
    return unpack(data)
