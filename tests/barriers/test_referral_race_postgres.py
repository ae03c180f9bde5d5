"""Two referrals of one pathway to the same partner at once (PostgreSQL, real commits): the partner
joins the team once and both referrals are sent — neither is refused by the active-member unique
index. Seen under load (bench/load.py): a 409 for a referral whose partner another referral of the
same pathway was adding to the team at that moment."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from app import create_app
from app.barriers import services as barriers
from app.barriers.models import Barrier, Referral
from app.db_types import utcnow
from app.extensions import db
from app.pathways.models import Pathway, PathwayMember
from tests import db_helpers

ROOT = Path(__file__).resolve().parents[2]
PG_URL = db_helpers.PG_URL

pytestmark = db_helpers.POSTGRES_WITH_COMMITS


@pytest.fixture
def scratch_database() -> Iterator[str]:
    with db_helpers.scratch_database(PG_URL, "parcours_referral_race") as url:
        yield url


def test_a_referral_waits_for_another_one_adding_the_same_partner_to_the_team(scratch_database: str) -> None:
    from tests.factories import AgencyFactory, BarrierFactory, PathwayFactory, TerritoryFactory, UserFactory

    app = create_app("testing", overrides={"SQLALCHEMY_DATABASE_URI": scratch_database})
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        territory = TerritoryFactory()
        lead, partner = AgencyFactory(territory=territory), AgencyFactory(territory=territory)
        referent = UserFactory(agency=lead)
        pathway = PathwayFactory(referent=referent, lead_agency=lead)
        barrier = BarrierFactory(pathway=pathway)
        db.session.commit()
        ids = {"pathway": pathway.id, "barrier": barrier.id, "partner": partner.id, "referent": referent.id,
               "territory": territory.id}
        db.session.remove()

    # Another transaction is adding the partner to the team, holding the pathway row as the first
    # of two simultaneous referrals does between its check and its commit.
    other = sa.create_engine(scratch_database)
    holder = other.connect()
    tx = holder.begin()
    holder.execute(sa.text("SELECT id FROM pathway WHERE id = :p FOR NO KEY UPDATE"), {"p": ids["pathway"]}).all()
    holder.execute(sa.insert(PathwayMember.__table__).values(
        territory_id=ids["territory"], pathway_id=ids["pathway"],
        agency_id=ids["partner"], added_at=utcnow(), added_by_id=ids["referent"]))

    outcome: dict[str, object] = {}

    def refer() -> None:
        with app.app_context():
            try:
                from app.accounts.models import User

                user = db.session.get(User, ids["referent"])
                referral = barriers.refer_barrier(user, db.session.get(Barrier, ids["barrier"]),
                                                  agency_id=ids["partner"], message="Aide au permis ?")
                outcome["referral"] = referral.id
            except Exception as exc:  # noqa: BLE001 (reported below)
                outcome["error"] = exc
            finally:
                db.session.remove()

    thread = threading.Thread(target=refer)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive(), outcome  # it waits for the pathway row, instead of racing the other insert
    tx.commit()
    holder.close()
    thread.join(timeout=30)
    other.dispose()
    assert "error" not in outcome, outcome.get("error")

    with app.app_context():
        members = db.session.scalar(sa.select(sa.func.count()).select_from(PathwayMember).where(
            PathwayMember.pathway_id == ids["pathway"], PathwayMember.agency_id == ids["partner"],
            PathwayMember.removed_at.is_(None)))
        assert members == 1
        assert db.session.get(Referral, outcome["referral"]) is not None
        assert db.session.get(Pathway, ids["pathway"]) is not None
        db.session.remove()
