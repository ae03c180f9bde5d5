"""factory_boy factories, one per model, and a few fixtures.

Every factory builds a consistent row with its parents (a meeting comes with its pathway, whose
referent, lead agency, person and territory agree), flushed but not committed. Times default to
`NOW` (the `now` fixture's instant) and before, so rules evaluated at `now` see a plausible past.
Traits name the states tests ask for: `MeetingFactory(held=True)`, `BarrierFactory(lifted=True)`,
`AlertFactory(acknowledged=True)`, `PathwayFactory(closed=True)`…
"""
from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta

import factory
import pytest
from factory.alchemy import SQLAlchemyModelFactory

from app.accounts.models import Agency, AgencyKind, ApiToken, PasswordReset, Role, Territory, User, UserSession
from app.accounts.passwords import hash_password
from app.admin.models import DirectoryImport, Invitation
from app.audit.models import AuditEvent
from app.barriers.models import Barrier, BarrierCategory, BarrierStatus, DeclineReason, Referral, ReferralStatus
from app.core.idempotency import FormSubmission
from app.exports.models import ExportFile, ExportJob, ExportStatus
from app.extensions import db
from app.followup.models import (
    Alert,
    AlertKind,
    AlertStatus,
    DeliveryStatus,
    DigestDelivery,
    ScanState,
    SteeringCount,
    SteeringDelta,
    SteeringRollup,
)
from app.imports.models import ImportJob, ImportMapping, ImportRejection, ImportStatus
from app.meetings.models import Meeting, MeetingChannel, MeetingKind, MeetingStatus
from app.notifications.models import Notification, NotificationEvent, NotificationStatus
from app.pathways.models import (
    Beneficiary,
    ClosureReason,
    Consent,
    ConsentMethod,
    Contract,
    ContractKind,
    EmploymentContractType,
    Entry,
    EntryKind,
    EntryVersion,
    JoinRequestStatus,
    Orientation,
    Pathway,
    PathwayMember,
    ReferentAssignment,
    Stage,
    TeamJoinRequest,
    Visibility,
)
from app.pathways.search import search_key

PASSWORD = "motdepasse-de-test-123"
_PASSWORD_HASH = hash_password(PASSWORD)


class BaseFactory(SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731 (swapped per test)
        sqlalchemy_session_persistence = "flush"


class TerritoryFactory(BaseFactory):
    class Meta:
        model = Territory

    code = factory.Sequence(lambda n: f"{(n % 900) + 100}")  # never clashes with real codes
    name = factory.LazyAttribute(lambda o: f"Département test {o.code}")


class AgencyFactory(BaseFactory):
    class Meta:
        model = Agency

    territory = factory.SubFactory(TerritoryFactory)
    territory_id = factory.SelfAttribute("territory.id")
    name = factory.Sequence(lambda n: f"Structure {n}")
    kind = AgencyKind.FRANCE_TRAVAIL


class UserFactory(BaseFactory):
    class Meta:
        model = User
        exclude = ("agency",)

    agency = factory.SubFactory(AgencyFactory)
    agency_id = factory.SelfAttribute("agency.id")
    territory_id = factory.SelfAttribute("agency.territory_id")
    email = factory.Sequence(lambda n: f"pro{n}@exemple.fr")
    password_hash = _PASSWORD_HASH
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    role = Role.PROFESSIONAL


class BeneficiaryFactory(BaseFactory):
    class Meta:
        model = Beneficiary

    territory_id = factory.LazyFunction(lambda: TerritoryFactory().id)
    first_name = factory.Faker("first_name", locale="fr_FR")
    last_name = factory.Faker("last_name", locale="fr_FR")
    birth_date = date(1985, 4, 12)
    search_name = factory.LazyAttribute(lambda o: search_key(o.last_name, o.first_name))


NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)  # the `now` fixture
TODAY = NOW.date()


def _days_ago(days: int) -> datetime:
    return NOW - timedelta(days=days)


def _hash(prefix: str, n: int) -> str:
    """A unique SHA-256 hex digest, shaped like the stored hashes of tokens and keys."""
    return hashlib.sha256(f"{prefix}-{n}".encode()).hexdigest()


def _colleague(agency: Agency) -> User:
    return UserFactory(agency=agency)


# ---- accounts ------------------------------------------------------------------------------------


class ApiTokenFactory(BaseFactory):
    class Meta:
        model = ApiToken

    user = factory.SubFactory(UserFactory)
    territory_id = factory.SelfAttribute("user.territory_id")
    token_hash = factory.Sequence(lambda n: _hash("api-token", n))
    created_at = factory.LazyFunction(lambda: _days_ago(1))
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=90))

    class Params:
        revoked = factory.Trait(revoked_at=factory.LazyFunction(lambda: _days_ago(0)))
        expired = factory.Trait(
            created_at=factory.LazyFunction(lambda: _days_ago(100)),
            expires_at=factory.LazyFunction(lambda: _days_ago(10)),
        )


class UserSessionFactory(BaseFactory):
    class Meta:
        model = UserSession

    user = factory.SubFactory(UserFactory)
    key_hash = factory.Sequence(lambda n: _hash("session", n))
    created_at = factory.LazyFunction(lambda: _days_ago(1))
    last_seen_at = factory.SelfAttribute("created_at")

    class Params:
        revoked = factory.Trait(revoked_at=factory.LazyFunction(lambda: _days_ago(0)))


class PasswordResetFactory(BaseFactory):
    class Meta:
        model = PasswordReset

    user = factory.SubFactory(UserFactory)
    token_hash = factory.Sequence(lambda n: _hash("reset", n))
    created_at = factory.LazyFunction(lambda: _days_ago(0))
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(hours=1))

    class Params:
        used = factory.Trait(used_at=factory.SelfAttribute("created_at"))


class InvitationFactory(BaseFactory):
    class Meta:
        model = Invitation

    user = factory.SubFactory(UserFactory, password_hash="!invited")
    territory_id = factory.SelfAttribute("user.territory_id")
    token_hash = factory.Sequence(lambda n: _hash("invitation", n))
    created_at = factory.LazyFunction(lambda: _days_ago(0))
    expires_at = factory.LazyAttribute(lambda o: o.created_at + timedelta(days=7))

    class Params:
        used = factory.Trait(used_at=factory.SelfAttribute("created_at"))
        revoked = factory.Trait(revoked_at=factory.SelfAttribute("created_at"))


class FormSubmissionFactory(BaseFactory):
    class Meta:
        model = FormSubmission

    token_hash = factory.Sequence(lambda n: _hash("form", n))
    user_id = factory.LazyFunction(lambda: UserFactory().id)
    submitted_at = factory.LazyFunction(lambda: _days_ago(0))
    result_url = "/portefeuille"


# ---- pathways ------------------------------------------------------------------------------------


class PathwayFactory(BaseFactory):
    """An open pathway at intake, with its referent (of the lead agency) and its person."""

    class Meta:
        model = Pathway

    referent = factory.SubFactory(UserFactory)
    lead_agency = factory.LazyAttribute(lambda o: o.referent.agency if o.referent else AgencyFactory())
    territory_id = factory.LazyAttribute(lambda o: o.lead_agency.territory_id)
    beneficiary = factory.SubFactory(BeneficiaryFactory, territory_id=factory.SelfAttribute("..territory_id"))
    stage = Stage.INTAKE
    started_at = factory.LazyFunction(lambda: _days_ago(60))

    class Params:
        without_referent = factory.Trait(referent=None)
        oriented = factory.Trait(
            stage=Stage.SUPPORT,
            orientation=Orientation.PROFESSIONAL,
            oriented_at=factory.LazyFunction(lambda: _days_ago(50)),
        )
        employed = factory.Trait(
            oriented=True,
            stage=Stage.EMPLOYED,
            employment_started_on=TODAY - timedelta(days=20),
            employment_contract_type=EmploymentContractType.CDI,
            employer="Boulangerie du Centre",
        )
        closed = factory.Trait(
            stage=Stage.CLOSED,
            closed_at=factory.LazyFunction(lambda: _days_ago(1)),
            closure_reason=ClosureReason.NO_CONTACT,
        )


def _referent_or_colleague(pathway: Pathway) -> User:
    return pathway.referent or _colleague(pathway.lead_agency)


def _partner_agency(pathway: Pathway) -> Agency:
    territory = db.session.get(Territory, pathway.territory_id)
    return AgencyFactory(territory=territory, kind=AgencyKind.CAF)


class _OfPathway(BaseFactory):
    """A row hanging from a pathway, in its territory."""

    class Meta:
        abstract = True

    pathway = factory.SubFactory(PathwayFactory)
    territory_id = factory.SelfAttribute("pathway.territory_id")


class ReferentAssignmentFactory(_OfPathway):
    """The pathway's current referent assignment (pass `ended=True` for a past one)."""

    class Meta:
        model = ReferentAssignment

    user = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway))
    agency_id = factory.SelfAttribute("user.agency_id")
    assigned_by_id = factory.SelfAttribute("user.id")
    started_at = factory.SelfAttribute("pathway.started_at")

    class Params:
        ended = factory.Trait(ended_at=factory.LazyFunction(lambda: _days_ago(5)), note="Passage de relais.")


class PathwayMemberFactory(_OfPathway):
    """A partner agency (a CAF of the same territory) in the pathway's team."""

    class Meta:
        model = PathwayMember

    agency = factory.LazyAttribute(lambda o: _partner_agency(o.pathway))
    added_at = factory.LazyFunction(lambda: _days_ago(30))
    added_by_id = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway).id)

    class Params:
        removed = factory.Trait(
            removed_at=factory.LazyFunction(lambda: _days_ago(2)),
            removed_by_id=factory.SelfAttribute("added_by_id"),
        )


class TeamJoinRequestFactory(_OfPathway):
    """A pending request of another agency of the territory to join the team."""

    class Meta:
        model = TeamJoinRequest
        exclude = ("pathway",)  # no relationship to it on the model

    pathway_id = factory.SelfAttribute("pathway.id")

    agency = factory.LazyAttribute(lambda o: _partner_agency(o.pathway))
    requested_by = factory.LazyAttribute(lambda o: _colleague(o.agency))
    requested_at = factory.LazyFunction(lambda: _days_ago(3))
    message = "Nous suivons déjà cette personne."
    status = JoinRequestStatus.PENDING

    class Params:
        accepted = factory.Trait(
            status=JoinRequestStatus.ACCEPTED,
            answered_at=factory.LazyFunction(lambda: _days_ago(1)),
            answered_by_id=factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway).id),
        )
        refused = factory.Trait(
            status=JoinRequestStatus.REFUSED,
            answered_at=factory.LazyFunction(lambda: _days_ago(1)),
            answered_by_id=factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway).id),
            answer_comment="Déjà dans l'équipe.",
        )


class ConsentFactory(_OfPathway):
    """The person's active consent to share the record with the team."""

    class Meta:
        model = Consent

    given_at = factory.LazyFunction(lambda: _days_ago(30))
    method = ConsentMethod.WRITTEN
    recorded_by_id = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway).id)

    class Params:
        withdrawn = factory.Trait(
            withdrawn_at=factory.LazyFunction(lambda: _days_ago(2)),
            withdrawn_by_id=factory.SelfAttribute("recorded_by_id"),
        )


class ContractFactory(_OfPathway):
    """A CER running from a month ago for six months."""

    class Meta:
        model = Contract

    kind = ContractKind.CER
    signed_on = TODAY - timedelta(days=30)
    starts_on = factory.SelfAttribute("signed_on")
    ends_on = factory.LazyAttribute(lambda o: o.starts_on + timedelta(days=182))
    recorded_by_id = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway).id)

    class Params:
        ending_soon = factory.Trait(
            signed_on=TODAY - timedelta(days=170), ends_on=TODAY + timedelta(days=10)
        )


class EntryFactory(_OfPathway):
    """A journal note of the referent, visible to the team."""

    class Meta:
        model = Entry
        exclude = ("pathway",)  # no relationship to it on the model

    pathway_id = factory.SelfAttribute("pathway.id")

    author = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway))
    author_agency_id = factory.SelfAttribute("author.agency_id")
    kind = EntryKind.NOTE
    visibility = Visibility.TEAM
    body = factory.Sequence(lambda n: f"Note de suivi n° {n}.")
    occurred_at = factory.LazyFunction(lambda: _days_ago(3))
    created_at = factory.SelfAttribute("occurred_at")


class EntryVersionFactory(BaseFactory):
    """The version a note had before its author corrected it."""

    class Meta:
        model = EntryVersion
        exclude = ("entry",)  # no relationship to it on the model

    entry = factory.SubFactory(EntryFactory, version=2)
    entry_id = factory.SelfAttribute("entry.id")
    territory_id = factory.SelfAttribute("entry.territory_id")
    version = 1
    body = "Première rédaction de la note."
    visibility = factory.SelfAttribute("entry.visibility")
    written_at = factory.SelfAttribute("entry.created_at")
    replaced_at = factory.LazyFunction(lambda: _days_ago(1))
    replaced_by_id = factory.SelfAttribute("entry.author_id")


# ---- meetings, barriers, referrals ---------------------------------------------------------------


class MeetingFactory(_OfPathway):
    """A planned follow-up meeting a week from now, organised by the referent."""

    class Meta:
        model = Meeting

    organizer = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway))
    agency_id = factory.SelfAttribute("organizer.agency_id")
    kind = MeetingKind.FOLLOW_UP
    channel = MeetingChannel.IN_PERSON
    scheduled_at = factory.LazyFunction(lambda: NOW + timedelta(days=7))
    duration_minutes = 45
    status = MeetingStatus.PLANNED
    notes_visibility = Visibility.AGENCY

    class Params:
        planned = factory.Trait(status=MeetingStatus.PLANNED)
        held = factory.Trait(
            status=MeetingStatus.HELD,
            scheduled_at=factory.LazyFunction(lambda: _days_ago(7)),
            recorded_at=factory.SelfAttribute("scheduled_at"),
            recorded_by_id=factory.SelfAttribute("organizer.id"),
            notes="Point sur la recherche d'emploi.",
        )
        missed = factory.Trait(
            status=MeetingStatus.MISSED,
            scheduled_at=factory.LazyFunction(lambda: _days_ago(7)),
            recorded_at=factory.SelfAttribute("scheduled_at"),
            recorded_by_id=factory.SelfAttribute("organizer.id"),
        )
        cancelled = factory.Trait(
            status=MeetingStatus.CANCELLED,
            cancelled_at=factory.LazyFunction(lambda: _days_ago(1)),
            cancellation_reason="Empêchement.",
        )


class BarrierFactory(_OfPathway):
    """An open mobility barrier, owned by the lead agency."""

    class Meta:
        model = Barrier

    category = BarrierCategory.MOBILITY
    title = "Pas de permis"
    owner_agency_id = factory.SelfAttribute("pathway.lead_agency_id")
    created_by_id = factory.LazyAttribute(lambda o: _referent_or_colleague(o.pathway).id)
    status = BarrierStatus.OPEN
    created_at = factory.LazyFunction(lambda: _days_ago(20))

    class Params:
        in_progress = factory.Trait(status=BarrierStatus.IN_PROGRESS)
        lifted = factory.Trait(status=BarrierStatus.LIFTED, lifted_at=factory.LazyFunction(lambda: _days_ago(1)))
        abandoned = factory.Trait(status=BarrierStatus.ABANDONED)
        overdue = factory.Trait(due_on=TODAY - timedelta(days=5))


_ANSWERED = {
    "answered_at": factory.LazyFunction(lambda: _days_ago(1)),
    "answered_by_id": factory.LazyAttribute(lambda o: _colleague(o.agency).id),
}


class ReferralFactory(BaseFactory):
    """A referral of a barrier to a partner agency of the territory, waiting for an answer."""

    class Meta:
        model = Referral

    barrier = factory.SubFactory(BarrierFactory)
    territory_id = factory.SelfAttribute("barrier.territory_id")
    agency = factory.LazyAttribute(lambda o: _partner_agency(o.barrier.pathway))
    status = ReferralStatus.SENT
    message = "Pouvez-vous recevoir cette personne ?"
    sent_at = factory.LazyFunction(lambda: _days_ago(5))
    sent_by_id = factory.SelfAttribute("barrier.created_by_id")

    class Params:
        accepted = factory.Trait(status=ReferralStatus.ACCEPTED, **_ANSWERED)
        declined = factory.Trait(status=ReferralStatus.DECLINED, decline_reason=DeclineReason.NO_CAPACITY, **_ANSWERED)
        done = factory.Trait(status=ReferralStatus.DONE, **_ANSWERED)


# ---- follow-up and audit -------------------------------------------------------------------------


class AlertFactory(_OfPathway):
    """An open follow-up-overdue alert of a pathway."""

    class Meta:
        model = Alert

    kind = AlertKind.FOLLOW_UP_OVERDUE
    subject_key = ""
    due_at = factory.LazyFunction(lambda: _days_ago(2))
    status = AlertStatus.OPEN
    raised_at = factory.LazyFunction(lambda: _days_ago(1))

    class Params:
        open = factory.Trait(status=AlertStatus.OPEN)
        acknowledged = factory.Trait(
            status=AlertStatus.ACKNOWLEDGED,
            acknowledged_at=factory.LazyFunction(lambda: _days_ago(0)),
            acknowledged_by_id=factory.SelfAttribute("pathway.referent_id"),
        )
        resolved = factory.Trait(status=AlertStatus.RESOLVED, resolved_at=factory.LazyFunction(lambda: _days_ago(0)))


class ScanStateFactory(BaseFactory):
    """A territory already scanned (fully) an hour ago."""

    class Meta:
        model = ScanState
        exclude = ("territory",)

    territory = factory.SubFactory(TerritoryFactory)
    territory_id = factory.SelfAttribute("territory.id")
    last_now = factory.LazyFunction(lambda: NOW - timedelta(hours=1))
    last_started_at = factory.SelfAttribute("last_now")
    last_full_at = factory.SelfAttribute("last_now")
    settings_version = factory.SelfAttribute("territory.version")


class _SteeringRowFactory(BaseFactory):
    """A row of « Pilotage »'s derived numbers (tests of the triggers compare them with a recount)."""

    class Meta:
        abstract = True
        exclude = ("territory",)

    territory = factory.SubFactory(TerritoryFactory)
    territory_id = factory.SelfAttribute("territory.id")
    agency_id = 1
    referent_id = 0  # no referent
    metric = "stage"
    key = "intake"
    n = 1


class SteeringCountFactory(_SteeringRowFactory):
    """One counter of « Pilotage »."""

    class Meta:
        model = SteeringCount


class SteeringRollupFactory(_SteeringRowFactory):
    """One compacted sum of counters (written by `steering.compact`)."""

    class Meta:
        model = SteeringRollup

    referent_id = -1  # steering.ASSIGNED


class SteeringDeltaFactory(_SteeringRowFactory):
    """One appended change of the counters, not compacted yet."""

    class Meta:
        model = SteeringDelta

    referent_id = -1


class DigestDeliveryFactory(BaseFactory):
    """Today's digest of a user, not sent yet."""

    class Meta:
        model = DigestDelivery
        exclude = ("user",)

    user = factory.SubFactory(UserFactory)
    user_id = factory.SelfAttribute("user.id")
    digest_date = TODAY
    status = DeliveryStatus.PENDING
    created_at = factory.LazyFunction(lambda: _days_ago(0))

    class Params:
        sent = factory.Trait(status=DeliveryStatus.SENT, attempts=1, sent_at=factory.SelfAttribute("created_at"))
        failed = factory.Trait(status=DeliveryStatus.FAILED, attempts=1, last_error="SMTPServerDisconnected")


class NotificationFactory(_OfPathway):
    """A join request's notification to the pathway's referent, waiting to be sent."""

    class Meta:
        model = Notification
        exclude = ("pathway", "request")

    request = factory.LazyAttribute(lambda o: TeamJoinRequestFactory(pathway=o.pathway))
    event = NotificationEvent.TEAM_JOIN_REQUESTED
    object_id = factory.SelfAttribute("request.id")
    user_id = factory.SelfAttribute("pathway.referent_id")
    pathway_id = factory.SelfAttribute("pathway.id")
    actor_id = factory.SelfAttribute("request.requested_by_id")
    key = factory.LazyAttribute(lambda o: f"{o.event.value}:{o.object_id}:{o.user_id}")
    status = NotificationStatus.PENDING
    next_attempt_at = factory.LazyFunction(lambda: _days_ago(0))
    created_at = factory.LazyFunction(lambda: _days_ago(0))

    class Params:
        sent = factory.Trait(status=NotificationStatus.SENT, attempts=1, sent_at=factory.SelfAttribute("created_at"))
        failed = factory.Trait(status=NotificationStatus.FAILED, attempts=5, last_error="SMTPRecipientsRefused")


class AuditEventFactory(BaseFactory):
    """A professional read a pathway."""

    class Meta:
        model = AuditEvent
        exclude = ("actor", "pathway")

    pathway = factory.SubFactory(PathwayFactory)
    actor = factory.SelfAttribute("pathway.referent")
    territory_id = factory.SelfAttribute("pathway.territory_id")
    actor_id = factory.LazyAttribute(lambda o: o.actor.id if o.actor else None)
    actor_agency_id = factory.LazyAttribute(lambda o: o.actor.agency_id if o.actor else None)
    occurred_at = factory.LazyFunction(lambda: _days_ago(0))
    action = "pathway.read"
    object_type = "pathway"
    object_id = factory.SelfAttribute("pathway.id")
    pathway_id = factory.SelfAttribute("pathway.id")
    details = factory.LazyFunction(dict)


class ImportJobFactory(BaseFactory):
    """An uploaded file, previewed, not run yet (the CLI's: no user)."""

    class Meta:
        model = ImportJob
        exclude = ("territory",)

    territory = factory.SubFactory(TerritoryFactory)
    territory_id = factory.SelfAttribute("territory.id")
    filename = "beneficiaires.csv"
    content = None
    headers = factory.LazyFunction(lambda: ["Identifiant dans le SI*", "Prénom*", "Nom*", "Date de naissance*"])
    preset = "carnet-de-bord"
    mapping = factory.LazyFunction(dict)
    ignored_columns = factory.LazyFunction(list)

    class Params:
        done = factory.Trait(status=ImportStatus.DONE, total_rows=10, rows_done=10, created_count=8,
                             rejected_count=2, finished_at=factory.LazyFunction(lambda: _days_ago(0)))


class ImportRejectionFactory(BaseFactory):
    class Meta:
        model = ImportRejection
        exclude = ("job",)

    job = factory.SubFactory(ImportJobFactory, done=True)
    job_id = factory.SelfAttribute("job.id")
    territory_id = factory.SelfAttribute("job.territory_id")
    line = 3
    reasons = factory.LazyFunction(lambda: ["Date de naissance : date impossible « 31/02/1980 »."])
    cells = factory.LazyFunction(lambda: ["A4", "Paul", "Durand", "31/02/1980"])


class ImportMappingFactory(BaseFactory):
    class Meta:
        model = ImportMapping
        exclude = ("territory",)

    territory = factory.SubFactory(TerritoryFactory)
    territory_id = factory.SelfAttribute("territory.id")
    name = factory.Sequence(lambda n: f"Extraction {n}")
    columns = factory.LazyFunction(lambda: {"external_id": "Matricule", "first_name": "Prénom",
                                            "last_name": "Nom", "birth_date": "Né le"})



class DirectoryImportFactory(BaseFactory):
    """A file of structures uploaded by the territory's admin, previewed, not run yet."""

    class Meta:
        model = DirectoryImport
        exclude = ("admin",)

    admin = factory.SubFactory(UserFactory, role=Role.ADMIN)
    territory_id = factory.SelfAttribute("admin.territory_id")
    created_by_id = factory.SelfAttribute("admin.id")
    kind = "agencies"
    filename = "structures.csv"
    headers = factory.LazyFunction(lambda: ["Nom*", "Type"])
    rows = factory.LazyFunction(lambda: [[2, ["CCAS de Bondy", "CCAS"]]])
    total_rows = 1


class ExportJobFactory(BaseFactory):
    """A caseload export asked for by a referent, built and downloadable for 48 h."""

    class Meta:
        model = ExportJob
        exclude = ("user",)

    user = factory.SubFactory(UserFactory)
    territory_id = factory.SelfAttribute("user.territory_id")
    requested_by_id = factory.SelfAttribute("user.id")
    agency_id = factory.SelfAttribute("user.agency_id")
    kind = "portfolio.moi"
    parameters = factory.LazyFunction(dict)
    format = "csv"
    status = ExportStatus.PENDING
    filename = "portefeuille-moi.csv"

    class Params:
        done = factory.Trait(
            status=ExportStatus.DONE, row_count=2, finished_at=factory.LazyFunction(lambda: _days_ago(0)),
            expires_at=factory.LazyAttribute(lambda o: o.finished_at + timedelta(hours=48)))


class ExportFileFactory(BaseFactory):
    class Meta:
        model = ExportFile
        exclude = ("job",)

    job = factory.SubFactory(ExportJobFactory, done=True)
    job_id = factory.SelfAttribute("job.id")
    seq = 0
    data = b"\xef\xbb\xbfParcours;Nom\r\n1;Benali\r\n"

@pytest.fixture
def make_territory():
    return TerritoryFactory


@pytest.fixture
def make_agency():
    return AgencyFactory


@pytest.fixture
def make_user():
    return UserFactory


@pytest.fixture
def password() -> str:
    return PASSWORD
