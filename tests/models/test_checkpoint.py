"""One checkpoint module for both model kinds, and the checkpoint file that bundles them."""

from __future__ import annotations

import ast
import copy
from pathlib import Path

import pytest

import creditbrain.models.subject
from creditbrain.models.checkpoint import (
    FILE_MAGIC,
    SERIES_FORMAT,
    SERIES_MAGIC,
    CheckpointError,
    Checkpoints,
    dump,
    dump_series,
    kind_of,
    load_series,
    pack,
    read_file,
    unpack,
    write_file,
)
from creditbrain.models.features import FeatureState
from creditbrain.models.subject import EarlyWarning
from tests.models.test_early_warning import replay, small_model, transitions


def test_each_kind_has_its_magic_and_format_byte() -> None:
    early = dump(EarlyWarning())
    series = dump_series({"a": 1.5})
    assert (early[:4], early[4]) == (b"CBEW", 4)
    assert (series[:4], series[4]) == (SERIES_MAGIC, SERIES_FORMAT)
    assert (kind_of(early), kind_of(series), kind_of(b"fence")) == ("early-warning", "series", None)


def test_a_series_bank_comes_back_only_as_what_it_holds() -> None:
    assert load_series(dump_series({"a": 1.5, "b": 2.0}), float) == {"a": 1.5, "b": 2.0}
    with pytest.raises(CheckpointError, match="holds str"):
        load_series(dump_series({"a": "text"}), float)
    with pytest.raises(CheckpointError, match="format 9"):
        load_series(SERIES_MAGIC + b"\x09" + dump_series({})[5:], float)
    with pytest.raises(CheckpointError):
        load_series(dump(EarlyWarning()), float)


def test_a_checkpoint_file_keeps_model_checkpoints_only_and_restores_them(tmp_path: Path) -> None:
    stream = transitions(3)
    model, states = small_model(), {}
    replay(model, stream[:900], states)
    blobs = {
        "early-warning": dump(model),
        "series-0": dump_series({"s": 1.0}),
        "series-3": dump_series({"t": 2.0}),
        "fence-score-0": b'{"w": {"0": 4}}',
    }
    path = tmp_path / "models.cbcf"
    assert write_file(path, blobs) == 3
    assert path.read_bytes().startswith(FILE_MAGIC)
    found = read_file(path)
    assert sorted(found.blobs) == ["early-warning", "series-0", "series-3"]
    features = {k: FeatureState.from_json(f.to_json()) for k, f in model.feature_states.items()}
    restored = found.early_warning(features)
    assert restored is not None and restored.learned == model.learned
    twin_states = copy.deepcopy(states)
    assert replay(restored, stream[900:], twin_states) == replay(model, stream[900:], states)
    assert found.series_banks(float) == {"series-0": {"s": 1.0}, "series-3": {"t": 2.0}}
    assert Checkpoints({}).early_warning() is None
    # A file holding one bare checkpoint is a file of one.
    (tmp_path / "bare").write_bytes(dump(model))
    bare = read_file(tmp_path / "bare").early_warning()
    assert bare is not None and bare.learned == model.learned


def test_a_damaged_checkpoint_file_is_refused(tmp_path: Path) -> None:
    data = pack({"series-0": dump_series({"s": 1.0})})
    with pytest.raises(CheckpointError, match="cut short"):
        unpack(data[:-3])
    with pytest.raises(CheckpointError, match="not a checkpoint file"):
        unpack(b'{"not": "a checkpoint"}')
    with pytest.raises(CheckpointError, match="not readable"):
        read_file(tmp_path / "missing")
    two = Checkpoints({"a": dump(EarlyWarning()), "b": dump(EarlyWarning())})
    with pytest.raises(CheckpointError, match="2 early-warning"):
        two.early_warning()


def test_the_models_do_not_import_their_checkpoint_module() -> None:
    """No cycle: the checkpoint module imports the models, never the other way (not even
    inside a function, which would hide the cycle from an import-time check)."""
    package = Path(creditbrain.models.subject.__file__).parent
    for source in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom):
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            assert not any(n.startswith("creditbrain.models.checkpoint") for n in names), source


def test_a_checkpoint_written_before_the_detector_was_the_default_gets_one() -> None:
    import pickle

    from creditbrain.models.checkpoint import MAGIC, load

    old = EarlyWarning(detector=False)  # what a format-3 worker pickled
    blob = MAGIC + bytes([3]) + pickle.dumps(old, protocol=pickle.HIGHEST_PROTOCOL)
    assert load(blob).__dict__["_detector"] is not None
    # A model of this format without one was chosen so, and stays so.
    assert load(dump(old)).__dict__["_detector"] is None
