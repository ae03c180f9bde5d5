"""A pathway's journal entries and notes."""
from __future__ import annotations

from datetime import datetime, timedelta

from app.demo import data


class JournalMixin:
    """Part of `PathwayBuilder`."""

    # ---- journal ------------------------------------------------------------------------------

    def _entry(self, author: int, agency: int, kind: str, visibility: str, body: str,
               occurred_at: datetime) -> None:
        occurred_at = max(min(occurred_at, self.end_at), self.started_at)
        self.w.add("entry", (  # bulk.COLUMNS["entry"]
            self.w.new_id("entry"), self.tid, self.pid, author, agency, kind, visibility, body, occurred_at,
            min(occurred_at + timedelta(minutes=self.rng.randint(1, 240)), self.s.now), 1,
        ))

    def _entries(self, oriented_at: datetime | None) -> None:
        p, s, rng = self.plan, self.s, self.rng
        if p.referent is None:
            opener, opener_agency = self._agency_user(self.lead_agency), self.lead_agency
        else:
            opener, opener_agency = self.who(p.start_day)
        if p.referent is None or p.stage in ("intake", "diagnosis") or rng.random() < 0.3:
            body = rng.choice(data.INTAKE_EVENTS)
            self._entry(opener, opener_agency, "event", "team", body, self.started_at)
        if p.referent is None:
            return
        if oriented_at is not None and p.orientation:
            user, agency = self.who(p.oriented_day or 0)
            self._entry(user, agency, "event", "team", data.ORIENTATION_EVENTS[p.orientation], oriented_at)
        if p.employment_day is not None:
            user, agency = self.who(p.employment_day)
            self._entry(user, agency, "event", "team", data.EMPLOYMENT_EVENTS, s.at(p.employment_day))
        first_day = p.assign_day if p.assign_day is not None else p.start_day
        for _ in range(rng.choices((0, 1, 2, 3), (25, 35, 25, 15))[0]):
            day = s._randint(self.end_day, first_day)
            visibility = s._pick("entry_visibility", ["team", "agency", "referent"], [50, 32, 18])
            roll = rng.random()
            if self.members and roll < 0.3:
                agency = rng.choice(self.members)
                author = rng.choice(self.ctx.users_by_agency[agency])
            elif roll < 0.4 and len(self.ctx.users_by_agency[self.lead_agency]) > 1:
                agency = self.lead_agency
                author = rng.choice(self.ctx.users_by_agency[agency])
            else:
                author, agency = self.who(day)
            body = rng.choice(data.PRIVATE_NOTES if visibility == "referent" else data.ENTRY_NOTES)
            self._entry(author, agency, "note", visibility, body, s.at(day))
