"""`PathwayBuilder`: one pathway and everything hanging from it, one mixin per concern."""
from __future__ import annotations

from typing import TYPE_CHECKING

from app.demo import data
from app.demo.generator.barriers import BarriersMixin
from app.demo.generator.common import (
    EMPLOYMENT_TYPES,
    EMPLOYMENT_WEIGHTS,
    Plan,
    TerritoryContext,
)
from app.demo.generator.contracts import ContractsMixin
from app.demo.generator.journal import JournalMixin
from app.demo.generator.meetings import MeetingsMixin
from app.demo.generator.team import TeamMixin

if TYPE_CHECKING:
    from app.demo.generator.seeder import DemoSeeder


class PathwayBuilder(TeamMixin, ContractsMixin, MeetingsMixin, BarriersMixin, JournalMixin):
    """Emits one pathway and everything hanging from it."""

    def __init__(self, seeder: DemoSeeder, ctx: TerritoryContext, ben_id: int, plan: Plan) -> None:
        self.s = seeder
        self.w = seeder.w
        self.rng = seeder.rng
        self.ctx = ctx
        self.ben_id = ben_id
        self.plan = plan
        self.tid = ctx.territory_id
        self.lead_agency = ctx.agency_by_kind[plan.lead_kind]
        self.end_day = plan.closed_day or 0  # the last day of activity (days ago)
        self.closed = plan.closed_day is not None
        self.handover_day: int | None = None
        self.previous: tuple[int, int] | None = None  # (user, agency) before the handover
        self.members: list[int] = []  # active partner agencies
        self.member_day: dict[int, int] = {}
        self.consent_active = False

    # who was the referent on a given day (for meetings, contracts, referrals)
    def who(self, days_ago: int) -> tuple[int, int]:
        if self.previous and self.handover_day is not None and days_ago > self.handover_day:
            return self.previous
        if self.plan.referent is not None:
            return self.plan.referent, self.lead_agency
        return self._agency_user(self.lead_agency), self.lead_agency

    def _agency_user(self, agency_id: int) -> int:
        return self.rng.choice(self.ctx.users_by_agency[agency_id])

    def build(self) -> None:
        s, p = self.s, self.plan
        self.pid = self.w.new_id("pathway")
        self.started_at = s.at(p.start_day)
        oriented_at = s.at(p.oriented_day) if p.oriented_day is not None else None
        if oriented_at is not None and oriented_at < self.started_at:
            oriented_at = self.started_at
        closed_at = s.at(p.closed_day, 17 * 60) if self.closed else None
        self.end_at = closed_at or s.now
        employment = None
        if p.employment_day is not None:
            employment = {
                "employment_started_on": s.day(p.employment_day),
                "employment_contract_type": self.rng.choices(EMPLOYMENT_TYPES, EMPLOYMENT_WEIGHTS)[0],
                "employer": self.rng.choice(data.EMPLOYER_PATTERNS).format(
                    n=s.fake.last_name(), c=self.rng.choice(self.ctx.cities)[1]),
                "job_title": self.rng.choice(data.JOBS),
            }
        self._choose_handover()
        self.w.add("pathway", (  # bulk.COLUMNS["pathway"]
            self.pid, self.tid, self.ben_id, self.lead_agency, p.referent, p.stage, p.orientation, oriented_at,
            self.started_at, closed_at, p.closure_reason,
            data.CLOSURE_NOTES[p.closure_reason] if p.closure_reason else None,
            employment and employment["employment_started_on"], employment and employment["employment_contract_type"],
            employment and employment["employer"], employment and employment["job_title"],
            self.started_at, closed_at or oriented_at or self.started_at, 1,
        ))
        self._assignments()
        self._members()
        self._consent()
        self._contracts()
        self._meetings()
        self._barriers()
        self._entries(oriented_at)
