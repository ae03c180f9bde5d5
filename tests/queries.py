"""Counting the SQL statements a block runs, after pass-culture's `assert_num_queries`.

    with assert_num_queries(3):  # 1 user session, 2 pathway, 3 its alerts
        client.get(url)

A budget is an exact number with a comment per query, so a new query (an N+1 above all) fails the
test and says what it is. SAVEPOINTs (the per-test transaction's) are not counted. When SQLite and
PostgreSQL differ, pass `{"sqlite": n, "postgresql": m}` and say why in the comment.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from app.extensions import db

_NOT_COUNTED = ("SAVEPOINT", "RELEASE", "ROLLBACK TO")


def _short(statement: str) -> str:
    """A statement on one line: its start and, for long ones, its end (the WHERE clause)."""
    text = " ".join(statement.split())
    return text if len(text) <= 400 else f"{text[:150]} … {text[-250:]}"


class QueryCounter:
    """Records the statements sent to the database (SAVEPOINTs excluded)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(_NOT_COUNTED):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)

    def listing(self) -> str:
        return "\n".join(f"{i}. {_short(s)}" for i, s in enumerate(self.statements, 1))


@contextmanager
def count_queries() -> Iterator[QueryCounter]:
    """`with count_queries() as counter: ...` then `counter.count`."""
    counter = QueryCounter()
    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
        if os.environ.get("PRINT_QUERIES"):
            print(f"\n--- {counter.count} queries\n{counter.listing()}")


@contextmanager
def assert_num_queries(expected: int | dict[str, int]) -> Iterator[QueryCounter]:
    """Fail unless the block runs exactly `expected` statements (per dialect when a dict)."""
    if isinstance(expected, dict):
        expected = expected[db.engine.dialect.name]
    with count_queries() as counter:
        yield counter
    assert counter.count == expected, (
        f"{counter.count} queries, expected {expected}:\n{counter.listing()}"
    )
