"""`DemoSeeder`: the randomness, the clock and the entry point of the demo generator."""
from __future__ import annotations

import random
from bisect import bisect
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from math import floor
from typing import Any

from faker import Faker
from sqlalchemy.orm import Session

from app.accounts.passwords import hash_password
from app.core.timefmt import PARIS
from app.demo import data
from app.demo.bulk import TABLE_ORDER, BulkWriter
from app.demo.generator.accounts import AccountsMixin
from app.demo.generator.common import (
    NEIGHBOUR_PEOPLE,
    SLOTS,
    T,
)
from app.demo.generator.people import PeopleMixin

DEFERRED_CHECKS_FROM = 20_000  # people; see BulkWriter.defer_checks


class DemoRandom(random.Random):
    """`random.Random` giving exactly the same draws, in fewer Python calls.

    `randint`, `choice` and `choices` are called ~50 times per person; the standard ones go through
    two or three Python frames each (randint → randrange → _randbelow). These are the same
    algorithms as CPython 3.11–3.13's (`_randbelow_with_getrandbits`, `bisect` on cumulative
    weights), so the data set does not change; tests/demo checks it row by row.
    """

    def randint(self, a: int, b: int) -> int:
        n = b - a + 1
        if n <= 0:
            raise ValueError(f"empty range in randint({a}, {b})")
        getrandbits = self.getrandbits
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return a + r

    def choice(self, seq: Sequence[T]) -> T:
        n = len(seq)
        if not n:
            raise IndexError("Cannot choose from an empty sequence")
        getrandbits = self.getrandbits
        k = n.bit_length()
        r = getrandbits(k)
        while r >= n:
            r = getrandbits(k)
        return seq[r]

    def choices(self, population: Sequence[T], weights: Sequence[float] | None = None, *,
                cum_weights: Sequence[float] | None = None, k: int = 1) -> list[T]:
        if k != 1:
            return super().choices(population, weights, cum_weights=cum_weights, k=k)
        if cum_weights is None:
            if weights is None:
                return [population[floor(self.random() * (len(population) + 0.0))]]
            cum_weights = list(accumulate(weights))
        if len(cum_weights) != len(population):
            raise ValueError("The number of weights does not match the population")
        return [population[bisect(cum_weights, self.random() * (cum_weights[-1] + 0.0), 0, len(population) - 1)]]


def after_bulk_load(conn: Any) -> None:
    """Everything derived from the demo rows, computed once they are all in (same transaction).

    The planner's statistics (PostgreSQL), then the steering counters, recounted from the rows (the
    triggers were off during a deferred load; a recount makes the result independent of how it was
    loaded). The pathways' follow-up summary and its copy on the team members were written with the
    rows by the generator (`pathway._SummaryWriter`): tests check `summary.drift` finds nothing.
    """
    # Imported here, not at the top: the generator is data-only; this is the counters' rebuilder.
    from app.followup import steering

    if conn.dialect.name == "postgresql":
        for name in TABLE_ORDER:
            conn.exec_driver_sql(f'ANALYZE "{name}"')
    steering.rebuild_counters(conn)


class DemoSeeder(AccountsMixin, PeopleMixin):
    def __init__(
        self,
        session: Session,
        *,
        people: int,
        seed: int,
        now: datetime,
        chunk_rows: int = 20_000,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.people = people
        self.seed = seed
        self.now = now.astimezone(UTC)
        self.today = self.now.astimezone(PARIS).date()
        self.rng = DemoRandom(seed)
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)  # its own Random: no side effect on other Faker users
        self.fake.random = DemoRandom(seed)  # the same draws as the Random seeded just above, faster
        # Above a few thousand people, checking foreign keys once at the end beats row by row.
        self.w = BulkWriter(session, chunk_rows=chunk_rows, deferred_checks=people >= DEFERRED_CHECKS_FROM)
        self._at: dict[tuple[int, int], datetime] = {}
        self._slots: dict[tuple[int, time], datetime] = {}
        self.progress = progress
        self._forced: dict[str, int] = {}
        self._forced_last: dict[str, bool] = {}
        self.user_agency: dict[int, int] = {}
        self.password_hash = ""

    # ---- randomness ---------------------------------------------------------------------------

    def _pick(self, key: str, options: Sequence[T], weights: Sequence[float] | None = None) -> T:
        """The first calls for `key` return each option in turn (coverage), then weighted draws."""
        n = self._forced.get(key, 0)
        if n < len(options):
            self._forced[key] = n + 1
            self._forced_last[key] = True
            return options[n]
        self._forced_last[key] = False
        return self.rng.choices(options, weights)[0]

    def _defer(self, key: str) -> None:
        """The last pick for `key` could not be honoured: offer the same forced option next time."""
        if self._forced_last.get(key):
            self._forced[key] -= 1
            self._forced_last[key] = False

    def _chance(self, p: float) -> bool:
        return self.rng.random() < p

    def _randint(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi) if hi > lo else lo

    # ---- time ---------------------------------------------------------------------------------

    def at(self, days_ago: int, minute_of_day: int | None = None) -> datetime:
        """A moment `days_ago` days before today (Paris), never later than now."""
        if minute_of_day is None:
            minute_of_day = self.rng.randint(8 * 60 + 30, 17 * 60 + 30)
        key = (days_ago, minute_of_day)
        moment = self._at.get(key)  # a pure function of its arguments: memoised (time zones are slow)
        if moment is None:
            day = self.today - timedelta(days=days_ago)
            moment = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), PARIS).astimezone(UTC)
            moment = self._at[key] = min(moment, self.now)
        return moment

    def slot(self, days_ago: int) -> datetime:
        """An appointment on a weekday: past ones move back to Friday, future ones on to Monday."""
        chosen = self.rng.choice(SLOTS)
        key = (days_ago, chosen)
        moment = self._slots.get(key)  # memoised, as in `at`
        if moment is None:
            day = self.today - timedelta(days=days_ago)
            weekday = day.weekday()
            if weekday >= 5:
                day = day - timedelta(days=weekday - 4) if days_ago > 0 else day + timedelta(days=7 - weekday)
            moment = self._slots[key] = datetime.combine(day, chosen, PARIS).astimezone(UTC)
        return moment

    def day(self, days_ago: int) -> date:
        return self.today - timedelta(days=days_ago)

    # ---- entry point --------------------------------------------------------------------------

    def run(self) -> dict[str, int]:
        """Generate and insert everything (the caller commits or rolls back); returns row counts."""
        self.w.reserve_ids()
        self.password_hash = hash_password(data.DEMO_PASSWORD)  # once: argon2 is slow on purpose
        try:
            demo = self._demo_territory()
            neighbour = self._neighbour_territory()
            for _ in range(self.people):
                self._person(demo)
                self.w.maybe_flush()
                if self.progress:
                    self.progress(1)
            for _ in range(NEIGHBOUR_PEOPLE):
                self._person(neighbour)
            self.w.finish()
            after_bulk_load(self.w.session.connection())
        except BaseException:
            self.w.abort()
            raise
        return dict(self.w.counts)
