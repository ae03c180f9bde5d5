"""Small database questions tests ask."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db


def count_rows(model: Any, *where: Any) -> int:
    """How many rows of `model` match `where` (all of them without it)."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))
