"""One page of a list, for the HTML pages and the API alike.

`paginate(stmt, page, per_page)` runs two queries (the page, and the count) and returns a `Page`,
which the pagination macro reads (Flask-SQLAlchemy's interface: `has_prev`, `iter_pages`…) and the
API answers (`app.api.core.respond_page`). Page parameters are parsed by `app.validation`.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from app.extensions import db

# Lists longer than this are counted up to here only (« plus de 500 », `total_is_exact: false` in
# the API): a page costs what it shows, and nobody pages through five hundred rows.
COUNT_CAP = 500


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int
    # True when the list holds more than `total` rows (a count that stopped at a cap): shown as
    # « plus de N », and there is no page after the last counted one.
    more: bool = False

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def map(self, convert: Callable[[Any], Any]) -> Page:
        """The same page with each item converted (rows → read-model objects)."""
        return Page([convert(item) for item in self.items], self.total, self.page, self.per_page, self.more)

    def iter_pages(
        self, left_edge: int = 1, left_current: int = 2, right_current: int = 2, right_edge: int = 1
    ) -> Iterator[int | None]:
        """Page numbers to link, with None where numbers are skipped (« … »)."""
        last = 0
        for number in range(1, self.pages + 1):
            if (
                number <= left_edge
                or self.page - left_current <= number <= self.page + right_current
                or number > self.pages - right_edge
            ):
                if last + 1 != number:
                    yield None
                yield number
                last = number


def paginate(stmt: sa.Select, page: int, per_page: int, *, scalars: bool = True, cap: int | None = None) -> Page:
    """One page of `stmt` (already ordered) and the total count: two queries.

    `cap`: the count stops there (`Page.more` says the list holds more) and no row past it is
    served — a page then costs its rows, not the size of the table behind the list."""
    counted = stmt.order_by(None)
    if cap is not None:
        counted = counted.limit(cap + 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(counted.subquery())) or 0
    more = cap is not None and total > cap
    total = min(total, cap) if cap is not None else total
    offset = (page - 1) * per_page
    wanted = per_page if cap is None else max(0, min(per_page, cap - offset))
    if not wanted:
        return Page([], total, page, per_page, more)
    limited = stmt.limit(wanted).offset(offset)
    rows = db.session.scalars(limited).all() if scalars else db.session.execute(limited).all()
    return Page(list(rows), total, page, per_page, more)


def after_clause(columns: Sequence[Any], values: Sequence[Any]) -> sa.ColumnElement[bool]:
    """Keyset pagination: the rows after the one whose `columns` hold `values` (the last row read),
    in the order `columns[0] ASC NULLS LAST, …`, the last column unique and never null (an id). Lets a
    long list be read in batches of the same ordered query, each walk starting where the last stopped."""
    keys = list(zip(columns, values, strict=True))
    (column, value), rest = keys[0], keys[1:]
    if not rest:
        return column > value
    later = after_clause([c for c, _ in rest], [v for _, v in rest])
    if value is None:
        return sa.and_(column.is_(None), later)
    return sa.or_(column > value, column.is_(None), sa.and_(column == value, later))
