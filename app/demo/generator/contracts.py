"""A pathway's contracts of engagement (CER, PPAE…)."""
from __future__ import annotations

from datetime import date, timedelta

from app.demo.generator.common import (
    CONTRACT_KIND,
    add_months,
)


class ContractsMixin:
    """Part of `PathwayBuilder`."""

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
            months = self._contract_months(kind)
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

    def _contract_months(self, kind: str) -> int | None:
        """How long a contract of this kind runs (None: open-ended)."""
        if kind == "ppae":
            return None if self.s._chance(0.5) else 12
        if kind == "cer":
            return self.rng.choice([6, 12])
        if kind == "cej":
            return 12
        return self.rng.choice([12, 24])

    def _contract_row(self, kind: str, signed: date, starts: date, ends: date | None) -> None:
        s = self.s
        days_ago = (s.today - signed).days
        recorded = s.at(max(days_ago, 0), 11 * 60)
        self.w.add("contract", (  # bulk.COLUMNS["contract"]
            self.w.new_id("contract"), self.tid, self.pid, kind, signed, starts, ends,
            self.who(max(days_ago, 0))[0], recorded, recorded, 1,
        ))
