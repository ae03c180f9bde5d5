"""Portable time arithmetic for set-based rules (PostgreSQL and SQLite compile differently).

SQLAlchemy stores SQLite datetimes as text 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC here), so the
SQLite forms below produce exactly that format: values compare correctly as strings and read back
as datetimes.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from app.db_types import UTCDateTime

_SQLITE_FORMAT = "'%Y-%m-%d %H:%M:%f000'"  # %f is SS.SSS; three more zeros make microseconds


class add_days(FunctionElement):  # noqa: N801  (reads as SQL)
    """`timestamp + n days` (n may be a column)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "add_days"


@compiles(add_days, "postgresql")
def _add_days_pg(element: add_days, compiler: Any, **kw: Any) -> str:
    ts, days = list(element.clauses)
    return f"({compiler.process(ts, **kw)} + make_interval(days => {compiler.process(days, **kw)}))"


@compiles(add_days, "sqlite")
def _add_days_sqlite(element: add_days, compiler: Any, **kw: Any) -> str:
    ts, days = list(element.clauses)
    return (
        f"strftime({_SQLITE_FORMAT}, {compiler.process(ts, **kw)}, "
        f"'+' || ({compiler.process(days, **kw)}) || ' days')"
    )


class date_start_utc(FunctionElement):  # noqa: N801
    """A calendar date as the timestamp of its 00:00 UTC (for sorting date-based deadlines)."""

    type = UTCDateTime()
    inherit_cache = True
    name = "date_start_utc"


@compiles(date_start_utc, "postgresql")
def _date_start_pg(element: date_start_utc, compiler: Any, **kw: Any) -> str:
    (d,) = list(element.clauses)
    return f"(CAST({compiler.process(d, **kw)} AS timestamp) AT TIME ZONE 'UTC')"


@compiles(date_start_utc, "sqlite")
def _date_start_sqlite(element: date_start_utc, compiler: Any, **kw: Any) -> str:
    (d,) = list(element.clauses)
    return f"strftime({_SQLITE_FORMAT}, {compiler.process(d, **kw)})"


def utc_param(value: Any) -> sa.BindParameter:
    return sa.bindparam(None, value, type_=UTCDateTime())
