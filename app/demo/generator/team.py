"""A pathway's referents over time, its team of partner agencies and its consent."""
from __future__ import annotations

from datetime import datetime

from app.demo import data
from app.demo.generator.common import (
    PARTNER_SHARES,
    agency_label,
)


class TeamMixin:
    """Part of `PathwayBuilder`."""

    # ---- referent history ---------------------------------------------------------------------

    def _choose_handover(self) -> None:
        p, s = self.plan, self.s
        if p.referent is None or p.stage not in ("support", "employed", "closed"):
            return
        if p.assign_day is None or p.assign_day - self.end_day < 90:
            return
        if not s._pick("handover", [True, False], [15, 85]):
            return
        self.handover_day = s._randint(self.end_day + 30, p.assign_day - 30)
        same_agency = [u for u in self.ctx.referents[p.lead_kind] if u != p.referent]
        if same_agency and s._chance(0.7):
            self.previous = (self.rng.choice(same_agency), self.lead_agency)
        else:
            other_kinds = [k for k in self.ctx.lead_kinds if k != p.lead_kind]
            if not other_kinds:
                self.handover_day = None
                s._defer("handover")
                return
            kind = self.rng.choice(other_kinds)
            self.previous = (self.rng.choice(self.ctx.referents[kind]), self.ctx.agency_by_kind[kind])

    def _assignment_row(self, user: int, agency: int, started: datetime, ended: datetime | None,
                        note: str | None, by: int | None) -> None:
        self.w.add("referent_assignment", (  # bulk.COLUMNS["referent_assignment"]
            self.w.new_id("referent_assignment"), self.tid, self.pid, user, agency, by, started, ended, note,
        ))

    def _assignments(self) -> None:
        p, s = self.plan, self.s
        if p.referent is None:
            return
        first_at = max(s.at(p.assign_day), self.started_at)
        # As close_pathway does: closing a pathway ends its referent's assignment.
        ends = (lambda start: max(start, self.end_at)) if self.closed else (lambda start: None)
        if self.previous is not None and self.handover_day is not None:
            prev_user, prev_agency = self.previous
            handover_at = s.at(self.handover_day, 10 * 60)
            self._assignment_row(prev_user, prev_agency, first_at, handover_at, None,
                                 self.ctx.manager_by_agency.get(prev_agency, prev_user))
            self._assignment_row(p.referent, self.lead_agency, handover_at, ends(handover_at),
                                 self.rng.choice(data.HANDOVER_NOTES),
                                 self.ctx.manager_by_agency.get(self.lead_agency, prev_user))
            if prev_agency != self.lead_agency:
                self._entry(prev_user, prev_agency, "reorientation", "team",
                            "Réorientation vers " + agency_label(self.plan.lead_kind)
                            + " ; passage de relais au nouveau référent.", handover_at)
        else:
            self._assignment_row(p.referent, self.lead_agency, first_at, ends(first_at), None,
                                 self.ctx.manager_by_agency.get(self.lead_agency, p.referent))

    # ---- team and consent ---------------------------------------------------------------------

    def _members(self) -> None:
        p, s = self.plan, self.s
        if p.referent is None or p.stage == "intake":
            return
        shares = PARTNER_SHARES.get(p.lead_kind, {})
        kinds = [k for k in shares if k in self.ctx.agency_by_kind and k != p.lead_kind]
        if not kinds:
            return
        wanted = s._pick("team_size", [2, 0, 1, 3], [30, 20, 35, 15])
        weights = [shares[k] for k in kinds]
        chosen: list[str] = []
        while len(chosen) < min(wanted, len(kinds)):
            kind = self.rng.choices(kinds, weights)[0]
            if kind not in chosen:
                chosen.append(kind)
        first_day = p.assign_day if p.assign_day is not None else p.start_day
        for kind in chosen:
            self._add_member(self.ctx.agency_by_kind[kind], s._randint(max(self.end_day + 1, first_day - 20),
                                                                       first_day))

    def _add_member(self, agency: int, day: int) -> None:
        s = self.s
        added_at = max(s.at(day), self.started_at)
        user, _ = self.who(day)
        removed_at = removed_by = None
        if self.members and s._chance(0.04) and day - self.end_day > 20:
            removed_at = s.at(s._randint(self.end_day + 1, day - 10))
            removed_by = user
        self.w.add("pathway_member", (  # bulk.COLUMNS["pathway_member"]
            self.w.new_id("pathway_member"), self.tid, self.pid, agency, added_at, user, removed_at, removed_by,
        ))
        if removed_at is None:
            self.members.append(agency)
            self.member_day[agency] = day

    def _consent(self) -> None:
        p, s = self.plan, self.s
        if self.members:
            state = s._pick("consent", ["active", "withdrawn", "none"], [82, 8, 10])
        else:
            state = "active" if s._chance(0.35) else "none"
        if state == "none":
            return
        day = min([p.assign_day if p.assign_day is not None else p.start_day, *self.member_day.values()])
        user, _ = self.who(day)
        given_at = max(s.at(day, 9 * 60), self.started_at)
        withdrawn_at = withdrawn_by = None
        if state == "withdrawn":
            if day - self.end_day < 10:
                s._defer("consent")
                state = "active"
            else:
                withdrawn_day = s._randint(self.end_day + 1, day - 5)
                withdrawn_at = s.at(withdrawn_day)
                withdrawn_by = self.who(withdrawn_day)[0]
        self.consent_active = state == "active"
        self.w.add("consent", (  # bulk.COLUMNS["consent"]
            self.w.new_id("consent"), self.tid, self.pid, given_at, "written" if s._chance(0.8) else "oral", user,
            withdrawn_at, withdrawn_by,
        ))
