"""Every ``creditbrain`` invocation imports the whole command tree: it must stay light.

The engine, the models (River, SciPy), Faust, FastAPI and chDB load inside the
commands that use them, so ``--version``, ``--help``, a usage error or ``db query``
do not pay for them (the engine's models alone cost about two seconds of CPU).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "river",
    "scipy",
    "faust",
    "fastapi",
    "chdb",
    "creditbrain.engine",
    "creditbrain.runtime.worker",
)


def test_the_command_tree_loads_without_the_heavy_libraries() -> None:
    probe = (
        "import sys\n"
        "from creditbrain.cli import app\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, check=True, timeout=120
    )
    assert out.stdout.decode().strip() == ""
