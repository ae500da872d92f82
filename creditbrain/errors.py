"""The exception tree under its first name; it lives in :mod:`creditbrain.core.errors`."""

from __future__ import annotations

from creditbrain.core.errors import (
    BrokerError,
    ConfigurationError,
    CreditBrainError,
    InputFileError,
    StoreError,
    StoreLockedError,
)

__all__ = [
    "BrokerError",
    "ConfigurationError",
    "CreditBrainError",
    "InputFileError",
    "StoreError",
    "StoreLockedError",
]
