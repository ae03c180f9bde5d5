"""The demo's people: who they are and the plan of their pathway (open or closed)."""
from __future__ import annotations

from datetime import date, timedelta

from app.demo import data
from app.demo.generator.common import (
    CLOSURE_REASONS,
    CLOSURE_WEIGHTS,
    SCENARIO_WEIGHTS,
    SCENARIOS,
    Plan,
    TerritoryContext,
    add_months,
    demo_search_key,
    slug,
)
from app.demo.generator.pathway import PathwayBuilder


class PeopleMixin:
    """Part of `DemoSeeder`: one beneficiary and the plan of their pathway."""

    # ---- people -------------------------------------------------------------------------------

    def _lead_kind(self, ctx: TerritoryContext) -> str:
        return self.rng.choices(ctx.lead_kinds, ctx.lead_weights)[0]

    def _orientation_for(self, kind: str) -> str:
        if kind in ("france_travail", "cap_emploi"):
            return "professional"
        if kind == "mission_locale":
            return "professional" if self._chance(0.6) else "socio_professional"
        if kind == "ccas":
            return "social"
        if kind == "association":
            return "socio_professional"
        return "socio_professional" if self._chance(0.6) else "social"

    def _plan_open(self, ctx: TerritoryContext, scenario: str) -> Plan:
        r = self._randint
        if scenario in ("intake_new", "intake_no_referent"):
            kind = self.rng.choices(ctx.creating_kinds, ctx.creating_weights)[0]
            start = r(1, 25) if scenario == "intake_new" else r(31, 80)
            return Plan(scenario, kind, "intake", start)
        kind = self._lead_kind(ctx)
        referent = self.rng.choice(ctx.referents[kind])
        if scenario == "intake_late":
            start = r(43, 110)
            stage = "intake" if self._chance(0.5) else "diagnosis"
            return Plan(scenario, kind, stage, start, referent, assign_day=start - r(1, 7))
        if scenario == "diagnosis":
            start = r(8, 40)
            plan = Plan(scenario, kind, "diagnosis", start, referent, assign_day=start - r(1, 5))
            if self._chance(0.5):
                plan.orientation = self._orientation_for(kind)
                plan.oriented_day = r(1, min(25, plan.assign_day))
            return plan
        orientation = self._orientation_for(kind)
        if scenario == "support":
            cadence = ctx.cadence[orientation]
            start = r(max(90, cadence + 70), 330)
            oriented = start - r(5, 40)
            return Plan(scenario, kind, "support", start, referent, orientation, oriented, oriented)
        # employed: past check-ins to record, every check-in held (closure to propose), or a new job
        phase = self._pick("employment_phase", ["checkins_due", "checkins_done", "recent"], [65, 25, 10])
        start = r(280, 480) if phase == "checkins_done" else r(200, 420)
        oriented = start - r(5, 40)
        if phase == "checkins_due":
            employment = r(40, min(180, oriented - 30))
        elif phase == "checkins_done":
            employment = r(195, min(280, oriented - 30))
        else:
            employment = r(8, 30)
        return Plan(scenario, kind, "employed", start, referent, orientation, oriented, oriented,
                    employment_day=employment, checkins_done=phase == "checkins_done")

    def _plan_closed(self, ctx: TerritoryContext, closed_day: int, kind: str | None = None) -> Plan:
        r = self._randint
        kind = kind or self._lead_kind(ctx)
        reason = self._pick("closure_reason", CLOSURE_REASONS, CLOSURE_WEIGHTS)
        employment = None
        if reason == "employment_sustained":
            employment = closed_day + r(190, 240)
            start = employment + r(45, 180)
        else:
            start = closed_day + r(100, 300)
        oriented = start - r(5, 40)
        return Plan("closed", kind, "closed", start, self.rng.choice(ctx.referents[kind]),
                    self._orientation_for(kind), oriented, oriented, closed_day, reason, employment)

    def _birth_date(self, young: bool, earliest_start_day: int) -> date:
        """Aged 16–25 today for the mission locale, 18–64 otherwise, and of age when first followed."""
        years = (earliest_start_day + 364) // 365
        if young:
            lo, hi = min(25, 16 + years), 25
        else:
            lo = min(60, 18 + years)
            hi = max(lo, 64 if self._chance(0.15) else 55)
        age = self.rng.randint(lo, hi)
        latest = add_months(self.today, -12 * age)  # turned `age` today at the latest
        earliest = add_months(self.today, -12 * (age + 1)) + timedelta(days=1)
        return earliest + timedelta(days=self.rng.randint(0, (latest - earliest).days))

    def _plans(self, ctx: TerritoryContext) -> list[Plan]:
        """The person's pathways, oldest first: one open, one closed, or a closed one then an open one."""
        r = self._randint
        scenario = self._pick("scenario", SCENARIOS, SCENARIO_WEIGHTS)
        if scenario == "closed_then_open":
            reopened = self._pick("reopened", ["support", "intake_new", "diagnosis", "employed"],
                                  [60, 15, 15, 10])
            current = self._plan_open(ctx, reopened)
            old_kind = "mission_locale" if current.lead_kind == "mission_locale" else None
            return [self._plan_closed(ctx, current.start_day + r(10, 60), old_kind), current]
        if scenario == "closed":
            return [self._plan_closed(ctx, r(20, 400))]
        return [self._plan_open(ctx, scenario)]

    def _rights(self, kinds: set[str], plans: list[Plan]) -> list[str]:
        """Social rights consistent with the agencies that lead the pathways (RSA, AAH, ASS…)."""
        rights: list[str] = []
        if kinds & {"departmental_council", "ccas", "association"} or self._chance(0.3):
            rights.append("rsa")
        if "cap_emploi" in kinds:
            rights.append("aah")
        if "france_travail" in kinds and "rsa" not in rights and self._chance(0.3):
            rights.append("ass")
        if self._chance(0.25):
            rights.append("css")
        if any(p.stage == "employed" for p in plans) and self._chance(0.5):
            rights.append("prime_activite")
        return rights

    def _person(self, ctx: TerritoryContext) -> None:
        r = self._randint
        plans = self._plans(ctx)
        young = any(p.lead_kind == "mission_locale" for p in plans)
        earliest = max(p.start_day for p in plans)
        female = self._chance(0.52)
        fake = self.fake
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        birth_name = fake.last_name() if female and not young and self._chance(0.15) else None
        postal_code, city = self.rng.choice(ctx.cities)
        kinds = {p.lead_kind for p in plans}
        rights = self._rights(kinds, plans)
        ben_id = self.w.new_id("beneficiary")
        created = self.at(earliest)
        self.w.add("beneficiary", (  # bulk.COLUMNS["beneficiary"]
            ben_id, ctx.territory_id, first, last, birth_name, self._birth_date(young, earliest),
            # email, phone, address
            (f"{slug(first)}.{slug(last)}{r(1, 99) if self._chance(0.5) else ''}"
             f"@{self.rng.choice(data.EMAIL_DOMAINS)}") if self._chance(0.6) else None,
            (f"0{self.rng.choice('67')} {r(10, 99)} {r(10, 99)} {r(10, 99)} {r(10, 99)}"
             if self._chance(0.85) else None),
            fake.street_address() if self._chance(0.92) else None,
            postal_code, city,
            # caf_number, france_travail_id
            f"{r(1000000, 9999999)}" if "rsa" in rights or self._chance(0.5) else None,
            (f"{r(1000000, 9999999)}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
             if kinds & {"france_travail", "cap_emploi", "mission_locale"} or self._chance(0.5) else None),
            rights, demo_search_key(last, first, birth_name), None, created, created, 1,
        ))
        for plan in plans:
            PathwayBuilder(self, ctx, ben_id, plan).build()
