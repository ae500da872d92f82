"""The project's exceptions, one small tree::

    CreditBrainError
    ├── ConfigurationError (ValueError)   settings or input that cannot work
    ├── BrokerError                       the embedded broker would not start / answer
    ├── StoreError                        ClickHouse / chDB could not be opened or queried
    │   └── StoreLockedError              another process holds the embedded store
    └── InputFileError (ValueError)       a file given on the command line is unusable

The CLI catches only :class:`CreditBrainError`, prints one line and exits non-zero;
anything else is a bug and is allowed to crash loudly.
"""

from __future__ import annotations


class CreditBrainError(Exception):
    """Base of every error creditbrain raises on purpose."""


class ConfigurationError(CreditBrainError, ValueError):
    """Settings or arguments that cannot work."""


class BrokerError(CreditBrainError):
    """The Kafka broker could not be started or reached."""


class StoreError(CreditBrainError):
    """The ClickHouse store could not be opened or queried."""


class StoreLockedError(StoreError):
    """Another process holds the embedded chDB data path."""


class InputFileError(CreditBrainError, ValueError):
    """A file given on the command line is missing or unreadable."""
