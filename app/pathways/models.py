"""The person followed, their pathway, its referent history, team, consent, contracts and journal."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import StrEnum, TerritoryScoped, Timestamped, UTCDateTime, Versioned, enum_column, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.accounts.models import Agency, User


class Orientation(StrEnum):
    PROFESSIONAL = "professional", "Professionnelle"
    SOCIO_PROFESSIONAL = "socio_professional", "Socio-professionnelle"
    SOCIAL = "social", "Sociale"


class Stage(StrEnum):
    INTAKE = "intake", "Accueil"
    DIAGNOSIS = "diagnosis", "Diagnostic"
    SUPPORT = "support", "Accompagnement"
    EMPLOYED = "employed", "Suivi dans l'emploi"
    CLOSED = "closed", "Clôturé"


class ClosureReason(StrEnum):
    EMPLOYMENT_SUSTAINED = "employment_sustained", "Emploi durable (suivi dans l'emploi terminé)"
    TRAINING = "training", "Entrée en formation qualifiante"
    MOVED_AWAY = "moved_away", "Déménagement hors du département"
    RIGHTS_ENDED = "rights_ended", "Fin de droits"  # e.g. sortie du RSA
    NO_CONTACT = "no_contact", "Perte de contact"
    PERSON_REQUEST = "person_request", "À la demande de la personne"
    DECEASED = "deceased", "Décès"
    OTHER = "other", "Autre motif"


class EmploymentContractType(StrEnum):
    CDI = "cdi", "CDI"
    CDD = "cdd", "CDD"
    INTERIM = "interim", "Intérim"
    IAE = "iae", "Insertion par l'activité économique (IAE)"
    APPRENTICESHIP = "apprenticeship", "Apprentissage ou alternance"
    SELF_EMPLOYED = "self_employed", "Création d'activité ou indépendant"
    OTHER = "other", "Autre contrat"


class ContractKind(StrEnum):
    CER = "cer", "Contrat d'engagement réciproque (CER)"  # RSA, conseil départemental
    PPAE = "ppae", "Projet personnalisé d'accès à l'emploi (PPAE)"  # France Travail
    CEJ = "cej", "Contrat d'engagement jeune (CEJ)"
    PACEA = "pacea", "Parcours contractualisé d'accompagnement vers l'emploi et l'autonomie (PACEA)"


class ConsentMethod(StrEnum):
    WRITTEN = "written", "Consentement écrit"
    ORAL = "oral", "Consentement oral"


class Visibility(StrEnum):
    TEAM = "team", "Équipe de suivi"  # the whole team of the pathway (with consent)
    AGENCY = "agency", "Ma structure"  # the author's agency only
    REFERENT = "referent", "Référent uniquement"  # the referent and the author only


class JoinRequestStatus(StrEnum):
    PENDING = "pending", "En attente"
    ACCEPTED = "accepted", "Acceptée"
    REFUSED = "refused", "Refusée"


class EntryKind(StrEnum):
    NOTE = "note", "Note"
    REORIENTATION = "reorientation", "Réorientation"
    EVENT = "event", "Événement"


class NoteType(StrEnum):
    """What a journal note is about (the journal of the record can be filtered by it)."""

    INTERVIEW = "interview", "Entretien"
    CALL = "call", "Appel"
    STEP = "step", "Démarche"
    INFORMATION = "information", "Information"


class Beneficiary(TerritoryScoped, Timestamped, Versioned, db.Model):
    """The person followed. No NIR (social security number) is ever stored (DESIGN §3.9)."""

    __tablename__ = "beneficiary"
    __table_args__ = (
        sa.UniqueConstraint("id", "territory_id", name="uq_beneficiary_id_territory"),
        sa.Index("ix_beneficiary_territory_search", "territory_id", "search_name"),
        sa.Index("ix_beneficiary_territory_caf", "territory_id", "caf_number"),
        sa.Index("ix_beneficiary_territory_ft", "territory_id", "france_travail_id"),
        # Search by name on PostgreSQL (app/pathways/search.py): a trigram index serves the
        # substring LIKEs of every word. PostgreSQL only (`ddl_if`; the
        # column as an expression so that Alembic does not look for it on SQLite, which has no
        # trigrams and scans, its simple fallback); migration 0009 creates the same index.
        sa.Index(
            "ix_beneficiary_search_trgm",
            sa.literal_column("search_name"),
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
            # No pending list: people are written rarely and searched all day, and every search
            # would scan the unsorted pending entries (up to 4 MB) until a vacuum merges them.
            postgresql_with={"fastupdate": "off"},
        ).ddl_if(dialect="postgresql"),
        # …and the key's words, for the typos: a word one edit away is found by looking up its
        # few hundred neighbours (`search.neighbours`), exactly.
        sa.Index(
            "ix_beneficiary_search_words",
            sa.text("string_to_array(search_name, ' ')"),
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ).ddl_if(dialect="postgresql"),
        # create_all (the tests) needs the operator class before the index: create the extension
        # with the table, as migration 0009 does.
        {
            "listeners": [
                (
                    "before_create",
                    sa.DDL("CREATE EXTENSION IF NOT EXISTS pg_trgm").execute_if(dialect="postgresql"),
                )
            ]
        },
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(sa.String(80))
    last_name: Mapped[str] = mapped_column(sa.String(80))
    birth_name: Mapped[Optional[str]] = mapped_column(sa.String(80))  # nom de naissance
    birth_date: Mapped[Optional[date]] = mapped_column(sa.Date)
    email: Mapped[Optional[str]] = mapped_column(sa.String(254))
    phone: Mapped[Optional[str]] = mapped_column(sa.String(30))
    address: Mapped[Optional[str]] = mapped_column(sa.String(255))
    postal_code: Mapped[Optional[str]] = mapped_column(sa.String(5))
    city: Mapped[Optional[str]] = mapped_column(sa.String(120))
    caf_number: Mapped[Optional[str]] = mapped_column(sa.String(20))  # numéro allocataire
    france_travail_id: Mapped[Optional[str]] = mapped_column(sa.String(20))  # identifiant FT
    # Rights and benefits held, as codes (rsa, ass, aah, prime_activite, css…): see schemas.
    rights: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # Lower-case, accent-free "last first birth_name", kept by the services for fast search.
    search_name: Mapped[str] = mapped_column(sa.String(255), default="")
    # Why the record was created although the duplicate check found a likely match (« Créer quand
    # même »): the professional's words, kept with the person (the audit event holds only the fact).
    duplicate_reason: Mapped[Optional[str]] = mapped_column(sa.String(500))
    anonymised_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    pathways: Mapped[list[Pathway]] = relationship(back_populates="beneficiary")

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


class Pathway(TerritoryScoped, Timestamped, Versioned, db.Model):
    """One insertion pathway of one person. At most one open per person (partial unique index)."""

    __tablename__ = "pathway"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["beneficiary_id", "territory_id"],
            ["beneficiary.id", "beneficiary.territory_id"],
            name="fk_pathway_beneficiary_territory",
        ),
        sa.ForeignKeyConstraint(
            ["lead_agency_id", "territory_id"],
            ["agency.id", "agency.territory_id"],
            name="fk_pathway_lead_agency_territory",
        ),
        # The referent belongs to the lead agency: (referent, lead agency) must be a real user.
        sa.ForeignKeyConstraint(
            ["referent_id", "lead_agency_id"],
            ["user_account.id", "user_account.agency_id"],
            name="fk_pathway_referent_agency",
        ),
        sa.Index(
            "uq_pathway_one_open_per_beneficiary",
            "beneficiary_id",
            unique=True,
            postgresql_where=sa.text("closed_at IS NULL"),
            sqlite_where=sa.text("closed_at IS NULL"),
        ),
        sa.CheckConstraint("(stage = 'closed') = (closed_at IS NOT NULL)", name="closed_stage_has_date"),
        sa.CheckConstraint("(closed_at IS NULL) = (closure_reason IS NULL)", name="closure_has_reason"),
        sa.CheckConstraint("(orientation IS NULL) = (oriented_at IS NULL)", name="orientation_is_dated"),
        sa.CheckConstraint(
            "stage <> 'employed' OR employment_started_on IS NOT NULL",
            name="employed_has_start",
        ),
        sa.Index("ix_pathway_territory_stage", "territory_id", "stage"),
        sa.Index("ix_pathway_lead_agency_open", "lead_agency_id", "closed_at"),
        # The caseload's order (most urgent first) read from an index, for the big lists: an
        # agency's open pathways, a territory's (walked in order while a filter such as « my agency
        # is in the team » picks rows, until the page is full).
        sa.Index(
            "ix_pathway_agency_urgency",
            "lead_agency_id",
            "first_alert_due_at",
            "next_meeting_at",
            "id",
            postgresql_where=sa.text("closed_at IS NULL"),
            sqlite_where=sa.text("closed_at IS NULL"),
        ),
        sa.Index(
            "ix_pathway_territory_urgency",
            "territory_id",
            "first_alert_due_at",
            "next_meeting_at",
            "id",
            postgresql_where=sa.text("closed_at IS NULL"),
            sqlite_where=sa.text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    beneficiary_id: Mapped[int] = mapped_column(index=True)
    # The agency responsible for the pathway: the referent's agency, or the agency that opened the
    # pathway while no referent is named. Drives "who sees the whole record" (app/access.py).
    lead_agency_id: Mapped[int] = mapped_column()
    referent_id: Mapped[Optional[int]] = mapped_column(index=True)
    stage: Mapped[Stage] = mapped_column(enum_column(Stage, "pathway_stage"), default=Stage.INTAKE)
    orientation: Mapped[Optional[Orientation]] = mapped_column(enum_column(Orientation, "pathway_orientation"))
    oriented_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    closure_reason: Mapped[Optional[ClosureReason]] = mapped_column(
        enum_column(ClosureReason, "pathway_closure_reason")
    )
    closure_note: Mapped[Optional[str]] = mapped_column(sa.Text)
    # Return to work (suivi dans l'emploi).
    employment_started_on: Mapped[Optional[date]] = mapped_column(sa.Date)
    employment_contract_type: Mapped[Optional[EmploymentContractType]] = mapped_column(
        enum_column(EmploymentContractType, "employment_contract_type")
    )
    employer: Mapped[Optional[str]] = mapped_column(sa.String(160))
    job_title: Mapped[Optional[str]] = mapped_column(sa.String(160))

    # Follow-up summary, derived from meetings, barriers and alerts and kept exact by
    # app/followup/summary.py in every write's transaction: lists read these instead of
    # aggregating whole tables. Never written by the ORM (no service sets them).
    next_meeting_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # earliest planned
    last_held_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    open_barrier_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    open_alert_count: Mapped[int] = mapped_column(sa.Integer, default=0, server_default="0")
    first_alert_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    beneficiary: Mapped[Beneficiary] = relationship(back_populates="pathways", foreign_keys=[beneficiary_id])
    lead_agency: Mapped[Agency] = relationship(foreign_keys=[lead_agency_id])
    referent: Mapped[Optional[User]] = relationship(foreign_keys=[referent_id])
    assignments: Mapped[list[ReferentAssignment]] = relationship(
        back_populates="pathway", order_by="ReferentAssignment.started_at"
    )
    members: Mapped[list[PathwayMember]] = relationship(back_populates="pathway")
    consents: Mapped[list[Consent]] = relationship(back_populates="pathway")
    contracts: Mapped[list[Contract]] = relationship(back_populates="pathway")

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class ReferentAssignment(TerritoryScoped, db.Model):
    """History of referents: one open row (ended_at NULL) per pathway at most."""

    __tablename__ = "referent_assignment"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["user_id", "agency_id"],
            ["user_account.id", "user_account.agency_id"],
            name="fk_referent_assignment_user_agency",
        ),
        sa.Index(
            "uq_referent_assignment_one_current",
            "pathway_id",
            unique=True,
            postgresql_where=sa.text("ended_at IS NULL"),
            sqlite_where=sa.text("ended_at IS NULL"),
        ),
        sa.CheckConstraint("ended_at IS NULL OR ended_at >= started_at", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"), index=True)
    user_id: Mapped[int] = mapped_column(index=True)
    agency_id: Mapped[int] = mapped_column()
    assigned_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ended_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    note: Mapped[Optional[str]] = mapped_column(sa.Text)  # handover note for the next referent

    pathway: Mapped[Pathway] = relationship(back_populates="assignments")
    user: Mapped[User] = relationship(foreign_keys=[user_id])
    agency: Mapped[Agency] = relationship(
        foreign_keys=[agency_id], primaryjoin="ReferentAssignment.agency_id == Agency.id"
    )
    assigned_by: Mapped[Optional[User]] = relationship(foreign_keys=[assigned_by_id])


class PathwayMember(TerritoryScoped, db.Model):
    """An agency of the pathway's team (équipe de suivi). Removal keeps the row for history."""

    __tablename__ = "pathway_member"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["agency_id", "territory_id"],
            ["agency.id", "agency.territory_id"],
            name="fk_pathway_member_agency_territory",
        ),
        sa.Index(
            "uq_pathway_member_active",
            "pathway_id",
            "agency_id",
            unique=True,
            postgresql_where=sa.text("removed_at IS NULL"),
            sqlite_where=sa.text("removed_at IS NULL"),
        ),
        sa.Index("ix_pathway_member_agency_active", "agency_id", "removed_at"),
        # « Suivis par ma structure », most urgent first, read from the agency's own rows: the
        # caseload order of the pathway (copied below) for the active members of open pathways,
        # and by pathway for the records a partner may only know exist.
        sa.Index(
            "ix_pathway_member_team_urgency",
            "agency_id",
            "first_alert_due_at",
            "next_meeting_at",
            "pathway_id",
            postgresql_where=sa.text("removed_at IS NULL AND pathway_open AND pathway_shared"),
            sqlite_where=sa.text("removed_at IS NULL AND pathway_open AND pathway_shared"),
        ),
        sa.Index(
            "ix_pathway_member_team_pathway",
            "agency_id",
            "pathway_id",
            postgresql_where=sa.text("removed_at IS NULL AND NOT pathway_shared"),
            sqlite_where=sa.text("removed_at IS NULL AND NOT pathway_shared"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"), index=True)
    agency_id: Mapped[int] = mapped_column()
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    removed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    removed_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    # Copied from the pathway by app/followup/summary.py (never set by a service): the team list's
    # order, whether the pathway is open, and whether this agency reads the record (it leads it or
    # consent is given), so each segment of the list walks one index of this agency's rows. The
    # copy only narrows: access.team_membership_clause still applies the rule itself.
    pathway_open: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    pathway_shared: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())
    first_alert_due_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    next_meeting_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())

    pathway: Mapped[Pathway] = relationship(back_populates="members")
    agency: Mapped[Agency] = relationship(foreign_keys=[agency_id], primaryjoin="PathwayMember.agency_id == Agency.id")


# How an agency's memberships split between shared, existence-only and closed is far from
# independent (a CCAS may have no consented record at all): without statistics on the columns
# together, PostgreSQL assumes the average mix and, under a LIMIT, may scan the whole table hoping
# to find rows that do not exist. Created with the table (create_all) and by migration 0008.
PATHWAY_MEMBER_STATISTICS = (
    "CREATE STATISTICS IF NOT EXISTS st_pathway_member_agency_state (mcv, dependencies) "
    "ON agency_id, pathway_shared, pathway_open FROM pathway_member"
)
sa.event.listen(
    PathwayMember.__table__, "after_create", sa.DDL(PATHWAY_MEMBER_STATISTICS).execute_if(dialect="postgresql")
)


class TeamJoinRequest(TerritoryScoped, db.Model):
    """An agency asks to join a pathway's team (« Demander à rejoindre l'équipe de suivi »), after
    the duplicate check told it the person is already followed; the lead agency answers."""

    __tablename__ = "team_join_request"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["agency_id", "territory_id"],
            ["agency.id", "agency.territory_id"],
            name="fk_team_join_request_agency_territory",
        ),
        sa.Index(
            "uq_team_join_request_one_pending",
            "pathway_id",
            "agency_id",
            unique=True,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        ),
        sa.CheckConstraint(
            "(status = 'pending') = (answered_at IS NULL)", name="answered_unless_pending"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"), index=True)
    agency_id: Mapped[int] = mapped_column()  # the agency asking to join
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    message: Mapped[Optional[str]] = mapped_column(sa.String(500))
    status: Mapped[JoinRequestStatus] = mapped_column(
        enum_column(JoinRequestStatus, "join_request_status"), default=JoinRequestStatus.PENDING
    )
    answered_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))
    answered_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    answer_comment: Mapped[Optional[str]] = mapped_column(sa.String(500))

    agency: Mapped[Agency] = relationship(
        foreign_keys=[agency_id], primaryjoin="TeamJoinRequest.agency_id == Agency.id"
    )
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])


class Consent(TerritoryScoped, db.Model):
    """The person's agreement to share the record with the team: dated, revocable."""

    __tablename__ = "consent"
    __table_args__ = (
        sa.Index(
            "uq_consent_one_active",
            "pathway_id",
            unique=True,
            postgresql_where=sa.text("withdrawn_at IS NULL"),
            sqlite_where=sa.text("withdrawn_at IS NULL"),
        ),
        sa.CheckConstraint("withdrawn_at IS NULL OR withdrawn_at >= given_at", name="withdrawn_after_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"), index=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime())
    method: Mapped[ConsentMethod] = mapped_column(enum_column(ConsentMethod, "consent_method"))
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
    withdrawn_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())
    withdrawn_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("user_account.id"))

    pathway: Mapped[Pathway] = relationship(back_populates="consents")

    @property
    def is_active(self) -> bool:
        return self.withdrawn_at is None


class Contract(TerritoryScoped, Timestamped, Versioned, db.Model):
    """An engagement contract (CER, PPAE, CEJ, PACEA)."""

    __tablename__ = "contract"
    __table_args__ = (
        sa.CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="ends_after_start"),
        sa.Index("ix_contract_pathway_ends", "pathway_id", "ends_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"), index=True)
    kind: Mapped[ContractKind] = mapped_column(enum_column(ContractKind, "contract_kind"))
    signed_on: Mapped[date] = mapped_column(sa.Date)
    starts_on: Mapped[date] = mapped_column(sa.Date)
    ends_on: Mapped[Optional[date]] = mapped_column(sa.Date)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))

    pathway: Mapped[Pathway] = relationship(back_populates="contracts")


class Entry(TerritoryScoped, Versioned, db.Model):
    """A dated note or event on the shared record (journal), with its visibility.

    A note is corrected by its author (`pathways.services.edit_entry`): each correction keeps the
    version it replaces in `EntryVersion`, so the history stays readable."""

    __tablename__ = "entry"
    __table_args__ = (sa.Index("ix_entry_pathway_occurred", "pathway_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pathway_id: Mapped[int] = mapped_column(sa.ForeignKey("pathway.id"))
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"), index=True)
    author_agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agency.id"))
    kind: Mapped[EntryKind] = mapped_column(enum_column(EntryKind, "entry_kind"), default=EntryKind.NOTE)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "entry_visibility"))
    body: Mapped[str] = mapped_column(sa.Text)
    note_type: Mapped[Optional[NoteType]] = mapped_column(enum_column(NoteType, "entry_note_type"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    edited_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime())  # last correction

    author: Mapped[User] = relationship(foreign_keys=[author_id])
    author_agency: Mapped[Agency] = relationship(foreign_keys=[author_agency_id])


class EntryVersion(TerritoryScoped, db.Model):
    """A previous version of a journal note, kept when its author corrects it (or when its
    visibility is narrowed). Read under the entry's rule AND its own visibility: a version written
    for fewer readers never reaches the readers the note was later opened to."""

    __tablename__ = "entry_version"
    __table_args__ = (sa.UniqueConstraint("entry_id", "version", name="uq_entry_version_entry_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    entry_id: Mapped[int] = mapped_column(sa.ForeignKey("entry.id"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)  # the entry's version this row was
    body: Mapped[str] = mapped_column(sa.Text)
    visibility: Mapped[Visibility] = mapped_column(enum_column(Visibility, "entry_version_visibility"))
    note_type: Mapped[Optional[NoteType]] = mapped_column(enum_column(NoteType, "entry_version_note_type"))
    written_at: Mapped[datetime] = mapped_column(UTCDateTime())  # when this version was written
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaced_by_id: Mapped[int] = mapped_column(sa.ForeignKey("user_account.id"))
