"""French labels for the interface (code stays in English).

Each enum declares its labels next to its values, in its feature's models module (see
`app.db_types.StrEnum`); this module only reads them, and imports no model.
"""
from __future__ import annotations

import enum
from typing import Any

from app.db_types import StrEnum


def label(value: Any, enum_cls: type[enum.Enum] | None = None) -> str:
    """The French label of an enum member; with `enum_cls`, of a code value ("housing").

    Unknown values fall back to their code rather than failing a page; None gives "".
    """
    if value is None:
        return ""
    if enum_cls is not None and not isinstance(value, enum_cls):
        try:
            value = enum_cls(value)
        except ValueError:
            return str(value)
    if isinstance(value, StrEnum):
        return value.label
    return str(value)


def choices(enum_cls: type[StrEnum]) -> list[tuple[str, str]]:
    """(code, French label) pairs, in declaration order, for select and radio macros."""
    return [(member.value, member.label) for member in enum_cls]
