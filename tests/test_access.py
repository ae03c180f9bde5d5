"""The need-to-know policy (DESIGN §3.2–3.3) as a matrix: every role × every kind of data.

Each row is a user of the world built in tests/world.py around one pathway led by France Travail
(FT), whose team includes the CAF:

  referent      the pathway's referent (FT)
  colleague     another professional of FT
  partner       a professional of the CAF (team member), with / without the person's consent
  outsider      a professional of the CCAS, same territory, not in the team
  stranger      a professional of another territory
  manager_ft    a manager of FT (the referent's agency)
  manager_cd    a manager of the conseil départemental (steers the whole territory)
  admin         an admin of the territory (accounts, not records)

Columns:
  exists        sees that the pathway exists and who the referent is
  record        identity and pathway details, meetings (date/status), barriers
  notes_agency  notes of a meeting recorded by the referent with visibility `agency`
  notes_team    notes of a meeting with visibility `team`
  e_team        journal entry, visibility `team`
  e_agency      journal entry by the referent, visibility `agency` (FT only)
  e_referent    journal entry by the referent, visibility `referent`
  e_partner     journal entry by the CAF partner, visibility `agency` (CAF only)
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app import access
from app.extensions import db
from app.meetings.models import Meeting
from app.pathways.models import Entry, Pathway
from tests.world import World, build_world

COLUMNS = ["exists", "record", "notes_agency", "notes_team", "e_team", "e_agency", "e_referent", "e_partner"]
Y, N = True, False

# With the person's consent on file.
MATRIX_WITH_CONSENT = {
    #              exists record notes_agency notes_team e_team e_agency e_referent e_partner
    "referent": (Y, Y, Y, Y, Y, Y, Y, N),
    "colleague": (Y, Y, Y, Y, Y, Y, N, N),
    "partner": (Y, Y, N, Y, Y, N, N, Y),
    "outsider": (N, N, N, N, N, N, N, N),
    "stranger": (N, N, N, N, N, N, N, N),
    "manager_ft": (Y, Y, Y, Y, Y, Y, N, N),
    "manager_cd": (Y, Y, N, Y, Y, N, N, N),
    "admin": (N, N, N, N, N, N, N, N),
}

# Without consent: partners only know the pathway exists and who the referent is.
MATRIX_WITHOUT_CONSENT = {
    #              exists record notes_agency notes_team e_team e_agency e_referent
    "referent": (Y, Y, Y, Y, Y, Y, Y),
    "colleague": (Y, Y, Y, Y, Y, Y, N),
    "partner": (Y, N, N, N, N, N, N),
    "outsider": (N, N, N, N, N, N, N),
    "stranger": (N, N, N, N, N, N, N),
    "manager_ft": (Y, Y, Y, Y, Y, Y, N),
    "manager_cd": (Y, Y, N, Y, Y, N, N),
    "admin": (N, N, N, N, N, N, N),
}


def _observed_by_questions(world: World, user) -> dict[str, bool]:
    """What the yes/no questions answer for this user."""
    p = world.pathway
    observed = {
        "exists": access.can_see_pathway_exists(user, p),
        "record": access.can_read_record(user, p),
        "notes_agency": access.can_see_meeting_notes(user, world.meeting_private, p),
        "notes_team": access.can_see_meeting_notes(user, world.meeting_team, p),
        "e_team": access.can_see_entry(user, world.entry_team, p),
        "e_agency": access.can_see_entry(user, world.entry_agency, p),
        "e_referent": access.can_see_entry(user, world.entry_referent, p),
    }
    if world.entry_partner is not None:
        observed["e_partner"] = access.can_see_entry(user, world.entry_partner, p)
    return observed


def _observed_by_queries(world: World, user) -> dict[str, bool]:
    """What the SQL filters load for this user: lists must agree with the questions."""
    p = world.pathway
    exists = db.session.scalar(
        sa.select(sa.func.count()).select_from(Pathway).where(Pathway.id == p.id, access.readable_pathways_clause(user))
    )
    record = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Pathway)
        .where(Pathway.id == p.id, access.readable_pathways_clause(user, minimum=access.RecordAccess.SHARED))
    )
    visible_entry_ids = set(
        db.session.scalars(
            sa.select(Entry.id)
            .join(Pathway, Entry.pathway_id == Pathway.id)
            .where(Entry.pathway_id == p.id, access.visible_entries_clause(user))
        )
    )
    notes = dict(
        db.session.execute(
            sa.select(Meeting.id, sa.case((access.visible_meeting_notes_clause(user), Meeting.notes), else_=None))
            .join(Pathway, Meeting.pathway_id == Pathway.id)
            .where(
                Meeting.pathway_id == p.id, access.readable_pathways_clause(user, minimum=access.RecordAccess.SHARED)
            )
        ).all()
    )
    observed = {
        "exists": exists == 1,
        "record": record == 1,
        "notes_agency": notes.get(world.meeting_private.id) is not None,
        "notes_team": notes.get(world.meeting_team.id) is not None,
        "e_team": world.entry_team.id in visible_entry_ids,
        "e_agency": world.entry_agency.id in visible_entry_ids,
        "e_referent": world.entry_referent.id in visible_entry_ids,
    }
    if world.entry_partner is not None:
        observed["e_partner"] = world.entry_partner.id in visible_entry_ids
    return observed


@pytest.mark.parametrize(
    ("consent", "matrix"),
    [(True, MATRIX_WITH_CONSENT), (False, MATRIX_WITHOUT_CONSENT)],
    ids=["with-consent", "without-consent"],
)
@pytest.mark.parametrize("source", ["questions", "queries"])
def test_access_matrix(consent: bool, matrix: dict, source: str) -> None:
    world = build_world(consent=consent)
    observe = _observed_by_questions if source == "questions" else _observed_by_queries
    mismatches = []
    for role, expected_row in matrix.items():
        user = world.users()[role]
        observed = observe(world, user)
        expected = dict(zip(COLUMNS, expected_row, strict=False))
        for column, want in expected.items():
            if observed[column] != want:
                mismatches.append(f"{role:<11} {column:<13} expected {want}, got {observed[column]}")
    assert not mismatches, "access matrix broken:\n" + "\n".join(mismatches)


def test_withdrawing_consent_hides_the_record_from_partners_at_once(world: World) -> None:
    from app.pathways import services

    assert access.can_read_record(world.partner, world.pathway)
    services.withdraw_consent(world.referent, world.pathway)
    assert not access.can_read_record(world.partner, world.pathway)
    assert access.can_see_pathway_exists(world.partner, world.pathway)


def test_removed_team_agency_loses_access(world: World) -> None:
    from app.pathways import services

    services.remove_team_agency(world.referent, world.pathway, world.caf.id)
    assert access.record_access(world.partner, world.pathway) == access.RecordAccess.NONE


def test_only_the_lead_agency_manages_the_pathway(world: World) -> None:
    allowed = {name for name, user in world.users().items() if access.can_manage_pathway(user, world.pathway)}
    assert allowed == {"referent", "colleague", "manager_ft"}


def test_only_admins_and_managers_of_the_territory_import_people(world: World) -> None:
    from app.imports.models import ImportJob

    job = ImportJob(territory_id=world.territory.id)
    importers = {name for name, user in world.users().items()
                 if access.can_import_into(user, world.territory) and access.can_see_import(user, job)}
    assert importers == {"manager_ft", "manager_cd", "admin"}
    # The other territory's admin imports into their own territory only.
    assert access.can_import_into(world.stranger, world.territory) is False


def test_an_export_is_its_requesters_alone_and_pilotage_lists_are_for_who_steers(world: World) -> None:
    """« Mes exports » (routes: tests/exports/test_routes_access.py): the file of an export is
    downloaded by its requester only; a « Pilotage » list is exported by managers; a requester
    deactivated or moved to another agency before the file is built gets nothing."""
    from app.exports.models import ExportJob

    job = ExportJob(territory_id=world.territory.id, requested_by_id=world.referent.id,
                    agency_id=world.ft.id, kind="portfolio.moi")
    downloaders = {name for name, user in world.users().items() if access.can_download_export(user, job)}
    assert downloaders == {"referent"}
    steering = {name for name, user in world.users().items() if access.can_queue_export(user, "pilotage.freins")}
    assert steering == {"manager_ft", "manager_cd"}
    assert access.can_queue_export(world.stranger, "portfolio.structure")  # their own lists only (the clauses)
    assert access.can_build_export(world.referent, job)
    job.agency_id = world.caf.id  # the requester's agency when she asked is no longer hers
    assert not access.can_build_export(world.referent, job)


def test_anonymous_sees_nothing(world: World) -> None:
    from flask_login import AnonymousUserMixin

    anonymous = AnonymousUserMixin()
    assert access.record_access(anonymous, world.pathway) == access.RecordAccess.NONE
    assert access.record_access(None, world.pathway) == access.RecordAccess.NONE


def test_only_the_territorys_admin_imports_structures_and_professionals(world: World) -> None:
    """« Importer des structures / des professionnels » (app/admin/directory.py): its files are
    objects of the territory's administration; another territory's admin does not see them."""
    from app.accounts.models import Role
    from app.admin.models import DirectoryImport
    from tests.factories import AgencyFactory, UserFactory

    job = DirectoryImport(territory_id=world.territory.id, kind="agencies")
    readers = {name for name, user in world.users().items()
               if access.can_administer(user) and access.can_administer_object(user, job)}
    assert readers == {"admin"}
    other_admin = UserFactory(agency=AgencyFactory(territory=world.other_territory), role=Role.ADMIN)
    assert access.can_administer(other_admin) and not access.can_administer_object(other_admin, job)
