"""The need-to-know policy (DESIGN §3.2–3.3), decided here and nowhere else.

Two forms of every question:
- yes/no questions on loaded objects (`record_access`, `can_see_entry`…), for views and services;
- SQL clauses (`readable_pathways_clause`, `visible_entries_clause`…), so lists never load what
  they would hide.

Levels of access to a pathway's record:
- FULL: the referent and the referent's agency (colleagues and its managers) — the lead agency.
- SHARED: a team agency with the person's consent on file, or a manager of the conseil
  départemental (steering of the whole territory): identity, pathway, meetings (without private
  notes), barriers, entries visible to the team.
- EXISTENCE: a team agency without consent: that the pathway exists and who the referent is.
- NONE: anyone else, other territories and admins included — answered as "not found".

Within a readable record, entries and meeting notes have their own visibility:
`team` (everyone with SHARED or FULL), `agency` (the author's agency), `referent` (the author, and
the referent while the lead agency stays the author's agency: a handover to another agency never
opens the previous agency's `agency` or `referent` notes).

Writes follow reads (DESIGN §3.3): each write has its own named question below (`can_plan_meeting`,
`can_edit_meeting_notes`…), asked by the service that performs it — whichever door the request
came through (web form, API, CLI) — and by the views, to offer the action or not. No other module
decides "may this user…"; `tests/test_access_guard.py` fails if one does.
"""
from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum
from functools import partial
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_login import current_user

from app.accounts.models import Agency, AgencyKind, Role, Territory, User
from app.barriers.models import Referral
from app.errors import Forbidden, NotFound
from app.extensions import db
from app.meetings.models import Meeting
from app.pathways.models import Consent, Entry, EntryKind, EntryVersion, Pathway, PathwayMember, Visibility


class RecordAccess(IntEnum):
    NONE = 0
    EXISTENCE = 1
    SHARED = 2
    FULL = 3


# --- who the user is -------------------------------------------------------------------------

def _is_user(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and isinstance(user, User)


def is_territory_steering_manager(user: User) -> bool:
    """A manager of the conseil départemental steers every pathway of the territory."""
    return user.role == Role.MANAGER and user.agency.kind == AgencyKind.DEPARTMENTAL_COUNCIL


# --- yes/no questions on one pathway --------------------------------------------------------

def _active_member_agency_ids(pathway: Pathway) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(PathwayMember.agency_id).where(
                PathwayMember.pathway_id == pathway.id, PathwayMember.removed_at.is_(None)
            )
        )
    )


def has_active_consent(pathway: Pathway) -> bool:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Consent.id)).where(
                Consent.pathway_id == pathway.id, Consent.withdrawn_at.is_(None)
            )
        )
        > 0
    )


def record_access(user: Any, pathway: Pathway) -> RecordAccess:
    if not _is_user(user) or user.territory_id != pathway.territory_id:
        return RecordAccess.NONE
    if user.role == Role.ADMIN:
        return RecordAccess.NONE  # admins manage accounts, not the content of records
    if pathway.lead_agency_id == user.agency_id:
        return RecordAccess.FULL
    if is_territory_steering_manager(user):
        return RecordAccess.SHARED
    if user.agency_id in _active_member_agency_ids(pathway):
        return RecordAccess.SHARED if has_active_consent(pathway) else RecordAccess.EXISTENCE
    return RecordAccess.NONE


def can_see_pathway_exists(user: Any, pathway: Pathway) -> bool:
    return record_access(user, pathway) >= RecordAccess.EXISTENCE


def can_read_record(user: Any, pathway: Pathway) -> bool:
    """Identity, pathway details, meetings (dates and statuses), barriers, team entries."""
    return record_access(user, pathway) >= RecordAccess.SHARED


def can_manage_pathway(user: Any, pathway: Pathway) -> bool:
    """Orient, plan and record meetings, add barriers, consent, contracts, close: the lead agency."""
    return record_access(user, pathway) == RecordAccess.FULL and _works_on_records(user)




def can_contribute(user: Any, pathway: Pathway) -> bool:
    """Add a journal entry to the shared record: anyone who may read it, while it is open."""
    return pathway.closed_at is None and can_read_record(user, pathway)


def _visible(user: User, pathway: Pathway, visibility: Visibility, author_id: int | None,
             author_agency_id: int | None) -> bool:
    if record_access(user, pathway) < RecordAccess.SHARED:
        return False
    if visibility == Visibility.TEAM:
        return True
    if visibility == Visibility.AGENCY:
        return author_agency_id == user.agency_id
    # Visibility.REFERENT: the author, and the referent while the lead agency is the author's.
    return user.id == author_id or (user.id == pathway.referent_id and pathway.lead_agency_id == author_agency_id)


def can_see_entry(user: Any, entry: Entry, pathway: Pathway) -> bool:
    return _visible(user, pathway, entry.visibility, entry.author_id, entry.author_agency_id)


def can_see_meeting_notes(user: Any, meeting: Meeting, pathway: Pathway) -> bool:
    author_id, author_agency_id = meeting_notes_author(meeting)
    return _visible(user, pathway, meeting.notes_visibility, author_id, author_agency_id)


def can_read_handover_notes(user: Any, pathway: Pathway) -> bool:
    """Handover notes (« note de passation ») stay within the lead agency."""
    return record_access(user, pathway) == RecordAccess.FULL


def can_read_audit(user: Any, pathway: Pathway) -> bool:
    """Who read or changed the record: the referent's agency (its managers included) and the
    managers steering the territory — not partners, whose own reads are logged too."""
    level = record_access(user, pathway)
    return level == RecordAccess.FULL or (
        level >= RecordAccess.SHARED and is_territory_steering_manager(user)
    )


# --- writes: one named question per operation (DESIGN §3.3 "writes follow reads") ------------
#
# Services ask these before writing, whichever door the request came through; views ask the same
# to offer the action. State rules (a closed pathway, a cancelled meeting) are the services' own.

NOTES_WIDTH = {Visibility.REFERENT: 0, Visibility.AGENCY: 1, Visibility.TEAM: 2}  # narrow → wide


def _works_on_records(user: Any) -> bool:
    return _is_user(user) and user.is_active_account and user.role in (Role.PROFESSIONAL, Role.MANAGER)


def can_create_person(user: Any) -> bool:
    """Create a person and their pathway (led by the user's agency); check for duplicates first."""
    return _works_on_records(user)


def can_open_pathway(user: Any, last: Pathway | None) -> bool:
    """Open a new pathway for a person whose previous one is closed: the agency that led it (any
    other agency finds the person through the duplicate check and asks to join the team)."""
    return can_create_person(user) and (last is None or can_manage_pathway(user, last))


def can_edit_identity(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_orient(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_change_stage(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_manage_team(user: Any, pathway: Pathway) -> bool:
    """Add or remove a partner agency of the team; accept or refuse a request to join it."""
    return can_manage_pathway(user, pathway)


def can_record_consent(user: Any, pathway: Pathway) -> bool:
    """Record or withdraw the person's consent to share with the team."""
    return can_manage_pathway(user, pathway)


def can_record_contract(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_record_employment(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_close_pathway(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_plan_meeting(user: Any, pathway: Pathway) -> bool:
    """Plan a meeting, or log one that took place (« Saisir un entretien »)."""
    return can_manage_pathway(user, pathway)


def can_record_meeting(user: Any, pathway: Pathway) -> bool:
    """Mark a meeting held or missed, move it or cancel it: its status and time, never its notes."""
    return can_manage_pathway(user, pathway)


def meeting_notes_author(meeting: Meeting) -> tuple[int | None, int | None]:
    """(author, author's agency) of a meeting's notes: whoever recorded it, in the agency that did."""
    return meeting.recorded_by_id or meeting.organizer_id, meeting.agency_id


def can_edit_meeting_notes(user: Any, meeting: Meeting, pathway: Pathway) -> bool:
    """Change the notes of a recorded meeting, or narrow their visibility: only whoever may read
    them and may record the meeting."""
    return can_record_meeting(user, pathway) and can_see_meeting_notes(user, meeting, pathway)


def can_set_meeting_notes_visibility(user: Any, meeting: Meeting, pathway: Pathway, visibility: Visibility) -> bool:
    """Narrowing is open to whoever may edit the notes; widening only to their author."""
    if not can_edit_meeting_notes(user, meeting, pathway):
        return False
    if NOTES_WIDTH[Visibility(visibility)] <= NOTES_WIDTH[meeting.notes_visibility]:
        return True
    return user.id == meeting_notes_author(meeting)[0]


def can_write_with_visibility(user: Any, pathway: Pathway, visibility: Visibility) -> bool:
    """`referent` notes are the lead agency's: written by one of its members, for the referent."""
    return Visibility(visibility) != Visibility.REFERENT or (
        record_access(user, pathway) == RecordAccess.FULL
    )


def can_add_entry(user: Any, pathway: Pathway) -> bool:
    """Add a journal entry to the shared record: anyone who may read it, while it is open."""
    return can_contribute(user, pathway)


def can_edit_entry(user: Any, entry: Entry, pathway: Pathway) -> bool:
    """Correct a journal note (its text, its type): only its author, while the author may still
    read it and the record is open. Events the application wrote (a re-orientation) are not notes."""
    return (
        entry.kind == EntryKind.NOTE
        and _is_user(user)
        and user.id == entry.author_id
        and can_contribute(user, pathway)
        and can_see_entry(user, entry, pathway)
    )


def can_set_entry_visibility(user: Any, entry: Entry, pathway: Pathway, visibility: Visibility) -> bool:
    """Who may read a note: its author may widen or narrow it; the lead agency, when it may read
    the note, may only narrow it (DESIGN §3.3: never widened by someone else than the author)."""
    visibility = Visibility(visibility)
    if entry.kind != EntryKind.NOTE or not can_contribute(user, pathway) or not can_see_entry(user, entry, pathway):
        return False
    if not can_write_with_visibility(user, pathway, visibility):
        return False
    if user.id == entry.author_id:
        return True
    return NOTES_WIDTH[visibility] <= NOTES_WIDTH[entry.visibility] and can_manage_pathway(user, pathway)


def can_correct_entry(user: Any, entry: Entry, pathway: Pathway) -> bool:
    """Offer « Corriger » on a note: its author, or the lead agency while the note can be narrowed."""
    return can_edit_entry(user, entry, pathway) or (
        entry.visibility != Visibility.REFERENT
        and can_set_entry_visibility(user, entry, pathway, Visibility.AGENCY)
    )


def correctable_entry_ids(
    user: Any, pathway: Pathway, entries: list[tuple[int, EntryKind, int, Visibility]]
) -> set[int]:
    """`can_correct_entry` for entries the user already reads (selected with
    `visible_entries_clause`), given as (id, kind, author id, visibility), without a query per
    entry: for the journal of a record."""
    if not can_contribute(user, pathway):
        return set()
    manage = can_manage_pathway(user, pathway)
    return {
        entry_id for entry_id, kind, author_id, visibility in entries
        if EntryKind(kind) == EntryKind.NOTE
        and (author_id == user.id or (manage and Visibility(visibility) != Visibility.REFERENT))
    }


def can_see_entry_version(user: Any, entry: Entry, version: EntryVersion, pathway: Pathway) -> bool:
    """A previous version of a note: readable by whoever reads the note now AND would have read
    that version (a version is never shown to readers the note was opened to later)."""
    return can_see_entry(user, entry, pathway) and _visible(
        user, pathway, version.visibility, entry.author_id, entry.author_agency_id
    )


def visible_entry_versions_clause(user: Any) -> sa.ColumnElement[bool]:
    """`can_see_entry_version` in SQL: join `Entry` and `Pathway` on the version's entry."""
    if not _is_user(user):
        return sa.false()
    return sa.and_(
        visible_entries_clause(user),
        _visibility_clause(user, EntryVersion.visibility, Entry.author_id, Entry.author_agency_id),
    )


def can_add_barrier(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_refer_barrier(user: Any, pathway: Pathway) -> bool:
    """Refer a barrier to a partner agency (closed loop)."""
    return can_manage_pathway(user, pathway)


def can_update_barrier(user: Any, barrier: Any, pathway: Pathway) -> bool:
    """The lead agency edits every barrier; a partner edits the barriers its agency owns."""
    return can_manage_pathway(user, pathway) or (
        can_read_record(user, pathway) and _works_on_records(user) and barrier.owner_agency_id == user.agency_id
    )


def can_answer_referral(user: Any, referral: Any, pathway: Pathway) -> bool:
    """Accept or decline a referral: the agency it was sent to (consent or not: it was asked)."""
    return (
        _works_on_records(user)
        and record_access(user, pathway) >= RecordAccess.EXISTENCE
        and referral.agency_id == user.agency_id
    )


def can_complete_referral(user: Any, referral: Any, pathway: Pathway) -> bool:
    """Mark an accepted referral done: the agency that took it, or the lead agency."""
    return can_answer_referral(user, referral, pathway) or can_manage_pathway(user, pathway)


def can_be_referent(user: Any) -> bool:
    """Who may be named referent: an active professional or manager (never an admin)."""
    return _works_on_records(user)


def role_may_be_referent(role: Any) -> bool:
    """Whether an account of this role may be named referent (`can_be_referent`, role part)."""
    return role in (Role.PROFESSIONAL, Role.MANAGER)


def possible_referents_clause(user: Any) -> sa.ColumnElement[bool]:
    """`can_be_referent` as a WHERE clause over `User`, within the user's territory."""
    if not _is_user(user):
        return sa.false()
    return sa.and_(
        User.territory_id == user.territory_id,
        User.is_active_account.is_(True),
        User.role.in_([Role.PROFESSIONAL, Role.MANAGER]),
    )


def can_assign_referent(user: Any, pathway: Pathway, referent: Any = None) -> bool:
    """Name or change the referent: the lead agency, or a manager steering the territory. Nobody
    hands a pathway to themself (that would open the `referent` notes to whoever wished it), except
    to take charge of a pathway of their own agency that has no referent yet."""
    if referent is not None and _is_user(user) and referent.id == user.id:
        return pathway.referent_id is None and can_manage_pathway(user, pathway)
    if can_manage_pathway(user, pathway):
        return True
    return (
        _is_user(user)
        and user.is_active_account
        and user.territory_id == pathway.territory_id
        and is_territory_steering_manager(user)
    )


def can_acknowledge_alert(user: Any, pathway: Pathway) -> bool:
    return can_manage_pathway(user, pathway)


def can_request_to_join(user: Any, pathway: Pathway, *, revealed: bool) -> bool:
    """Ask to join the team of a pathway the user's own duplicate check revealed (`revealed`: so
    that nobody probes pathway numbers): a professional of another agency of the territory,
    neither leading it nor already in its team, while it is open."""
    return (
        revealed
        and _works_on_records(user)
        and user.territory_id == pathway.territory_id
        and pathway.closed_at is None
        and pathway.lead_agency_id != user.agency_id
        and user.agency_id not in _active_member_agency_ids(pathway)
    )


def can_answer_join_request(user: Any, pathway: Pathway) -> bool:
    return can_manage_team(user, pathway)


def record_access_levels(user: Any, pathways: list[Pathway]) -> dict[int, RecordAccess]:
    """`record_access` of each listed pathway in one query (for lists: partners see less)."""
    if not pathways:
        return {}
    shared_ids = set(
        db.session.scalars(
            sa.select(Pathway.id).where(
                Pathway.id.in_([p.id for p in pathways]),
                readable_pathways_clause(user, minimum=RecordAccess.SHARED),
            )
        )
    )
    return {
        p.id: RecordAccess.FULL if p.lead_agency_id == user.agency_id
        else RecordAccess.SHARED if p.id in shared_ids else RecordAccess.EXISTENCE
        for p in pathways
    }


# --- guards used by services (404 when the record is hidden, 403 when visible but not allowed)

def get_pathway_or_404(user: Any, pathway_id: int, *, minimum: RecordAccess = RecordAccess.SHARED) -> Pathway:
    pathway = db.session.get(Pathway, pathway_id)
    if pathway is None or record_access(user, pathway) < minimum:
        raise NotFound()
    return pathway


LEAD_AGENCY_ONLY = "Seule la structure du référent peut faire cette action sur ce parcours."


def require(allowed: bool, user: Any, pathway: Pathway, message: str = LEAD_AGENCY_ONLY) -> None:
    """Refuse an action: 404 if the user may not even know the record exists, else 403."""
    if allowed:
        return
    if record_access(user, pathway) < RecordAccess.EXISTENCE:
        raise NotFound()
    raise Forbidden(message)


def require_manage(user: Any, pathway: Pathway) -> None:
    require(can_manage_pathway(user, pathway), user, pathway)


def pathway_for(
    user: Any, pathway_id: int, question: Callable[[Any, Pathway], bool], message: str = LEAD_AGENCY_ONLY
) -> Pathway:
    """The pathway for an action page: 404 if hidden from `user`, 403 unless `question` allows it."""
    pathway = get_pathway_or_404(user, pathway_id, minimum=RecordAccess.EXISTENCE)
    require(question(user, pathway), user, pathway, message)
    return pathway


# --- SQL clauses: lists filter with these, so they never load what they hide -----------------

def _member_exists(user: User) -> sa.ColumnElement[bool]:
    # OFFSET 0 changes nothing to the rule; it keeps PostgreSQL from turning the EXISTS into a
    # "hashed SubPlan", which reads every membership of the agency (213 000 at 1 M people: 90 ms)
    # before a list walks its first row, where a probe of `uq_pathway_member_active` per row walked
    # costs microseconds (lists stop at their page or at the count's cap).
    return sa.exists(
        sa.select(sa.literal(1))
        .where(
            PathwayMember.pathway_id == Pathway.id,
            PathwayMember.agency_id == user.agency_id,
            PathwayMember.removed_at.is_(None),
        )
        .offset(0)
    )


def _consent_exists() -> sa.ColumnElement[bool]:
    # OFFSET 0, as above: a hashed SubPlan read every active consent of the database (74 000 at
    # 100 000 people, 6 ms) once per CASE of a partner's list, where a probe of
    # `uq_consent_one_active` per row costs microseconds.
    return sa.exists(
        sa.select(sa.literal(1)).where(Consent.pathway_id == Pathway.id, Consent.withdrawn_at.is_(None)).offset(0)
    )


def readable_pathways_clause(user: Any, *, minimum: RecordAccess = RecordAccess.EXISTENCE) -> sa.ColumnElement[bool]:
    """Pathways where `record_access(user, p) >= minimum`, as a WHERE clause over `Pathway`."""
    if not _is_user(user) or user.role == Role.ADMIN:
        return sa.false()
    conditions: list[sa.ColumnElement[bool]] = [Pathway.lead_agency_id == user.agency_id]
    if minimum <= RecordAccess.SHARED:
        if is_territory_steering_manager(user):
            conditions.append(sa.true())
        elif minimum == RecordAccess.SHARED:
            conditions.append(sa.and_(_member_exists(user), _consent_exists()))
        else:
            conditions.append(_member_exists(user))
    return sa.and_(Pathway.territory_id == user.territory_id, sa.or_(*conditions))


def team_membership_clause(user: Any, *, minimum: RecordAccess = RecordAccess.EXISTENCE) -> sa.ColumnElement[bool]:
    """For a query over `PathwayMember` joined to its `Pathway`: the user's agency's active
    memberships of pathways the user reads at `minimum` at least — exactly the pathways of
    `readable_pathways_clause(user, minimum=minimum)` whose team includes the user's agency, one
    row each (one active membership per agency and pathway). Lists walk the agency's own
    memberships in their order instead of testing every pathway of the territory."""
    if not _is_user(user) or user.role == Role.ADMIN:
        return sa.false()
    conditions = [
        PathwayMember.agency_id == user.agency_id,
        PathwayMember.removed_at.is_(None),
        PathwayMember.pathway_id == Pathway.id,
        Pathway.territory_id == user.territory_id,
    ]
    if minimum >= RecordAccess.FULL:
        conditions.append(Pathway.lead_agency_id == user.agency_id)
    elif minimum == RecordAccess.SHARED and not is_territory_steering_manager(user):
        # The membership's copy of "this agency reads the record" picks the rows from its index;
        # the rule itself still decides (a stale copy could only hide a row, never show one).
        conditions += [
            PathwayMember.pathway_shared,
            sa.or_(Pathway.lead_agency_id == user.agency_id, _consent_exists()),
        ]
    return sa.and_(*conditions)


def team_existence_only_clause(user: Any) -> sa.ColumnElement[bool]:
    """Like `team_membership_clause`: the memberships of pathways the user may only know exist
    (no consent) — readable at EXISTENCE and not at SHARED."""
    if not _is_user(user) or user.role == Role.ADMIN or is_territory_steering_manager(user):
        return sa.false()
    return sa.and_(
        PathwayMember.agency_id == user.agency_id,
        PathwayMember.removed_at.is_(None),
        sa.not_(PathwayMember.pathway_shared),  # the copy picks the rows, the rule decides
        PathwayMember.pathway_id == Pathway.id,
        Pathway.territory_id == user.territory_id,
        Pathway.lead_agency_id != user.agency_id,
        sa.not_(_consent_exists()),
    )


def _visibility_clause(user: User, visibility: Any, author_id: Any, author_agency_id: Any) -> sa.ColumnElement[bool]:
    return sa.or_(
        visibility == Visibility.TEAM,
        sa.and_(visibility == Visibility.AGENCY, author_agency_id == user.agency_id),
        sa.and_(
            visibility == Visibility.REFERENT,
            sa.or_(
                author_id == user.id,
                sa.and_(Pathway.referent_id == user.id, Pathway.lead_agency_id == author_agency_id),
            ),
        ),
    )


def visible_entries_clause(user: Any) -> sa.ColumnElement[bool]:
    """Entries the user may read; the query must join `Pathway` on `Entry.pathway_id`."""
    if not _is_user(user):
        return sa.false()
    return sa.and_(
        readable_pathways_clause(user, minimum=RecordAccess.SHARED),
        _visibility_clause(user, Entry.visibility, Entry.author_id, Entry.author_agency_id),
    )


def visible_meeting_notes_clause(user: Any) -> sa.ColumnElement[bool]:
    """True where the user may read a meeting's notes; select `case(clause, notes)` with it."""
    if not _is_user(user):
        return sa.false()
    return _visibility_clause(
        user,
        Meeting.notes_visibility,
        sa.func.coalesce(Meeting.recorded_by_id, Meeting.organizer_id),
        Meeting.agency_id,
    )


def steering_pathways_clause(user: Any, *, agency_id: int | None = None) -> sa.ColumnElement[bool]:
    """Pathways a manager steers (« Pilotage »): those led by the manager's agency, or the whole
    territory for a manager of the conseil départemental. Nothing for other roles."""
    if not _is_user(user) or user.role != Role.MANAGER:
        return sa.false()
    clause = Pathway.territory_id == user.territory_id
    if not is_territory_steering_manager(user):
        clause = sa.and_(clause, Pathway.lead_agency_id == user.agency_id)
    if agency_id is not None:
        clause = sa.and_(clause, Pathway.lead_agency_id == agency_id)
    return clause


def can_steer(user: Any) -> bool:
    return _is_user(user) and user.role == Role.MANAGER


def steering_agencies_clause(user: Any) -> sa.ColumnElement[bool]:
    """Agencies whose pathways a manager steers: the territory's for the conseil départemental's
    managers, else the manager's own agency."""
    if not can_steer(user):
        return sa.false()
    clause = Agency.territory_id == user.territory_id
    return clause if is_territory_steering_manager(user) else sa.and_(clause, Agency.id == user.agency_id)


def steering_referents_clause(user: Any, *, agency_id: int | None = None) -> sa.ColumnElement[bool]:
    """Who a steering manager may hand a pathway to: the possible referents of the agencies steered."""
    if not can_steer(user):
        return sa.false()
    clause = possible_referents_clause(user)
    if not is_territory_steering_manager(user):
        clause = sa.and_(clause, User.agency_id == user.agency_id)
    elif agency_id is not None:
        clause = sa.and_(clause, User.agency_id == agency_id)
    return clause


def answerable_referrals_clause(user: Any) -> sa.ColumnElement[bool]:
    """`can_answer_referral` as a WHERE clause: referrals sent to the user's agency, on pathways it
    may know exist; the query must join `Pathway` (through the barrier)."""
    if not _works_on_records(user):
        return sa.false()
    return sa.and_(Referral.agency_id == user.agency_id, readable_pathways_clause(user))


def can_import_people(user: Any) -> bool:
    """Import people from a spreadsheet into the user's territory: its admins and managers."""
    return _is_user(user) and user.is_active_account and user.role in (Role.ADMIN, Role.MANAGER)


def can_import_into(user: Any, territory: Any) -> bool:
    """Import into this territory: an importer of it (never into another one)."""
    return can_import_people(user) and territory is not None and territory.id == user.territory_id


def can_see_import(user: Any, job: Any) -> bool:
    """An import job (its preview, progress, result and errors file): importers of its territory."""
    return can_import_people(user) and in_territory(user, job)


def can_queue_export(user: Any, kind: str) -> bool:
    """Ask for a list's full export (« Mes exports »): a caseload (« portfolio.… ») by any active
    account (the rows are only what the list shows the user), a « Pilotage » list by who steers."""
    if not _is_user(user) or not user.is_active_account:
        return False
    return can_steer(user) if kind.startswith("pilotage.") else kind.startswith("portfolio.")


def can_download_export(user: Any, job: Any) -> bool:
    """An export (its line in « Mes exports », its file): only the user who asked for it."""
    return _is_user(user) and job is not None and job.requested_by_id == user.id and in_territory(user, job)


def own_exports_clause(user: Any, requested_by: Any, territory: Any) -> sa.ColumnElement[bool]:
    """`can_download_export` as a WHERE clause on an export's requester and territory columns."""
    if not _is_user(user):
        return sa.false()
    return sa.and_(requested_by == user.id, territory == user.territory_id)


def can_build_export(user: Any, job: Any) -> bool:
    """When an export is built (later, by the scheduler): its requester still may, from the same
    territory and agency — an account deactivated or moved meanwhile gets nothing."""
    return (can_download_export(user, job) and user.agency_id == job.agency_id
            and can_queue_export(user, job.kind))


def in_territory(user: Any, obj: Any) -> bool:
    """Territory isolation (DESIGN §3.2): nothing crosses a territory."""
    return _is_user(user) and obj is not None and obj.territory_id == user.territory_id


def territory_clause(user: Any, column: Any) -> sa.ColumnElement[bool]:
    """`in_territory` as a WHERE clause on a `territory_id` column."""
    return column == user.territory_id if _is_user(user) else sa.false()


def agencies_of_territory_clause(user: Any) -> sa.ColumnElement[bool]:
    if not _is_user(user):
        return sa.false()
    return Agency.territory_id == user.territory_id


# --- administration of a territory (DESIGN §3.3: users and agencies, never the content of records) ---

def can_administer(user: Any) -> bool:
    """An active admin: manages the structures, accounts and settings of their own territory."""
    return _is_user(user) and user.is_active_account and user.role == Role.ADMIN


def can_administer_object(user: Any, obj: Any) -> bool:
    """An agency, account, invitation or territory of the admin's own territory (else: not found)."""
    if obj is None or not can_administer(user):
        return False
    territory_id = obj.id if isinstance(obj, Territory) else obj.territory_id
    return territory_id == user.territory_id


def can_deactivate_account(user: Any, target: Any) -> bool:
    """An admin closes any account of their territory but their own (a territory keeps an admin)."""
    return can_administer_object(user, target) and target.id != user.id


def can_change_role_or_agency(user: Any, target: Any) -> bool:
    """Change an account's role or structure (the import of professionals): an admin of its
    territory, never for their own account (an admin does not demote themselves by a file)."""
    return can_administer_object(user, target) and target.id != user.id


def administered_clause(user: Any, column: Any) -> sa.ColumnElement[bool]:
    """`can_administer_object` as a WHERE clause on a `territory_id` column."""
    return column == user.territory_id if can_administer(user) else sa.false()


# --- one's own credentials (« Mon compte ») --------------------------------------------------------

def can_manage_own_credential(user: Any, credential: Any) -> bool:
    """A web session or an API token of the user's own: listed and closed by its owner only (another
    user's, whatever their role, is not found)."""
    return _is_user(user) and credential is not None and credential.user_id == user.id


def own_credentials_clause(user: Any, column: Any) -> sa.ColumnElement[bool]:
    """`can_manage_own_credential` as a WHERE clause on a `user_id` column."""
    return column == user.id if _is_user(user) else sa.false()


# --- templates read the answers, never decide: `may.<question>(…)` --------------------------------

class _Answers:
    """`{% if may.update_barrier(barrier, pathway) %}`: a named question, asked for the current user."""

    def __getattr__(self, name: str) -> Callable[..., bool]:
        question = globals().get(f"can_{name}")
        if question is None:
            raise AttributeError(f"no access question can_{name}")
        return partial(question, current_user._get_current_object())


def init_app(app: Flask) -> None:
    app.context_processor(lambda: {"may": _Answers()})
