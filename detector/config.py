"""Shared rules for configuration objects read from JSON: unknown keys are refused, never ignored."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from .errors import ConfigError, DetectorError


def reject_unknown_keys(cls: type, data: Mapping[str, Any], *, what: str,
                        error: type[DetectorError] = ConfigError) -> None:
    """Raise ``error`` naming the keys of ``data`` that are not fields of dataclass ``cls``.

    A typo in a config file (``learning_rate`` for ``lr``) must fail loudly, not train with the default.
    """
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise error(f"unknown {what} keys {unknown}; known: {sorted(known)}")
