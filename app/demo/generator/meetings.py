"""A pathway's meetings: history, upcoming and post-employment check-ins."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from app.demo import data
from app.demo.generator.common import (
    add_months,
)


class MeetingsMixin:
    """Part of `PathwayBuilder`."""

    # ---- meetings -----------------------------------------------------------------------------

    def _meeting(self, days_ago: int, status: str, kind: str = "follow_up",
                 note_pool: Sequence[str] | None = None) -> None:
        s, rng = self.s, self.rng
        user, agency = self.who(max(days_ago, 0))
        scheduled = s.slot(days_ago)
        if scheduled < self.started_at:
            scheduled = self.started_at + timedelta(hours=1)
        duration = rng.choice((20, 30)) if kind == "checkin" else rng.choice((30, 45, 45, 60))
        roll = rng.random()
        channel = "in_person" if roll < (0.4 if kind == "checkin" else 0.72) else (
            "phone" if roll < 0.93 else "video")
        location = data.LOCATIONS_BY_KIND[self.ctx.kind_by_agency[agency]] if channel == "in_person" else None
        notes, visibility = None, "agency"
        recorded_at = recorded_by = cancelled_at = cancellation = None
        if status in ("held", "missed"):
            recorded_at = min(scheduled + timedelta(minutes=duration + rng.randint(5, 2 * 24 * 60)), s.now)
            recorded_by = user
            if status == "held" and rng.random() < 0.78:
                notes = rng.choice(note_pool or data.MEETING_NOTES)
                visibility = s._pick("note_visibility", ["team", "agency", "referent"], [45, 40, 15])
            elif status == "missed":
                notes = rng.choice(data.MISSED_NOTES)
        elif status == "cancelled":
            cancelled_at = min(scheduled - timedelta(hours=rng.randint(2, 72)), s.now)
            cancelled_at = max(cancelled_at, self.started_at)
            cancellation = rng.choice(data.CANCEL_REASONS)
        created = max(self.started_at, scheduled - timedelta(days=rng.randint(3, 30)))
        created = min(created, s.now)
        if cancelled_at is not None and created > cancelled_at:
            created = cancelled_at
        self.w.add("meeting", (  # bulk.COLUMNS["meeting"]
            self.w.new_id("meeting"), self.tid, self.pid, user, agency, kind, scheduled, duration, channel,
            location, status, notes, visibility, recorded_at, recorded_by, cancelled_at, cancellation, created,
            recorded_at or cancelled_at or created, 1,
        ))

    def _history(self, first_day: int, anchor_day: int, cadence: int) -> None:
        """Held meetings at roughly the cadence from `first_day` down to `anchor_day` (days ago)."""
        days: list[int] = []
        day = anchor_day
        while day <= first_day - 3:
            days.append(day)
            day += max(7, int(cadence * self.rng.uniform(0.75, 1.0)))
        days.reverse()
        for i, day in enumerate(days):
            last = i == len(days) - 1
            older_gap = days[i - 1] - day if i else first_day - day
            roll = self.rng.random()
            if not last and roll < 0.07 and older_gap > 12:
                self._meeting(day + 6, "missed")  # absent, rescheduled about a week later
            elif not last and roll < 0.10 and older_gap > 8:
                self._meeting(day + 3, "cancelled")
            self._meeting(day, "held")

    def _meetings(self) -> None:
        p, s = self.plan, self.s
        r = s._randint
        if p.referent is None:
            return
        cadence = self.ctx.cadence[p.orientation]
        first_day = p.assign_day if p.assign_day is not None else p.start_day
        if p.stage in ("intake", "diagnosis"):
            if first_day >= 4:
                held = r(2, first_day - 2)
                if p.scenario == "intake_late" and held > 40 and s._chance(0.5):
                    self._meeting(r(held - 35, held - 20), "held")
                self._meeting(held, "held")
            if s._chance(0.7):
                self._meeting(-r(2, 20), "planned")
            return
        if p.stage == "closed":
            if p.employment_day is not None:
                self._history(first_day, p.employment_day + r(3, 20), cadence)
                self._checkins(p.employment_day, closed=True)
            else:
                self._history(first_day, self.end_day + r(2, 25), cadence)
            return
        if p.stage == "employed":
            self._history(first_day, p.employment_day + r(3, 20), cadence)
            self._checkins(p.employment_day, closed=p.checkins_done)
            return
        # support: a history, then the situation of today
        pattern = s._pick("meeting_pattern",
                          ["ok", "overdue", "unrecorded", "missed_not_rescheduled", "missed_rescheduled"],
                          [70, 10, 7, 6, 7])
        if pattern == "ok":
            anchor = r(3, int(cadence * 0.8))
            self._history(first_day, anchor, cadence)
            self._meeting(-r(1, max(2, cadence - anchor - 1)), "planned")
        elif pattern == "overdue":
            self._history(first_day, cadence + r(4, 45), cadence)
        elif pattern == "unrecorded":
            anchor = r(max(12, cadence // 3), cadence - 1)
            self._history(first_day, anchor, cadence)
            self._meeting(r(4, min(15, anchor - 4)), "planned")  # never marked held or missed
        elif pattern == "missed_not_rescheduled":
            anchor = r(22, cadence + 20)
            self._history(first_day, anchor, cadence)
            self._meeting(r(10, min(30, anchor - 4)), "missed")
        else:
            anchor = r(15, cadence)
            self._history(first_day, anchor, cadence)
            self._meeting(r(3, 6), "missed")
            self._meeting(-r(2, 10), "planned")

    def _checkins(self, employment_day: int, closed: bool) -> None:
        """Check-ins at +1/+3/+6 months; `closed`: all of them held (they are all in the past)."""
        s = self.s
        started = s.day(employment_day)
        for months in self.ctx.checkin_months:
            day = (s.today - add_months(started, months)).days
            if day == 0:
                day = -1
            if closed or day >= 4:
                status = "held" if closed else s._pick("checkin_past", ["planned", "held", "missed"],
                                                       [14, 78, 8])
            else:
                status = "planned"
            self._meeting(day, status, kind="checkin", note_pool=data.CHECKIN_NOTES)
