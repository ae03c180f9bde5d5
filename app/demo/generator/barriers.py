"""A pathway's barriers and the referrals sent to lift them."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from app.demo import data
from app.demo.generator.common import (
    CATEGORIES,
    DECLINE_REASONS,
)


class BarriersMixin:
    """Part of `PathwayBuilder`."""

    # ---- barriers and referrals ---------------------------------------------------------------

    def _barriers(self) -> None:
        p, s = self.plan, self.s
        if p.referent is None or (p.stage == "intake" and not s._chance(0.3)):
            return
        count = self.rng.choices((0, 1, 2, 3, 4), (14, 30, 30, 16, 10))[0]
        first_day = p.assign_day if p.assign_day is not None else p.start_day
        used: set[str] = set()
        for _ in range(count):
            category = s._pick("barrier_category", CATEGORIES)
            if category in used:
                continue
            used.add(category)
            self._barrier(category, first_day)

    def _barrier(self, category: str, first_day: int) -> None:
        s, rng = self.s, self.rng
        end = self.end_day
        created_day = s._randint(end + 1, first_day) if first_day > end + 1 else first_day
        partner = self._barrier_partner(category, created_day)
        referral = self._referral_kind(partner)
        status = self._barrier_status(referral)
        referral, sent_day = self._referral_day(referral, partner, created_day)
        created_at = max(s.at(created_day), self.started_at)
        sent_at = max(s.at(sent_day), created_at) if sent_day is not None else None
        due, lifted_at = self._due_and_lifted(status, created_day, sent_day, created_at, sent_at)
        barrier_id = self.w.new_id("barrier")
        self.w.add("barrier", (  # bulk.COLUMNS["barrier"]
            barrier_id, self.tid, self.pid, category, rng.choice(data.BARRIER_TITLES[category]),
            rng.choice(data.BARRIER_DESCRIPTIONS),
            partner if referral in ("accepted", "done") else self.lead_agency,  # owner_agency_id
            due, status, lifted_at, self.who(created_day)[0], created_at, lifted_at or created_at, 1,
        ))
        if referral is not None and sent_at is not None and sent_day is not None and partner is not None:
            self._referral(barrier_id, partner, referral, sent_day, sent_at, lifted_at)

    def _barrier_partner(self, category: str, created_day: int) -> int | None:
        """A partner who could take it on (a member of the team, or joining it now)."""
        rng = self.rng
        suited = [self.ctx.agency_by_kind[k] for k in data.PARTNERS_BY_CATEGORY[category]
                  if k in self.ctx.agency_by_kind and self.ctx.agency_by_kind[k] != self.lead_agency]
        in_team = [a for a in suited if a in self.members]
        if in_team:
            return rng.choice(in_team)
        if suited and len(self.members) < 3 and rng.random() < 0.4:
            partner = suited[0]
            self._add_member(partner, max(created_day, self.end_day + 1))
            return partner if partner in self.members else None
        return None

    def _referral_kind(self, partner: int | None) -> str | None:
        if partner is None or self.rng.random() >= 0.55:
            return None
        if self.closed:
            return self.rng.choice(("done", "done", "declined"))
        return self.s._pick("referral", ["sent_old", "sent_recent", "accepted", "declined", "done"],
                            [12, 12, 30, 14, 32])

    def _barrier_status(self, referral: str | None) -> str:
        """The status of the barrier itself, consistent with the referral's answer."""
        rng = self.rng
        if self.closed:
            return "lifted" if rng.random() < 0.7 else "abandoned"
        if referral == "done":
            return "lifted"
        if referral in ("sent_old", "sent_recent"):
            return "open"
        if referral == "accepted":
            return "in_progress"
        if referral == "declined":
            return rng.choice(("open", "in_progress"))
        return self.s._pick("barrier_status", ["open", "in_progress", "lifted", "abandoned"], [35, 30, 25, 10])

    def _referral_day(
        self, referral: str | None, partner: int | None, created_day: int
    ) -> tuple[str | None, int | None]:
        """When the referral was sent (days ago): after the barrier was created and the partner joined
        the team; no referral when there was no time for one."""
        if referral is None:
            return None, None
        s, r, end = self.s, self.s._randint, self.end_day
        oldest = min(created_day, self.member_day.get(partner, created_day))
        if referral == "sent_old" and oldest < 11:
            s._defer("referral")
            referral = "sent_recent"
        if referral == "sent_old":
            return referral, r(11, min(40, oldest))
        if referral == "sent_recent":
            return referral, r(1, min(9, oldest)) if oldest >= 1 else 0
        if oldest - end >= 3:
            return referral, r(end + 2, oldest)
        return None, None

    def _due_and_lifted(self, status: str, created_day: int, sent_day: int | None, created_at: datetime,
                        sent_at: datetime | None) -> tuple[date | None, datetime | None]:
        s, r, end = self.s, self.s._randint, self.end_day
        lifted_at = None
        if status in ("open", "in_progress"):
            if created_day >= 3 and s._pick("barrier_due", ["past", "future"], [30, 70]) == "past":
                due = s.day(r(1, min(60, created_day - 1)))
            else:
                due = s.today + timedelta(days=r(5, 90))
        else:
            due = s.day(created_day) + timedelta(days=r(20, 120))
            if status == "lifted":
                floor = sent_day if sent_day is not None else created_day
                settled_day = r(end, floor - 1) if floor - 1 > end else end
                lifted_at = min(max(s.at(settled_day), (sent_at or created_at) + timedelta(hours=1)),
                                self.end_at)
                lifted_at = max(lifted_at, created_at)
        if self.rng.random() < 0.1:
            due = None
        return due, lifted_at

    def _referral(self, barrier_id: int, partner: int, kind: str, sent_day: int, sent_at: datetime,
                  lifted_at: datetime | None) -> None:
        rng = self.rng
        status = "sent" if kind.startswith("sent") else kind
        answered_at = answered_by = decline = comment = None
        if status != "sent":
            if status == "done" and lifted_at is not None:
                answered_at = max(lifted_at, sent_at)  # the partner closes the loop when it is lifted
            else:
                answer = sent_at + timedelta(hours=rng.randint(3, 9 * 24))
                answered_at = max(min(answer, self.end_at), sent_at)
            answered_by = rng.choice(self.ctx.users_by_agency[partner])
            if status == "declined":
                decline = rng.choice(DECLINE_REASONS)
                comment = data.DECLINE_COMMENTS[decline]
            elif status == "accepted":
                comment = rng.choice(data.ACCEPT_COMMENTS)
            else:
                comment = rng.choice(data.DONE_COMMENTS)
        self.w.add("referral", (  # bulk.COLUMNS["referral"]
            self.w.new_id("referral"), self.tid, barrier_id, partner, status, rng.choice(data.REFERRAL_MESSAGES),
            sent_at, self.who(sent_day)[0], answered_at, answered_by, decline, comment, sent_at,
            answered_at or sent_at, 1,
        ))
