"""A small, complete world for rules and access tests: two territories, every kind of user."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from app.accounts.models import Agency, AgencyKind, Role, Territory, User
from app.barriers import services as barrier_services
from app.barriers.models import Barrier, BarrierCategory
from app.meetings import services as meeting_services
from app.meetings.models import Meeting, MeetingStatus
from app.pathways import services as pathway_services
from app.pathways.models import ConsentMethod, Entry, Orientation, Pathway, Visibility
from tests.factories import AgencyFactory, TerritoryFactory, UserFactory

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@dataclass
class World:
    territory: Territory
    other_territory: Territory
    cd: Agency
    ft: Agency
    caf: Agency
    ccas: Agency
    referent: User
    colleague: User
    partner: User
    outsider: User
    stranger: User
    manager_ft: User
    manager_cd: User
    admin: User
    pathway: Pathway
    meeting_private: Meeting
    meeting_team: Meeting
    barrier: Barrier
    entry_team: Entry
    entry_agency: Entry
    entry_referent: Entry
    entry_partner: Entry

    def users(self) -> dict[str, User]:
        return {
            "referent": self.referent,
            "colleague": self.colleague,
            "partner": self.partner,
            "outsider": self.outsider,
            "stranger": self.stranger,
            "manager_ft": self.manager_ft,
            "manager_cd": self.manager_cd,
            "admin": self.admin,
        }


def build_world(*, consent: bool = True) -> World:
    territory = TerritoryFactory(code="93", name="Seine-Saint-Denis (test)")
    other = TerritoryFactory(code="94", name="Val-de-Marne (test)")
    cd = AgencyFactory(territory=territory, kind=AgencyKind.DEPARTMENTAL_COUNCIL, name="CD 93")
    ft = AgencyFactory(territory=territory, kind=AgencyKind.FRANCE_TRAVAIL, name="FT Bobigny")
    caf = AgencyFactory(territory=territory, kind=AgencyKind.CAF, name="CAF 93")
    ccas = AgencyFactory(territory=territory, kind=AgencyKind.CCAS, name="CCAS Pantin")
    ft_other = AgencyFactory(territory=other, kind=AgencyKind.FRANCE_TRAVAIL, name="FT Créteil")

    referent = UserFactory(agency=ft, email="referent@ft.test")
    colleague = UserFactory(agency=ft, email="collegue@ft.test")
    partner = UserFactory(agency=caf, email="partenaire@caf.test")
    outsider = UserFactory(agency=ccas, email="horsequipe@ccas.test")
    stranger = UserFactory(agency=ft_other, email="autre@ft94.test")
    manager_ft = UserFactory(agency=ft, email="responsable@ft.test", role=Role.MANAGER)
    manager_cd = UserFactory(agency=cd, email="responsable@cd.test", role=Role.MANAGER)
    admin = UserFactory(agency=cd, email="admin@cd.test", role=Role.ADMIN)

    pathway = pathway_services.create_beneficiary(
        referent,
        {"first_name": "Sarah", "last_name": "Benali", "caf_number": "1234567"},
        referent=referent,
        now=T0,
    )
    pathway_services.orient(referent, pathway, Orientation.PROFESSIONAL, now=T0 + timedelta(days=1))
    pathway_services.add_team_agency(referent, pathway, caf.id, now=T0 + timedelta(days=1))
    if consent:
        pathway_services.record_consent(referent, pathway, method=ConsentMethod.WRITTEN, now=T0 + timedelta(days=1))

    now = T0 + timedelta(days=10)
    private, _ = meeting_services.log_meeting(
        referent,
        pathway,
        status=MeetingStatus.HELD,
        held_at=T0 + timedelta(days=2),
        notes="Point sur la recherche de logement.",
        notes_visibility=Visibility.AGENCY,
        now=now,
    )
    team, _ = meeting_services.log_meeting(
        referent,
        pathway,
        status=MeetingStatus.HELD,
        held_at=T0 + timedelta(days=9),
        notes="CV mis à jour.",
        notes_visibility=Visibility.TEAM,
        now=now,
    )
    barrier = barrier_services.add_barrier(
        referent, pathway, category=BarrierCategory.MOBILITY, title="Pas de permis", now=now
    )
    entry_team = pathway_services.add_entry(
        referent, pathway, body="Note d'équipe.", visibility=Visibility.TEAM, now=now
    )
    entry_agency = pathway_services.add_entry(referent, pathway, body="Note FT.", visibility=Visibility.AGENCY, now=now)
    entry_referent = pathway_services.add_entry(
        referent, pathway, body="Note du référent.", visibility=Visibility.REFERENT, now=now
    )
    entry_partner = (
        pathway_services.add_entry(partner, pathway, body="Note CAF.", visibility=Visibility.AGENCY, now=now)
        if consent
        else None
    )
    return World(
        territory=territory,
        other_territory=other,
        cd=cd,
        ft=ft,
        caf=caf,
        ccas=ccas,
        referent=referent,
        colleague=colleague,
        partner=partner,
        outsider=outsider,
        stranger=stranger,
        manager_ft=manager_ft,
        manager_cd=manager_cd,
        admin=admin,
        pathway=pathway,
        meeting_private=private,
        meeting_team=team,
        barrier=barrier,
        entry_team=entry_team,
        entry_agency=entry_agency,
        entry_referent=entry_referent,
        entry_partner=entry_partner,
    )


@pytest.fixture
def world() -> World:
    return build_world(consent=True)
