"""The demo's territories, agencies and accounts (named ones and extra professionals)."""
from __future__ import annotations

from datetime import timedelta

from app.demo import data
from app.demo.generator.common import (
    CASELOAD_TARGET,
    CREATING_SHARES,
    LEAD_SHARES,
    MIN_REFERENTS,
    TerritoryContext,
    slug,
)


class AccountsMixin:
    """Part of `DemoSeeder`: rows for territories, agencies and users."""

    # ---- territories, agencies, users ---------------------------------------------------------

    def _territory_row(self, code: str, name: str) -> int:
        tid = self.w.new_id("territory")
        created = self.now - timedelta(days=730)
        self.w.add("territory", (  # bulk.COLUMNS["territory"]
            tid, code, name, 30, 30, 60, 2, 7, 30, 42, 30, 30, 10, [1, 3, 6], 24, 12, created, created, 1,
        ))
        return tid

    def _agency_row(self, tid: int, kind: str, name: str, email: str, phone: str) -> int:
        aid = self.w.new_id("agency")
        created = self.now - timedelta(days=730)
        self.w.add("agency", (  # bulk.COLUMNS["agency"]
            aid, tid, name, kind, email, phone, True, created, created, 1,
        ))
        return aid

    def _user_row(self, tid: int, aid: int, email: str, first: str, last: str, role: str,
                  job_title: str | None) -> int:
        uid = self.w.new_id("user_account")
        created = self.now - timedelta(days=self.rng.randint(200, 700))
        self.w.add("user_account", (  # bulk.COLUMNS["user_account"]
            uid, tid, aid, email.lower(), self.password_hash, first, last, job_title, role, True, None, created,
            created, 1,
        ))
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
