"""`flask seed-demo`: accounts, coverage of every situation, invariants, determinism, idempotence."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from app.accounts.models import Agency, AgencyKind, Role, Territory, User
from app.accounts.passwords import verify_password
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus, Referral, ReferralStatus
from app.demo import data
from app.demo.generator import DemoSeeder
from app.extensions import db
from app.meetings.models import Meeting, MeetingKind, MeetingStatus
from app.pathways.models import (
    Beneficiary,
    Consent,
    Contract,
    Entry,
    Pathway,
    PathwayMember,
    ReferentAssignment,
    Stage,
    Visibility,
)
from app.pathways.search import search_key
from tests.db_helpers import count_rows

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
NOW_ISO = "2026-03-10T09:30:00+00:00"
TODAY = date(2026, 3, 10)
ARGS = ["seed-demo", "--people", "60", "--seed", "2026", "--now", NOW_ISO, "--no-progress"]
TABLES = [Territory, Agency, User, Beneficiary, Pathway, ReferentAssignment, PathwayMember, Consent,
          Contract, Entry, Meeting, Barrier, Referral]


def _seed(runner, *extra: str):
    result = runner.invoke(args=[*ARGS, *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


@pytest.fixture
def seeded(runner):
    _seed(runner)
    return db.session.scalar(sa.select(Territory).where(Territory.code == "99"))


def _scalar(stmt):
    return db.session.scalar(stmt)


def _counts() -> dict[str, int]:
    return {model.__tablename__: count_rows(model) for model in TABLES}


def _fingerprint() -> tuple:
    people = db.session.execute(
        sa.select(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_date,
                  Beneficiary.caf_number, Beneficiary.search_name)
        .order_by(Beneficiary.last_name, Beneficiary.first_name, Beneficiary.birth_date,
                  Beneficiary.caf_number, Beneficiary.search_name)
    ).all()
    pathways = db.session.execute(
        sa.select(Pathway.stage, Pathway.orientation, Pathway.started_at, Pathway.closed_at)
        .order_by(Pathway.started_at, Pathway.stage, Pathway.orientation, Pathway.closed_at)
    ).all()
    meetings = db.session.execute(
        sa.select(Meeting.scheduled_at, Meeting.status, Meeting.kind)
        .order_by(Meeting.scheduled_at, Meeting.status, Meeting.kind)
    ).all()
    users = db.session.scalars(sa.select(User.email).order_by(User.email)).all()
    return tuple(people), tuple(pathways), tuple(meetings), tuple(users), tuple(sorted(_counts().items()))


# ---- territory and accounts ------------------------------------------------------------------


def test_creates_the_demo_territory_with_one_agency_of_each_kind(seeded):
    assert seeded.name == "Département de démonstration (99)"
    kinds = db.session.scalars(sa.select(Agency.kind).where(Agency.territory_id == seeded.id)).all()
    assert sorted(kinds) == sorted(AgencyKind)
    names = set(db.session.scalars(sa.select(Agency.name).where(Agency.territory_id == seeded.id)))
    assert "France Travail — Agence de Démoville" in names
    assert "Mission locale du Val de Démo" in names


def test_every_demo_account_exists_and_can_log_in(seeded):
    expected = {email: (first, last, role, kind) for email, first, last, role, kind, _ in data.NAMED_ACCOUNTS}
    for email, (first, last, role, kind) in expected.items():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user is not None, email
        assert (user.first_name, user.last_name, str(user.role)) == (first, last, role)
        assert user.agency.kind == kind and user.territory_id == seeded.id
        assert user.is_active
        assert verify_password(user.password_hash, "parcours-demo")
    assert {"referente.cd@demo.parcours.fr", "referent.ft@demo.parcours.fr",
            "conseillere.ml@demo.parcours.fr",
            "partenaire.caf@demo.parcours.fr", "partenaire.ccas@demo.parcours.fr",
            "partenaire.asso@demo.parcours.fr", "responsable.cd@demo.parcours.fr",
            "responsable.ft@demo.parcours.fr", "admin@demo.parcours.fr"} <= set(expected)
    assert db.session.scalar(sa.select(User.role).where(User.email == "admin@demo.parcours.fr")) == Role.ADMIN
    # The extra referents are plain professionals of the same territory, with unique emails.
    emails = db.session.scalars(sa.select(User.email)).all()
    assert len(emails) == len(set(emails))
    assert all(e == e.lower() and e.endswith("@demo.parcours.fr") for e in emails)
    # One hash for everybody (hashed once).
    assert _scalar(sa.select(sa.func.count(sa.distinct(User.password_hash)))) == 1


def test_the_neighbour_territory_is_small_and_separate(seeded):
    neighbour = db.session.scalar(sa.select(Territory).where(Territory.code == "98"))
    assert neighbour.name == "Territoire voisin (98)"
    user = db.session.scalar(sa.select(User).where(User.email == "referent.voisin@demo.parcours.fr"))
    assert user.territory_id == neighbour.id and verify_password(user.password_hash, "parcours-demo")
    assert count_rows(Agency, Agency.territory_id == neighbour.id) == 1
    assert 1 <= count_rows(Beneficiary, Beneficiary.territory_id == neighbour.id) <= 10
    assert count_rows(Pathway, Pathway.territory_id == neighbour.id, Pathway.referent_id == user.id) >= 1
    # Nothing of territory 98 points into territory 99.
    assert count_rows(Pathway, Pathway.territory_id == neighbour.id, Pathway.lead_agency_id.in_(
        sa.select(Agency.id).where(Agency.territory_id == seeded.id))) == 0


def test_people_count_and_caseloads(seeded):
    assert count_rows(Beneficiary, Beneficiary.territory_id == seeded.id) == 60
    claire = db.session.scalar(sa.select(User).where(User.email == "referente.cd@demo.parcours.fr"))
    assert count_rows(Pathway, Pathway.referent_id == claire.id, Pathway.closed_at.is_(None)) >= 3


def test_default_size_gives_realistic_caseloads(runner):
    result = runner.invoke(args=["seed-demo", "--now", NOW_ISO, "--no-progress"])
    assert result.exit_code == 0, result.output
    for email in ("referente.cd@demo.parcours.fr", "referent.ft@demo.parcours.fr"):
        user_id = _scalar(sa.select(User.id).where(User.email == email))
        caseload = count_rows(Pathway, Pathway.referent_id == user_id)
        assert 20 <= caseload <= 70, (email, caseload)


# ---- coverage: every stage and every alert-relevant situation ---------------------------------


def test_people_at_every_stage(seeded):
    stages = set(db.session.scalars(sa.select(Pathway.stage).where(Pathway.territory_id == seeded.id)))
    assert stages == set(Stage)
    # Some people have a closed old pathway and a new open one.
    reopened = (
        sa.select(Pathway.beneficiary_id)
        .group_by(Pathway.beneficiary_id)
        .having(sa.func.count() > 1, sa.func.sum(sa.case((Pathway.closed_at.is_(None), 1), else_=0)) == 1)
    )
    assert db.session.execute(reopened).first() is not None


def test_every_alert_situation_is_present(seeded):
    tid = seeded.id
    grace = NOW - timedelta(days=2)
    open_pathway = sa.and_(Pathway.territory_id == tid, Pathway.closed_at.is_(None))
    # no referent after 30 days
    assert count_rows(Pathway, open_pathway, Pathway.stage == Stage.INTAKE, Pathway.referent_id.is_(None),
                  Pathway.started_at < NOW - timedelta(days=30))
    # not oriented 42 days after it began
    assert count_rows(Pathway, open_pathway, Pathway.orientation.is_(None),
                  Pathway.started_at < NOW - timedelta(days=42))
    # employed with a past check-in still planned
    assert db.session.execute(
        sa.select(Meeting.id).join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(open_pathway, Pathway.stage == Stage.EMPLOYED, Meeting.kind == MeetingKind.CHECKIN,
               Meeting.status == MeetingStatus.PLANNED, Meeting.scheduled_at < grace)
    ).first()
    # every check-in held and none left: closure to propose
    done = (
        sa.select(Pathway.id).where(
            open_pathway, Pathway.stage == Stage.EMPLOYED,
            sa.exists().where(Meeting.pathway_id == Pathway.id, Meeting.kind == MeetingKind.CHECKIN),
            ~sa.exists().where(Meeting.pathway_id == Pathway.id, Meeting.kind == MeetingKind.CHECKIN,
                               Meeting.status != MeetingStatus.HELD))
    )
    assert db.session.execute(done).first()
    # a check-in still to come, and one held
    assert count_rows(Meeting, Meeting.kind == MeetingKind.CHECKIN, Meeting.scheduled_at > NOW)
    assert count_rows(Meeting, Meeting.kind == MeetingKind.CHECKIN, Meeting.status == MeetingStatus.HELD)
    # missed, more than 7 days ago, nothing planned or held since
    later = sa.orm.aliased(Meeting)
    assert db.session.execute(
        sa.select(Meeting.id).join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(open_pathway, Meeting.status == MeetingStatus.MISSED,
               Meeting.scheduled_at < NOW - timedelta(days=7),
               ~sa.exists().where(later.pathway_id == Meeting.pathway_id,
                                  later.scheduled_at > Meeting.scheduled_at,
                                  later.status.in_([MeetingStatus.PLANNED, MeetingStatus.HELD])))
    ).first()
    # planned in the past (beyond the grace period), never recorded
    assert db.session.execute(
        sa.select(Meeting.id).join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(open_pathway, Meeting.kind == MeetingKind.FOLLOW_UP, Meeting.status == MeetingStatus.PLANNED,
               Meeting.scheduled_at < grace)
    ).first()
    # follow-up overdue: last held meeting older than the cadence, nothing planned
    last_held = (
        sa.select(Meeting.pathway_id, sa.func.max(Meeting.scheduled_at).label("last"))
        .where(Meeting.status == MeetingStatus.HELD).group_by(Meeting.pathway_id).subquery()
    )
    planned = sa.exists().where(Meeting.pathway_id == Pathway.id, Meeting.status == MeetingStatus.PLANNED)
    candidates = db.session.execute(
        sa.select(Pathway.orientation, last_held.c.last).join(last_held, last_held.c.pathway_id == Pathway.id)
        .where(open_pathway, Pathway.stage == Stage.SUPPORT, ~planned)
    ).all()
    assert any(last < NOW - timedelta(days=seeded.cadence_days(o)) for o, last in candidates)
    # an upcoming meeting within the cadence (the normal case)
    assert count_rows(Meeting, Meeting.status == MeetingStatus.PLANNED, Meeting.scheduled_at > NOW,
                  Meeting.kind == MeetingKind.FOLLOW_UP)
    # open barrier past due
    assert count_rows(Barrier, Barrier.territory_id == tid,
                  Barrier.status.in_([BarrierStatus.OPEN, BarrierStatus.IN_PROGRESS]), Barrier.due_on < TODAY)
    # referral sent more than 10 days ago, unanswered
    assert count_rows(Referral, Referral.territory_id == tid, Referral.status == ReferralStatus.SENT,
                  Referral.sent_at < NOW - timedelta(days=10))
    assert count_rows(Referral, Referral.status == ReferralStatus.SENT,
                  Referral.sent_at > NOW - timedelta(days=10))
    # contract ending within 30 days
    assert db.session.execute(
        sa.select(Contract.id).join(Pathway, Pathway.id == Contract.pathway_id)
        .where(open_pathway, Contract.ends_on >= TODAY, Contract.ends_on <= TODAY + timedelta(days=30))
    ).first()
    # oriented more than 30 days ago, no contract
    assert db.session.execute(
        sa.select(Pathway.id).where(open_pathway, Pathway.oriented_at < NOW - timedelta(days=30),
                                    ~sa.exists().where(Contract.pathway_id == Pathway.id))
    ).first()
    # a contract signed late (more than a month after the orientation)
    late = [
        (signed, oriented)
        for signed, oriented in db.session.execute(
            sa.select(sa.func.min(Contract.signed_on), Pathway.oriented_at)
            .join(Pathway, Pathway.id == Contract.pathway_id).group_by(Pathway.id, Pathway.oriented_at)
        )
        if oriented is not None and signed > oriented.date() + timedelta(days=30)
    ]
    assert late


def test_variety_of_barriers_referrals_consents_notes_and_handovers(seeded):
    assert set(db.session.scalars(sa.select(Barrier.category).distinct())) == set(BarrierCategory)
    assert set(db.session.scalars(sa.select(Barrier.status).distinct())) == set(BarrierStatus)
    assert set(db.session.scalars(sa.select(Referral.status).distinct())) == set(ReferralStatus)
    assert count_rows(Referral, Referral.decline_reason.is_not(None))
    assert set(db.session.scalars(sa.select(Entry.visibility).distinct())) == set(Visibility)
    assert set(db.session.scalars(
        sa.select(Meeting.notes_visibility)
        .where(Meeting.status == MeetingStatus.HELD, Meeting.notes.is_not(None))
        .distinct())) == set(Visibility)
    assert count_rows(Meeting, Meeting.status == MeetingStatus.CANCELLED)
    assert count_rows(Consent, Consent.withdrawn_at.is_(None))
    assert count_rows(Consent, Consent.withdrawn_at.is_not(None))
    # team pathways without any consent
    assert db.session.execute(
        sa.select(Pathway.id).where(sa.exists().where(PathwayMember.pathway_id == Pathway.id),
                                    ~sa.exists().where(Consent.pathway_id == Pathway.id))
    ).first()
    # handovers: an ended assignment, then the current one with a note
    assert count_rows(ReferentAssignment, ReferentAssignment.ended_at.is_not(None))
    assert count_rows(ReferentAssignment, ReferentAssignment.ended_at.is_(None),
                  ReferentAssignment.note.is_not(None))
    # team sizes from 0 to 3 partner agencies
    sizes = set(db.session.scalars(
        sa.select(sa.func.count(PathwayMember.id)).where(PathwayMember.removed_at.is_(None))
        .group_by(PathwayMember.pathway_id)))
    assert {1, 2, 3} <= sizes
    kinds = set(db.session.scalars(sa.select(Contract.kind).distinct()))
    assert {"cer", "ppae"} <= {str(k) for k in kinds}
    assert {"cej", "pacea"} & {str(k) for k in kinds}


# ---- invariants ----------------------------------------------------------------------------------


def test_no_beneficiary_has_two_open_pathways(seeded):
    rows = db.session.execute(
        sa.select(Pathway.beneficiary_id).where(Pathway.closed_at.is_(None))
        .group_by(Pathway.beneficiary_id).having(sa.func.count() > 1)
    ).all()
    assert rows == []
    assert count_rows(Beneficiary, ~sa.exists().where(Pathway.beneficiary_id == Beneficiary.id)) == 0


def test_pathway_invariants(seeded):
    for p in db.session.scalars(sa.select(Pathway)):
        assert (p.stage == Stage.CLOSED) == (p.closed_at is not None) == (p.closure_reason is not None)
        assert (p.orientation is None) == (p.oriented_at is None)
        if p.stage == Stage.EMPLOYED:
            assert p.employment_started_on is not None and p.employment_started_on <= TODAY
        if p.referent_id is not None:
            assert p.referent.agency_id == p.lead_agency_id
        else:
            assert p.stage == Stage.INTAKE
        assert p.beneficiary.territory_id == p.territory_id == p.lead_agency.territory_id
        assert p.started_at <= NOW and (p.oriented_at is None or p.started_at <= p.oriented_at <= NOW)
        assert p.closed_at is None or p.started_at < p.closed_at <= NOW
        assert p.started_at.tzinfo is not None
        # one current assignment, matching the referent; a closed pathway's last one ended at closure
        current = [a for a in p.assignments if a.ended_at is None]
        if p.referent_id is None:
            assert p.assignments == []
        elif p.closed_at is None:
            assert [(a.user_id, a.agency_id) for a in current] == [(p.referent_id, p.lead_agency_id)]
        else:
            last = max(p.assignments, key=lambda a: a.started_at)
            assert current == [] and (last.user_id, last.agency_id) == (p.referent_id, p.lead_agency_id)
            assert last.ended_at == max(p.closed_at, last.started_at)
        for a in p.assignments:
            assert a.ended_at is None or a.ended_at >= a.started_at
            assert a.user.agency_id == a.agency_id and a.territory_id == p.territory_id


def test_meeting_invariants(seeded):
    for m in db.session.scalars(sa.select(Meeting)):
        assert (m.status in (MeetingStatus.HELD, MeetingStatus.MISSED)) == (m.recorded_at is not None)
        assert (m.status == MeetingStatus.CANCELLED) == (m.cancelled_at is not None)
        if m.recorded_at is not None:
            assert m.scheduled_at <= m.recorded_at <= NOW
        assert m.organizer.agency_id == m.agency_id
        assert m.pathway.territory_id == m.territory_id == m.organizer.territory_id
        assert 5 <= m.duration_minutes <= 480
        assert m.scheduled_at >= m.pathway.started_at
        assert m.created_at <= NOW
        if m.status != MeetingStatus.PLANNED:
            assert m.scheduled_at <= NOW
        if m.status in (MeetingStatus.PLANNED, MeetingStatus.CANCELLED):
            assert m.notes is None  # notes are written when a meeting is recorded
        if m.notes is None:
            assert m.notes_visibility == Visibility.AGENCY  # the default: nothing is shared
        if m.kind == MeetingKind.CHECKIN:
            assert m.pathway.employment_started_on is not None
        assert m.scheduled_at.astimezone(timezone(timedelta(hours=1))).weekday() < 5
    # the notes of held meetings are shared with the team, kept in the agency or for the referent
    held_with_notes = sa.select(Meeting.notes_visibility).where(
        Meeting.status == MeetingStatus.HELD, Meeting.notes.is_not(None)
    )
    assert set(db.session.scalars(held_with_notes.distinct())) == set(Visibility)
    # closed pathways have nothing left planned
    assert db.session.execute(
        sa.select(Meeting.id).join(Pathway, Pathway.id == Meeting.pathway_id)
        .where(Pathway.closed_at.is_not(None), Meeting.status == MeetingStatus.PLANNED)
    ).first() is None


def test_barrier_and_referral_invariants(seeded):
    for b in db.session.scalars(sa.select(Barrier)):
        assert (b.status == BarrierStatus.LIFTED) == (b.lifted_at is not None)
        assert b.lifted_at is None or b.created_at <= b.lifted_at <= NOW
        assert b.territory_id == b.pathway.territory_id
        pending = [r for r in b.referrals if r.status in (ReferralStatus.SENT, ReferralStatus.ACCEPTED)]
        assert len(pending) <= 1
        for r in b.referrals:
            assert (r.answered_at is None) == (r.status == ReferralStatus.SENT)
            assert r.status != ReferralStatus.DECLINED or r.decline_reason is not None
            assert r.sent_at >= b.created_at and r.sent_at <= NOW
            assert r.answered_at is None or r.sent_at <= r.answered_at <= NOW
            assert r.agency_id != b.pathway.lead_agency_id and r.territory_id == b.territory_id
            # the partner asked is in the pathway's team
            assert count_rows(PathwayMember, PathwayMember.pathway_id == b.pathway_id,
                          PathwayMember.agency_id == r.agency_id, PathwayMember.removed_at.is_(None))
            if r.answered_by_id is not None:
                assert db.session.get(User, r.answered_by_id).agency_id == r.agency_id


def test_team_consent_contract_and_journal_invariants(seeded):
    for m in db.session.scalars(sa.select(PathwayMember)):
        assert m.agency_id != m.pathway.lead_agency_id
        assert m.agency.territory_id == m.territory_id == m.pathway.territory_id
        assert m.removed_at is None or m.removed_at >= m.added_at
    active_members = db.session.execute(
        sa.select(PathwayMember.pathway_id, PathwayMember.agency_id).where(PathwayMember.removed_at.is_(None))
        .group_by(PathwayMember.pathway_id, PathwayMember.agency_id).having(sa.func.count() > 1)
    ).all()
    assert active_members == []
    for c in db.session.scalars(sa.select(Consent)):
        assert c.withdrawn_at is None or c.withdrawn_at >= c.given_at
        assert c.given_at >= c.pathway.started_at and c.territory_id == c.pathway.territory_id
    assert db.session.execute(
        sa.select(Consent.pathway_id).where(Consent.withdrawn_at.is_(None))
        .group_by(Consent.pathway_id).having(sa.func.count() > 1)
    ).all() == []
    expected_kind = {"departmental_council": {"cer"}, "ccas": {"cer"}, "association": {"cer"},
                     "france_travail": {"ppae"}, "cap_emploi": {"ppae"}, "mission_locale": {"cej", "pacea"}}
    for c in db.session.scalars(sa.select(Contract)):
        assert c.ends_on is None or c.ends_on >= c.starts_on
        assert c.signed_on <= TODAY and c.territory_id == c.pathway.territory_id
        assert str(c.kind) in expected_kind[str(c.pathway.lead_agency.kind)]
    for e in db.session.scalars(sa.select(Entry)):
        pathway = db.session.get(Pathway, e.pathway_id)
        assert e.author.agency_id == e.author_agency_id
        assert e.territory_id == pathway.territory_id == e.author.territory_id
        assert pathway.started_at <= e.occurred_at <= (pathway.closed_at or NOW) and e.body


def test_people_look_real_and_carry_no_nir(seeded):
    ml_people = set(db.session.scalars(
        sa.select(Pathway.beneficiary_id).join(Agency, Agency.id == Pathway.lead_agency_id)
        .where(Agency.kind == AgencyKind.MISSION_LOCALE)))
    for b in db.session.scalars(sa.select(Beneficiary)):
        assert b.search_name == search_key(b.last_name, b.first_name, b.birth_name)
        born = b.birth_date
        age = TODAY.year - born.year - ((TODAY.month, TODAY.day) < (born.month, born.day))
        assert (16 <= age <= 25) if b.id in ml_people else (18 <= age <= 64), (b.id, age)
        assert b.caf_number is None or re.fullmatch(r"\d{7}", b.caf_number)
        assert b.france_travail_id is None or re.fullmatch(r"\d{7}[A-Z]", b.france_travail_id)
        assert b.postal_code is None or re.fullmatch(r"\d{5}", b.postal_code)
        assert isinstance(b.rights, list)
    for table in db.metadata.tables.values():
        assert not any("nir" in column.name.lower().split("_") for column in table.c)


# ---- determinism, idempotence, reset, errors -----------------------------------------------------


def test_second_run_without_reset_changes_nothing(seeded, runner):
    before = _counts()
    result = runner.invoke(args=ARGS)
    assert result.exit_code == 0
    assert "Données de démonstration déjà présentes" in result.output
    assert _counts() == before


def test_same_seed_and_now_give_the_same_data(seeded, runner):
    first = _fingerprint()
    _seed(runner, "--reset")
    assert _fingerprint() == first
    assert count_rows(Territory, Territory.code.in_(["98", "99"])) == 2
    _seed(runner, "--reset", "--seed", "7")
    assert _fingerprint() != first


def test_dates_follow_now(runner):
    _seed(runner, "--now", "2030-01-15T10:00:00")  # a naive time means UTC
    later = datetime(2030, 1, 15, 10, tzinfo=UTC)
    assert _scalar(sa.select(sa.func.max(Pathway.started_at))) <= later
    assert _scalar(sa.select(sa.func.min(Pathway.started_at))) > later - timedelta(days=5 * 365)
    assert count_rows(Meeting, Meeting.status == MeetingStatus.PLANNED, Meeting.scheduled_at > later)


def test_orm_inserts_after_seeding_do_not_collide(seeded):
    tid = seeded.id
    person = Beneficiary(territory_id=tid, first_name="Test", last_name="Après", search_name="apres test")
    db.session.add(person)
    db.session.flush()
    assert person.id > _scalar(sa.select(sa.func.max(Beneficiary.id)).where(Beneficiary.id != person.id))


def test_a_failure_keeps_nothing_and_exits_non_zero(runner, monkeypatch):
    calls = {"n": 0}
    original = DemoSeeder._person

    def failing(self, ctx):
        calls["n"] += 1
        if calls["n"] == 30:
            raise RuntimeError("panne simulée")
        return original(self, ctx)

    monkeypatch.setattr(DemoSeeder, "_person", failing)
    result = runner.invoke(args=ARGS)
    assert result.exit_code != 0
    assert "panne simulée" in result.output and "--reset" in result.output
    assert count_rows(Territory, Territory.code.in_(["98", "99"])) == 0
    assert count_rows(Beneficiary) == 0


def test_bad_now_is_refused(runner):
    result = runner.invoke(args=["seed-demo", "--now", "demain", "--no-progress"])
    assert result.exit_code == 2
    assert "--now" in result.output


def test_reset_keeps_other_territories(runner, make_user):
    other = make_user()
    _seed(runner)
    _seed(runner, "--reset")
    assert db.session.get(User, other.id) is not None
    assert count_rows(Territory, Territory.code == "99") == 1


def test_closed_pathways_have_no_current_referent_assignment(seeded) -> None:
    """As close_pathway does: the referent's assignment ends when the pathway closes."""
    from app.pathways.models import Pathway, ReferentAssignment

    current_on_closed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ReferentAssignment)
        .join(Pathway, Pathway.id == ReferentAssignment.pathway_id)
        .where(Pathway.closed_at.is_not(None), ReferentAssignment.ended_at.is_(None))
    )
    assert current_on_closed == 0


# ---- golden output: the generator's refactorings must not change a single row -------------------

# sha256 of every demo row (see `_checksum`) for ARGS, recorded before the generator was split into
# modules. A change here means `flask seed-demo` no longer writes the same data for the same seed and
# `--now`: only update it when the data set is meant to change.
GOLDEN_COUNTS = {
    "agency": 8, "barrier": 96, "beneficiary": 68, "consent": 49, "contract": 47, "entry": 179, "meeting": 364,
    "pathway": 71, "pathway_member": 85, "referent_assignment": 68, "referral": 34, "territory": 2,
    "user_account": 13,
}
# Recorded anew with entry.note_type/version/edited_at, beneficiary.duplicate_reason,
# user_account.proconnect_sub, agency.siret/safir_code/address (all empty in the demo),
# territory.password_login_allowed (true), user_account.alert_digest/muted_notifications (defaults),
# the empty `invitation`, `import_*` and `notification` tables, then the empty `directory_import`,
# `export_job` and `export_file` tables: without those, the previous checksum is unchanged
# (checked each time by leaving the new tables out).
GOLDEN_CHECKSUM = "56fa20b9462020261280cc3d3a0283f252038435a5638f98e6b4d6a3ee5f76df"


def _id_table(column: sa.Column) -> str | None:
    """The table whose id a column holds: composite foreign keys (which keep a row in its
    territory, or an agency with its user) may point to another table's foreign key first."""
    for fk in sorted(column.foreign_keys, key=lambda fk: str(fk.column)):
        if fk.column.name == "id":
            return fk.column.table.name
    for fk in sorted(column.foreign_keys, key=lambda fk: str(fk.column)):
        if found := _id_table(fk.column):
            return found
    return None


def _checksum() -> tuple[dict[str, int], str]:
    """Row counts and one checksum of every column of every demo table.

    Ids depend on the database's sequences (PostgreSQL's are not rolled back between tests), so
    every id and foreign key is taken relative to the smallest id of the table it points to.
    Password hashes are salted: left out.
    """
    import hashlib

    counts: dict[str, int] = {}
    base: dict[str, int] = {}
    tables = [t for t in db.metadata.sorted_tables if "id" in t.c]
    for table in tables:
        base[table.name] = db.session.execute(sa.select(sa.func.min(table.c.id))).scalar() or 0
    digest = hashlib.sha256()
    for table in sorted(db.metadata.sorted_tables, key=lambda t: t.name):
        if table.name in ("steering_count", "steering_rollup", "steering_delta"):
            continue  # derived, keyed by ids without foreign keys; checked by steering.check_counters
        rows = db.session.execute(sa.select(table)).all()
        counts[table.name] = len(rows)
        columns = [c for c in table.c if c.name != "password_hash"]
        targets = {c.name: _id_table(c) for c in columns if _id_table(c)}
        normalised = []
        for row in rows:
            values = []
            for column in columns:
                value = row._mapping[column]
                if value is not None and column.name == "id":
                    value -= base[table.name]
                elif value is not None and column.name in targets:
                    value -= base[targets[column.name]]
                if isinstance(value, datetime):
                    value = value.astimezone(UTC).isoformat()
                values.append(repr(value) if not isinstance(value, str) else value)
            normalised.append("\x1f".join(values))
        digest.update(table.name.encode())
        for line in sorted(normalised):
            digest.update(line.encode() + b"\n")
    return {name: n for name, n in counts.items() if n}, digest.hexdigest()


def test_the_demo_data_set_is_the_one_recorded(seeded):
    counts, checksum = _checksum()
    assert counts == GOLDEN_COUNTS
    assert checksum == GOLDEN_CHECKSUM
    # The generator wrote each pathway's follow-up summary (and its copy on the members): a recount agrees.
    from app.followup import summary

    assert summary.drift(db.session.connection()) == []
