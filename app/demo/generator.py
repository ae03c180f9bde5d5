"""The demo data set: one fictional département (99) and a small neighbour (98).

Everything is derived from a seed and a reference time `now`, so the same seed and the same `now`
give the same rows, and the demo always has overdue and upcoming items whatever the day. Dates are
computed in "days ago" relative to `now` (Paris calendar days); meetings fall on weekdays.

The first people generated are the interesting ones: every decision point (`_pick`) first walks
through all its options in order before drawing at random, so even a small `--people` covers every
stage and every alert-relevant situation (the tests rely on it).
"""
from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from faker import Faker
from sqlalchemy.orm import Session

from app.accounts.passwords import hash_password
from app.core.timefmt import PARIS
from app.demo import data
from app.demo.bulk import BulkWriter
from app.pathways.search import normalise, search_key

UTC = UTC
T = TypeVar("T")

NEIGHBOUR_PEOPLE = 8
CASELOAD_TARGET = 35  # open pathways per referent the demo aims at

# Share of pathways led by each agency kind (when a referent is named).
LEAD_SHARES = {
    "france_travail": 34,
    "departmental_council": 32,
    "mission_locale": 12,
    "cap_emploi": 6,
    "ccas": 7,
    "association": 9,
}
MIN_REFERENTS = {"france_travail": 2, "departmental_council": 2}
# Who opens a pathway before any referent is named.
CREATING_SHARES = {"departmental_council": 55, "france_travail": 25, "ccas": 12, "mission_locale": 8}
# Which partners usually join the team, by lead agency kind.
PARTNER_SHARES = {
    "departmental_council": {"caf": 35, "france_travail": 25, "ccas": 15, "association": 15, "cap_emploi": 5,
                             "mission_locale": 5},
    "france_travail": {"departmental_council": 30, "caf": 25, "association": 20, "cap_emploi": 10,
                       "ccas": 15},
    "mission_locale": {"france_travail": 30, "caf": 25, "association": 25, "ccas": 20},
    "cap_emploi": {"france_travail": 40, "caf": 25, "departmental_council": 20, "ccas": 15},
    "ccas": {"departmental_council": 35, "caf": 35, "association": 30},
    "association": {"departmental_council": 40, "caf": 25, "france_travail": 20, "ccas": 15},
}
CONTRACT_KIND = {
    "departmental_council": "cer",
    "ccas": "cer",
    "association": "cer",
    "france_travail": "ppae",
    "cap_emploi": "ppae",
}

SCENARIOS = ["intake_new", "intake_no_referent", "intake_late", "diagnosis", "support", "employed",
             "closed", "closed_then_open"]
SCENARIO_WEIGHTS = [6, 3, 3, 8, 50, 12, 10, 8]
CLOSURE_REASONS = ["employment_sustained", "training", "moved_away", "rights_ended", "no_contact",
                   "person_request", "other", "deceased"]
CLOSURE_WEIGHTS = [30, 12, 10, 14, 14, 8, 10, 2]
CATEGORIES = list(data.BARRIER_TITLES)
DECLINE_REASONS = ["not_in_scope", "no_capacity", "already_followed", "conditions_not_met",
                   "person_unreachable", "other"]
EMPLOYMENT_TYPES = ["cdi", "cdd", "interim", "iae", "apprenticeship", "self_employed", "other"]
EMPLOYMENT_WEIGHTS = [20, 35, 20, 15, 4, 3, 3]
SLOTS = [time(h, m) for h in range(9, 17) for m in (0, 30) if (h, m) != (12, 30)]


def add_months(day: date, months: int) -> date:
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    last_day = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31,
                31, 30, 31, 30, 31][month - 1]
    return date(year, month, min(day.day, last_day))


def slug(text: str) -> str:
    return normalise(text).replace(" ", "-")


@dataclass
class TerritoryContext:
    territory_id: int
    agency_by_kind: dict[str, int]
    kind_by_agency: dict[int, str]
    referents: dict[str, list[int]]  # lead agency kind → users who can be referents
    users_by_agency: dict[int, list[int]]  # professionals (authors, partners answering)
    manager_by_agency: dict[int, int]
    cities: list[tuple[str, str]]
    cadence: dict[str | None, int]
    checkin_months: list[int]
    lead_kinds: list[str] = field(default_factory=list)
    lead_weights: list[int] = field(default_factory=list)
    creating_kinds: list[str] = field(default_factory=list)
    creating_weights: list[int] = field(default_factory=list)


@dataclass
class Plan:
    """What one pathway will look like; days are counted back from today (0 = today)."""

    scenario: str
    lead_kind: str
    stage: str
    start_day: int
    referent: int | None = None
    orientation: str | None = None
    oriented_day: int | None = None
    assign_day: int | None = None
    closed_day: int | None = None
    closure_reason: str | None = None
    employment_day: int | None = None
    checkins_done: bool = False  # every post-employment check-in held


class DemoSeeder:
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

    # ---- territories, agencies, users ---------------------------------------------------------

    def _territory_row(self, code: str, name: str) -> int:
        tid = self.w.new_id("territory")
        created = self.now - timedelta(days=730)
        self.w.add("territory", {
            "id": tid, "code": code, "name": name,
            "cadence_professional_days": 30, "cadence_socio_professional_days": 30,
            "cadence_social_days": 60, "grace_days": 2, "reschedule_days": 7, "no_referent_days": 30,
            "orientation_delay_days": 42, "contract_delay_days": 30, "contract_ending_days": 30,
            "referral_answer_days": 10, "checkin_months": [1, 3, 6], "retention_months": 24,
            "audit_retention_months": 12, "created_at": created, "updated_at": created, "version": 1,
        })
        return tid

    def _agency_row(self, tid: int, kind: str, name: str, email: str, phone: str) -> int:
        aid = self.w.new_id("agency")
        created = self.now - timedelta(days=730)
        self.w.add("agency", {
            "id": aid, "territory_id": tid, "name": name, "kind": kind, "email": email, "phone": phone,
            "is_active": True, "created_at": created, "updated_at": created, "version": 1,
        })
        return aid

    def _user_row(self, tid: int, aid: int, email: str, first: str, last: str, role: str,
                  job_title: str | None) -> int:
        uid = self.w.new_id("user_account")
        created = self.now - timedelta(days=self.rng.randint(200, 700))
        self.w.add("user_account", {
            "id": uid, "territory_id": tid, "agency_id": aid, "email": email.lower(),
            "password_hash": self.password_hash, "first_name": first, "last_name": last,
            "job_title": job_title, "role": role, "is_active_account": True, "last_login_at": None,
            "created_at": created, "updated_at": created, "version": 1,
        })
        self.user_agency[uid] = aid
        return uid

    def _make_context(self, tid: int, agency_by_kind: dict[str, int], cities: list[tuple[str, str]]
                      ) -> TerritoryContext:
        ctx = TerritoryContext(
            territory_id=tid,
            agency_by_kind=agency_by_kind,
            kind_by_agency={aid: kind for kind, aid in agency_by_kind.items()},
            referents={},
            users_by_agency={aid: [] for aid in agency_by_kind.values()},
            manager_by_agency={},
            cities=cities,
            cadence={"professional": 30, "socio_professional": 30, "social": 60, None: 30},
            checkin_months=[1, 3, 6],
        )
        ctx.lead_kinds = [k for k in LEAD_SHARES if k in agency_by_kind]
        ctx.lead_weights = [LEAD_SHARES[k] for k in ctx.lead_kinds]
        ctx.creating_kinds = [k for k in CREATING_SHARES if k in agency_by_kind] or ctx.lead_kinds
        ctx.creating_weights = [CREATING_SHARES.get(k, 1) for k in ctx.creating_kinds]
        return ctx

    def _add_account(self, ctx: TerritoryContext, account: tuple[str, str, str, str, str, str],
                     emails: set[str]) -> None:
        email, first, last, role, kind, job = account
        aid = ctx.agency_by_kind[kind]
        uid = self._user_row(ctx.territory_id, aid, email, first, last, role, job)
        emails.add(email)
        if role == "professional":
            ctx.users_by_agency[aid].append(uid)
            if kind in LEAD_SHARES:
                ctx.referents.setdefault(kind, []).append(uid)
        elif role == "manager":
            ctx.manager_by_agency.setdefault(aid, uid)

    def _demo_territory(self) -> TerritoryContext:
        tid = self._territory_row(data.DEMO_TERRITORY_CODE, data.DEMO_TERRITORY_NAME)
        agencies = {kind: self._agency_row(tid, kind, *spec) for kind, spec in data.DEMO_AGENCIES.items()}
        ctx = self._make_context(tid, agencies, data.DEMO_CITIES)
        emails: set[str] = set()
        for account in data.NAMED_ACCOUNTS:
            self._add_account(ctx, account, emails)
        # More referents so that caseloads stay realistic whatever --people.
        open_with_referent = self.people * 0.85
        total_share = sum(LEAD_SHARES.values())
        for kind, share in LEAD_SHARES.items():
            wanted = max(MIN_REFERENTS.get(kind, 1),
                         round(open_with_referent * share / total_share / CASELOAD_TARGET))
            while len(ctx.referents.get(kind, [])) < wanted:
                self._extra_user(ctx, kind, emails, referent=True)
        # Partner-only agencies (CAF) get a few more people to answer referrals.
        for kind in data.DEMO_AGENCIES:
            if kind not in LEAD_SHARES:
                for _ in range(self.people // 4000):
                    self._extra_user(ctx, kind, emails, referent=False)
        return ctx

    def _extra_user(self, ctx: TerritoryContext, kind: str, emails: set[str], referent: bool) -> None:
        female = self._chance(0.65)  # the social professions are mostly women
        first = self.fake.first_name_female() if female else self.fake.first_name_male()
        last = self.fake.last_name()
        base = f"{slug(first)}.{slug(last)}"
        email, n = f"{base}@{data.DEMO_EMAIL_DOMAIN}", 1
        while email in emails:
            n += 1
            email = f"{base}{n}@{data.DEMO_EMAIL_DOMAIN}"
        emails.add(email)
        aid = ctx.agency_by_kind[kind]
        uid = self._user_row(ctx.territory_id, aid, email, first, last, "professional",
                             self.rng.choice(data.JOB_TITLES_BY_KIND[kind]))
        ctx.users_by_agency[aid].append(uid)
        if referent:
            ctx.referents.setdefault(kind, []).append(uid)

    def _neighbour_territory(self) -> TerritoryContext:
        tid = self._territory_row(data.NEIGHBOUR_TERRITORY_CODE, data.NEIGHBOUR_TERRITORY_NAME)
        name, email, phone, kind = data.NEIGHBOUR_AGENCY
        ctx = self._make_context(tid, {kind: self._agency_row(tid, kind, name, email, phone)},
                                 data.NEIGHBOUR_CITIES)
        self._add_account(ctx, data.NEIGHBOUR_ACCOUNT, set())
        return ctx

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

    def _person(self, ctx: TerritoryContext) -> None:
        r = self._randint
        scenario = self._pick("scenario", SCENARIOS, SCENARIO_WEIGHTS)
        if scenario == "closed_then_open":
            reopened = self._pick("reopened", ["support", "intake_new", "diagnosis", "employed"],
                                  [60, 15, 15, 10])
            current = self._plan_open(ctx, reopened)
            old_kind = "mission_locale" if current.lead_kind == "mission_locale" else None
            plans = [self._plan_closed(ctx, current.start_day + r(10, 60), old_kind), current]
        elif scenario == "closed":
            plans = [self._plan_closed(ctx, r(20, 400))]
        else:
            plans = [self._plan_open(ctx, scenario)]

        young = any(p.lead_kind == "mission_locale" for p in plans)
        earliest = max(p.start_day for p in plans)
        female = self._chance(0.52)
        fake = self.fake
        first = fake.first_name_female() if female else fake.first_name_male()
        last = fake.last_name()
        birth_name = fake.last_name() if female and not young and self._chance(0.15) else None
        postal_code, city = self.rng.choice(ctx.cities)
        kinds = {p.lead_kind for p in plans}
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
        ben_id = self.w.new_id("beneficiary")
        created = self.at(earliest)
        self.w.add("beneficiary", {
            "id": ben_id, "territory_id": ctx.territory_id, "first_name": first, "last_name": last,
            "birth_name": birth_name, "birth_date": self._birth_date(young, earliest),
            "email": (f"{slug(first)}.{slug(last)}{r(1, 99) if self._chance(0.5) else ''}"
                      f"@{self.rng.choice(data.EMAIL_DOMAINS)}") if self._chance(0.6) else None,
            "phone": (f"0{self.rng.choice('67')} {r(10, 99)} {r(10, 99)} {r(10, 99)} {r(10, 99)}"
                      if self._chance(0.85) else None),
            "address": fake.street_address() if self._chance(0.92) else None,
            "postal_code": postal_code, "city": city,
            "caf_number": f"{r(1000000, 9999999)}" if "rsa" in rights or self._chance(0.5) else None,
            "france_travail_id": (f"{r(1000000, 9999999)}{self.rng.choice('ABCDEFGHJKLMNPRSTUVWXYZ')}"
                                  if kinds & {"france_travail", "cap_emploi", "mission_locale"}
                                  or self._chance(0.5) else None),
            "rights": rights,
            "search_name": search_key(last, first, birth_name),
            "anonymised_at": None, "created_at": created, "updated_at": created, "version": 1,
        })
        for plan in plans:
            _PathwayBuilder(self, ctx, ben_id, plan).build()


class _PathwayBuilder:
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
        self.w.add("pathway", {
            "id": self.pid, "territory_id": self.tid, "beneficiary_id": self.ben_id,
            "lead_agency_id": self.lead_agency, "referent_id": p.referent, "stage": p.stage,
            "orientation": p.orientation, "oriented_at": oriented_at, "started_at": self.started_at,
            "closed_at": closed_at, "closure_reason": p.closure_reason,
            "closure_note": data.CLOSURE_NOTES[p.closure_reason] if p.closure_reason else None,
            "employment_started_on": employment and employment["employment_started_on"],
            "employment_contract_type": employment and employment["employment_contract_type"],
            "employer": employment and employment["employer"],
            "job_title": employment and employment["job_title"],
            "created_at": self.started_at, "updated_at": closed_at or oriented_at or self.started_at,
            "version": 1,
        })
        self._assignments()
        self._members()
        self._consent()
        self._contracts()
        self._meetings()
        self._barriers()
        self._entries(oriented_at)

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
        self.w.add("referent_assignment", {
            "id": self.w.new_id("referent_assignment"), "territory_id": self.tid, "pathway_id": self.pid,
            "user_id": user, "agency_id": agency, "assigned_by_id": by, "started_at": started,
            "ended_at": ended, "note": note,
        })

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
                            "Réorientation vers " + _agency_label(self.plan.lead_kind)
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
        self.w.add("pathway_member", {
            "id": self.w.new_id("pathway_member"), "territory_id": self.tid, "pathway_id": self.pid,
            "agency_id": agency, "added_at": added_at, "added_by_id": user, "removed_at": removed_at,
            "removed_by_id": removed_by,
        })
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
        self.w.add("consent", {
            "id": self.w.new_id("consent"), "territory_id": self.tid, "pathway_id": self.pid,
            "given_at": given_at, "method": "written" if s._chance(0.8) else "oral",
            "recorded_by_id": user, "withdrawn_at": withdrawn_at, "withdrawn_by_id": withdrawn_by,
        })

    # ---- contracts ----------------------------------------------------------------------------

    def _contracts(self) -> None:
        p, s = self.plan, self.s
        if p.oriented_day is None or p.referent is None:
            return
        if p.lead_kind == "mission_locale":
            kind = "cej" if s._chance(0.7) else "pacea"
        else:
            kind = CONTRACT_KIND.get(p.lead_kind, "cer")
        if self.closed:
            pattern = "ok" if s._chance(0.85) else "missing"
        elif p.stage == "diagnosis":
            pattern = "ok" if s._chance(0.3) else "missing"
        else:
            pattern = s._pick("contract", ["ok", "signed_late", "ending_soon", "missing"], [62, 12, 12, 14])
        if pattern == "missing":
            return
        r = s._randint
        room = p.oriented_day - self.end_day - 1  # days between orientation and the last day
        if pattern == "signed_late":
            if room < 36:
                s._defer("contract")
                pattern = "ok"
            else:
                signed_day = p.oriented_day - r(36, min(90, room))
        if pattern != "signed_late":
            signed_day = p.oriented_day - r(min(3, room), min(28, room)) if room >= 1 else p.oriented_day
        today = s.today
        stop = s.day(self.end_day) if self.closed else today
        signed = s.day(max(signed_day, 0))
        starts = signed
        while True:
            if kind == "ppae":
                months = None if s._chance(0.5) else 12
            elif kind == "cer":
                months = self.rng.choice([6, 12])
            elif kind == "cej":
                months = 12
            else:
                months = self.rng.choice([12, 24])
            ends = add_months(starts, months) - timedelta(days=1) if months else None
            if ends is None or ends >= stop:
                if not self.closed:
                    if pattern == "ending_soon":
                        ends = today + timedelta(days=r(1, 29))
                    elif ends is not None and ends <= today + timedelta(days=30):
                        ends = add_months(ends, 3)  # prolonged by an amendment (avenant)
                self._contract_row(kind, signed, starts, ends)
                break
            self._contract_row(kind, signed, starts, ends)
            # Renewal, signed shortly before the previous one ends.
            signed = max(min(ends - timedelta(days=r(0, 10)), today), starts)
            starts = ends + timedelta(days=1)

    def _contract_row(self, kind: str, signed: date, starts: date, ends: date | None) -> None:
        s = self.s
        days_ago = (s.today - signed).days
        recorded = s.at(max(days_ago, 0), 11 * 60)
        self.w.add("contract", {
            "id": self.w.new_id("contract"), "territory_id": self.tid, "pathway_id": self.pid,
            "kind": kind, "signed_on": signed, "starts_on": starts, "ends_on": ends,
            "recorded_by_id": self.who(max(days_ago, 0))[0], "created_at": recorded,
            "updated_at": recorded, "version": 1,
        })

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
        self.w.add("meeting", {
            "id": self.w.new_id("meeting"), "territory_id": self.tid, "pathway_id": self.pid,
            "organizer_id": user, "agency_id": agency, "kind": kind, "scheduled_at": scheduled,
            "duration_minutes": duration, "channel": channel, "location": location, "status": status,
            "notes": notes, "notes_visibility": visibility, "recorded_at": recorded_at,
            "recorded_by_id": recorded_by, "cancelled_at": cancelled_at,
            "cancellation_reason": cancellation, "created_at": created,
            "updated_at": recorded_at or cancelled_at or created, "version": 1,
        })

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
        r = s._randint
        end = self.end_day
        created_day = r(end + 1, first_day) if first_day > end + 1 else first_day
        # A partner who could take it on (a member of the team, or joining it now).
        partner = None
        suited = [self.ctx.agency_by_kind[k] for k in data.PARTNERS_BY_CATEGORY[category]
                  if k in self.ctx.agency_by_kind and self.ctx.agency_by_kind[k] != self.lead_agency]
        in_team = [a for a in suited if a in self.members]
        if in_team:
            partner = rng.choice(in_team)
        elif suited and len(self.members) < 3 and rng.random() < 0.4:
            partner = suited[0]
            self._add_member(partner, max(created_day, end + 1))
            if partner not in self.members:
                partner = None
        referral = None
        if partner is not None and rng.random() < 0.55:
            if self.closed:
                referral = rng.choice(("done", "done", "declined"))
            else:
                referral = s._pick("referral", ["sent_old", "sent_recent", "accepted", "declined", "done"],
                                   [12, 12, 30, 14, 32])
        # Status of the barrier itself (consistent with the referral's answer).
        if self.closed:
            status = "lifted" if rng.random() < 0.7 else "abandoned"
        elif referral == "done":
            status = "lifted"
        elif referral in ("sent_old", "sent_recent"):
            status = "open"
        elif referral == "accepted":
            status = "in_progress"
        elif referral == "declined":
            status = rng.choice(("open", "in_progress"))
        else:
            status = s._pick("barrier_status", ["open", "in_progress", "lifted", "abandoned"],
                             [35, 30, 25, 10])
        # Referral timing (days ago): after the barrier was created and the partner joined the team.
        sent_day = None
        if referral is not None:
            oldest = min(created_day, self.member_day.get(partner, created_day))
            if referral == "sent_old" and oldest < 11:
                s._defer("referral")
                referral = "sent_recent"
            if referral == "sent_old":
                sent_day = r(11, min(40, oldest))
            elif referral == "sent_recent":
                sent_day = r(1, min(9, oldest)) if oldest >= 1 else 0
            elif oldest - end >= 3:
                sent_day = r(end + 2, oldest)
            else:
                referral = None
        created_at = max(s.at(created_day), self.started_at)
        sent_at = max(s.at(sent_day), created_at) if sent_day is not None else None
        # Due date and lifting.
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
        if rng.random() < 0.1:
            due = None
        barrier_id = self.w.new_id("barrier")
        self.w.add("barrier", {
            "id": barrier_id, "territory_id": self.tid, "pathway_id": self.pid, "category": category,
            "title": rng.choice(data.BARRIER_TITLES[category]),
            "description": rng.choice(data.BARRIER_DESCRIPTIONS),
            "owner_agency_id": partner if referral in ("accepted", "done") else self.lead_agency,
            "due_on": due, "status": status, "lifted_at": lifted_at,
            "created_by_id": self.who(created_day)[0],
            "created_at": created_at, "updated_at": lifted_at or created_at, "version": 1,
        })
        if referral is not None and sent_at is not None and sent_day is not None and partner is not None:
            self._referral(barrier_id, partner, referral, sent_day, sent_at, lifted_at)

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
        self.w.add("referral", {
            "id": self.w.new_id("referral"), "territory_id": self.tid, "barrier_id": barrier_id,
            "agency_id": partner, "status": status, "message": rng.choice(data.REFERRAL_MESSAGES),
            "sent_at": sent_at, "sent_by_id": self.who(sent_day)[0], "answered_at": answered_at,
            "answered_by_id": answered_by, "decline_reason": decline, "answer_comment": comment,
            "created_at": sent_at, "updated_at": answered_at or sent_at, "version": 1,
        })

    # ---- journal ------------------------------------------------------------------------------

    def _entry(self, author: int, agency: int, kind: str, visibility: str, body: str,
               occurred_at: datetime) -> None:
        occurred_at = max(min(occurred_at, self.end_at), self.started_at)
        self.w.add("entry", {
            "id": self.w.new_id("entry"), "territory_id": self.tid, "pathway_id": self.pid,
            "author_id": author, "author_agency_id": agency, "kind": kind, "visibility": visibility,
            "body": body, "occurred_at": occurred_at,
            "created_at": min(occurred_at + timedelta(minutes=self.rng.randint(1, 240)), self.s.now),
        })

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


def _agency_label(kind: str) -> str:
    return {
        "departmental_council": "le conseil départemental",
        "france_travail": "France Travail",
        "mission_locale": "la mission locale",
        "cap_emploi": "Cap emploi",
        "ccas": "le CCAS",
        "association": "l'association Tremplin",
        "caf": "la CAF",
    }[kind]


def parse_now(value: str | None) -> datetime:
    """`--now`: ISO 8601 (naive means UTC) or None for the current time, to the second."""
    if not value:
        return datetime.now(UTC).replace(microsecond=0)
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


