"""`PathwayBuilder`: one pathway and everything hanging from it, one mixin per concern."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.demo import data
from app.demo.bulk import COLUMNS
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


OPEN_BARRIER_STATUSES = ("open", "in_progress")  # app/followup/summary.py


class _SummaryWriter:
    """The seeder's writer as one pathway's builder sees it: every row goes through, but the pathway
    and its team members wait for the end of the pathway, when its follow-up summary is known
    (app/followup/summary.py: earliest planned meeting, last held one, open barriers; no alert yet)
    and their copy on the active members with it. Written with the rows, the summary costs nothing;
    rebuilt after the load it was an UPDATE of every pathway and every membership (minutes at 1 M)."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer
        self.next_meeting_at: datetime | None = None
        self.last_held_at: datetime | None = None
        self.open_barriers = 0
        self.pathway: tuple[Any, ...] | None = None
        self.members: list[tuple[Any, ...]] = []

    def new_id(self, table: str) -> int:
        return self.writer.new_id(table)

    def add(self, table: str, row: tuple[Any, ...]) -> None:
        if table == "pathway":
            self.pathway = row
            return
        if table == "pathway_member":
            self.members.append(row)
            return
        if table == "meeting":
            status, at = row[_MEETING_STATUS], row[_MEETING_AT]
            if status == "planned" and (self.next_meeting_at is None or at < self.next_meeting_at):
                self.next_meeting_at = at
            elif status == "held" and (self.last_held_at is None or at > self.last_held_at):
                self.last_held_at = at
        elif table == "barrier" and row[_BARRIER_STATUS] in OPEN_BARRIER_STATUSES:
            self.open_barriers += 1
        self.writer.add(table, row)

    def finish(self, lead_agency: int, closed: bool, consent_active: bool) -> None:
        assert self.pathway is not None
        self.writer.add("pathway", (*self.pathway, self.next_meeting_at, self.last_held_at, self.open_barriers))
        for row in self.members:
            active = row[_MEMBER_REMOVED_AT] is None
            # app/followup/summary.py MEMBER_COPIES, on active members only (the others keep the defaults)
            self.writer.add("pathway_member", (
                *row, (not closed) if active else True,
                (row[_MEMBER_AGENCY] == lead_agency or consent_active) if active else False,
                self.next_meeting_at if active else None,
            ))


_MEETING_STATUS, _MEETING_AT = COLUMNS["meeting"].index("status"), COLUMNS["meeting"].index("scheduled_at")
_BARRIER_STATUS = COLUMNS["barrier"].index("status")
_MEMBER_AGENCY, _MEMBER_REMOVED_AT = COLUMNS["pathway_member"].index("agency_id"), \
    COLUMNS["pathway_member"].index("removed_at")


class PathwayBuilder(TeamMixin, ContractsMixin, MeetingsMixin, BarriersMixin, JournalMixin):
    """Emits one pathway and everything hanging from it."""

    def __init__(self, seeder: DemoSeeder, ctx: TerritoryContext, ben_id: int, plan: Plan) -> None:
        self.s = seeder
        self.w = _SummaryWriter(seeder.w)
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
        self.w.finish(self.lead_agency, self.closed, self.consent_active)
