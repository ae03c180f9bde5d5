"""The scan keeps the pathway summary exact: the alerts it raises or resolves are counted on the
pathway rows in the same transaction (`summary.drift` stays empty)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.followup import live, summary
from app.followup.scan import scan_follow_ups
from app.pathways import services as pathways
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 1, 5, 9, tzinfo=PARIS)


def test_summaries_are_exact_after_first_incremental_and_resolving_scans(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "clock", lambda: T0)  # writes see nothing late: the scans raise everything
    territory = TerritoryFactory()
    referent = UserFactory(agency=AgencyFactory(territory=territory))
    alone = pathways.create_beneficiary(referent, {"first_name": "A", "last_name": "Seule"}, referent=None, now=T0)
    followed = pathways.create_beneficiary(
        referent, {"first_name": "B", "last_name": "Suivie"}, referent=referent, now=T0
    )
    conn = db.session.connection()
    assert alone.open_alert_count == followed.open_alert_count == 0

    first = scan_follow_ups(datetime(2026, 2, 10, 9, tzinfo=PARIS), territory_ids=[territory.id])
    assert first.full and first.raised == 1  # no referent after 30 days
    assert summary.drift(conn) == []
    db.session.refresh(alone)
    assert alone.open_alert_count == 1 and alone.first_alert_due_at is not None

    later = scan_follow_ups(datetime(2026, 2, 20, 9, tzinfo=PARIS), territory_ids=[territory.id])
    assert later.raised == 2  # orientation late for both, after 42 days
    assert summary.drift(conn) == []

    territory.no_referent_days = 400  # a settings change: the next scan is full and resolves
    db.session.flush()
    resolving = scan_follow_ups(datetime(2026, 2, 21, 9, tzinfo=PARIS), territory_ids=[territory.id])
    assert resolving.full and resolving.resolved == 1
    assert summary.drift(conn) == []
    db.session.refresh(alone)
    assert alone.open_alert_count == 1
