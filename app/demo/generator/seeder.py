"""`DemoSeeder`: the randomness, the clock and the entry point of the demo generator."""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

from faker import Faker
from sqlalchemy.orm import Session

from app.accounts.passwords import hash_password
from app.core.timefmt import PARIS
from app.demo import data
from app.demo.bulk import BulkWriter
from app.demo.generator.accounts import AccountsMixin
from app.demo.generator.common import (
    NEIGHBOUR_PEOPLE,
    SLOTS,
    T,
)
from app.demo.generator.people import PeopleMixin


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
        self.rng = random.Random(seed)
        self.fake = Faker("fr_FR")
        self.fake.seed_instance(seed)  # its own Random: no side effect on other Faker users
        self.w = BulkWriter(session, chunk_rows=chunk_rows)
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
        day = self.today - timedelta(days=days_ago)
        moment = datetime.combine(day, time(minute_of_day // 60, minute_of_day % 60), PARIS).astimezone(UTC)
        return min(moment, self.now)

    def slot(self, days_ago: int) -> datetime:
        """An appointment on a weekday: past ones move back to Friday, future ones on to Monday."""
        day = self.today - timedelta(days=days_ago)
        weekday = day.weekday()
        if weekday >= 5:
            day = day - timedelta(days=weekday - 4) if days_ago > 0 else day + timedelta(days=7 - weekday)
        return datetime.combine(day, self.rng.choice(SLOTS), PARIS).astimezone(UTC)

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
        except BaseException:
            self.w.abort()
            raise
        return dict(self.w.counts)
