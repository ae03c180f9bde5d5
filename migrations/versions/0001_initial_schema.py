"""Initial schema: territories, agencies, users, people, pathways and their records.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Reviewed by hand after autogenerate:
- timestamps are plain `DateTime(timezone=True)` (the model's UTCDateTime decorator only converts
  values in Python; the column type is the same);
- boolean server defaults are `true` (valid on PostgreSQL and SQLite >= 3.23);
- the partial unique indexes carry their WHERE clause for both dialects: they hold the invariants
  of DESIGN §3.1 (one open pathway per person, one current referent) and §3.6 (one unresolved alert
  per pathway, kind and subject);
- composite foreign keys (…, territory_id) keep every reference inside one territory.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('territory',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=3), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('cadence_professional_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('cadence_socio_professional_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('cadence_social_days', sa.Integer(), server_default='60', nullable=False),
    sa.Column('grace_days', sa.Integer(), server_default='2', nullable=False),
    sa.Column('reschedule_days', sa.Integer(), server_default='7', nullable=False),
    sa.Column('no_referent_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('orientation_delay_days', sa.Integer(), server_default='42', nullable=False),
    sa.Column('contract_delay_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('contract_ending_days', sa.Integer(), server_default='30', nullable=False),
    sa.Column('referral_answer_days', sa.Integer(), server_default='10', nullable=False),
    sa.Column('checkin_months', sa.JSON(), nullable=False),
    sa.Column('retention_months', sa.Integer(), server_default='24', nullable=False),
    sa.Column('audit_retention_months', sa.Integer(), server_default='12', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('audit_retention_months BETWEEN 12 AND 36', name=op.f('ck_territory_audit_retention_range')),
    sa.CheckConstraint('cadence_professional_days > 0 AND cadence_socio_professional_days > 0 AND cadence_social_days > 0', name=op.f('ck_territory_cadences_positive')),
    sa.CheckConstraint('grace_days >= 0 AND reschedule_days > 0 AND no_referent_days > 0 AND orientation_delay_days > 0 AND contract_delay_days > 0 AND contract_ending_days > 0 AND referral_answer_days > 0', name=op.f('ck_territory_delays_positive')),
    sa.CheckConstraint('retention_months >= 1', name=op.f('ck_territory_retention_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_territory')),
    sa.UniqueConstraint('code', name=op.f('uq_territory_code'))
    )
    op.create_table('agency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('kind', sa.Enum('departmental_council', 'france_travail', 'caf', 'mission_locale', 'ccas', 'cap_emploi', 'association', name='agency_kind', native_enum=False, create_constraint=True, length=28), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('is_active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_agency_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency')),
    sa.UniqueConstraint('id', 'territory_id', name='uq_agency_id_territory'),
    sa.UniqueConstraint('territory_id', 'name', name='uq_agency_territory_name')
    )
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_territory_id'), ['territory_id'], unique=False)

    op.create_table('beneficiary',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('birth_name', sa.String(length=80), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=30), nullable=True),
    sa.Column('address', sa.String(length=255), nullable=True),
    sa.Column('postal_code', sa.String(length=5), nullable=True),
    sa.Column('city', sa.String(length=120), nullable=True),
    sa.Column('caf_number', sa.String(length=20), nullable=True),
    sa.Column('france_travail_id', sa.String(length=20), nullable=True),
    sa.Column('rights', sa.JSON(), nullable=False),
    sa.Column('search_name', sa.String(length=255), nullable=False),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_beneficiary_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beneficiary')),
    sa.UniqueConstraint('id', 'territory_id', name='uq_beneficiary_id_territory')
    )
    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.create_index('ix_beneficiary_territory_caf', ['territory_id', 'caf_number'], unique=False)
        batch_op.create_index('ix_beneficiary_territory_ft', ['territory_id', 'france_travail_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_beneficiary_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('ix_beneficiary_territory_search', ['territory_id', 'search_name'], unique=False)

    op.create_table('user_account',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('first_name', sa.String(length=80), nullable=False),
    sa.Column('last_name', sa.String(length=80), nullable=False),
    sa.Column('job_title', sa.String(length=120), nullable=True),
    sa.Column('role', sa.Enum('professional', 'manager', 'admin', name='user_role', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('is_active_account', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id', 'territory_id'], ['agency.id', 'agency.territory_id'], name='fk_user_account_agency_territory'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_user_account_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_account')),
    sa.UniqueConstraint('email', name=op.f('uq_user_account_email')),
    sa.UniqueConstraint('id', 'agency_id', name='uq_user_account_id_agency'),
    sa.UniqueConstraint('id', 'territory_id', name='uq_user_account_id_territory')
    )
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_account_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_user_account_territory_id'), ['territory_id'], unique=False)

    op.create_table('pathway',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beneficiary_id', sa.Integer(), nullable=False),
    sa.Column('lead_agency_id', sa.Integer(), nullable=False),
    sa.Column('referent_id', sa.Integer(), nullable=True),
    sa.Column('stage', sa.Enum('intake', 'diagnosis', 'support', 'employed', 'closed', name='pathway_stage', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('orientation', sa.Enum('professional', 'socio_professional', 'social', name='pathway_orientation', native_enum=False, create_constraint=True, length=26), nullable=True),
    sa.Column('oriented_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closure_reason', sa.Enum('employment_sustained', 'training', 'moved_away', 'rights_ended', 'no_contact', 'person_request', 'deceased', 'other', name='pathway_closure_reason', native_enum=False, create_constraint=True, length=28), nullable=True),
    sa.Column('closure_note', sa.Text(), nullable=True),
    sa.Column('employment_started_on', sa.Date(), nullable=True),
    sa.Column('employment_contract_type', sa.Enum('cdi', 'cdd', 'interim', 'iae', 'apprenticeship', 'self_employed', 'other', name='employment_contract_type', native_enum=False, create_constraint=True, length=22), nullable=True),
    sa.Column('employer', sa.String(length=160), nullable=True),
    sa.Column('job_title', sa.String(length=160), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(stage = 'closed') = (closed_at IS NOT NULL)", name=op.f('ck_pathway_closed_stage_has_date')),
    sa.CheckConstraint("stage <> 'employed' OR employment_started_on IS NOT NULL", name=op.f('ck_pathway_employed_has_start')),
    sa.CheckConstraint('(closed_at IS NULL) = (closure_reason IS NULL)', name=op.f('ck_pathway_closure_has_reason')),
    sa.CheckConstraint('(orientation IS NULL) = (oriented_at IS NULL)', name=op.f('ck_pathway_orientation_is_dated')),
    sa.ForeignKeyConstraint(['beneficiary_id', 'territory_id'], ['beneficiary.id', 'beneficiary.territory_id'], name='fk_pathway_beneficiary_territory'),
    sa.ForeignKeyConstraint(['lead_agency_id', 'territory_id'], ['agency.id', 'agency.territory_id'], name='fk_pathway_lead_agency_territory'),
    sa.ForeignKeyConstraint(['referent_id', 'lead_agency_id'], ['user_account.id', 'user_account.agency_id'], name='fk_pathway_referent_agency'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_pathway_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pathway'))
    )
    with op.batch_alter_table('pathway', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pathway_beneficiary_id'), ['beneficiary_id'], unique=False)
        batch_op.create_index('ix_pathway_lead_agency_open', ['lead_agency_id', 'closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pathway_referent_id'), ['referent_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pathway_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('ix_pathway_territory_stage', ['territory_id', 'stage'], unique=False)
        batch_op.create_index('uq_pathway_one_open_per_beneficiary', ['beneficiary_id'], unique=True, postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    op.create_table('alert',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('follow_up_overdue', 'meeting_unrecorded', 'missed_not_rescheduled', 'barrier_overdue', 'no_referent', 'orientation_late', 'contract_late', 'contract_ending', 'referral_unanswered', 'checkin_overdue', 'closure_proposed', name='alert_kind', native_enum=False, create_constraint=True, length=30), nullable=False),
    sa.Column('subject_key', sa.String(length=40), server_default='', nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.Enum('open', 'acknowledged', 'resolved', name='alert_status', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'resolved') = (resolved_at IS NOT NULL)", name=op.f('ck_alert_resolved_is_dated')),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['user_account.id'], name=op.f('fk_alert_acknowledged_by_id_user_account')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_alert_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_alert_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert'))
    )
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('ix_alert_territory_status_due', ['territory_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('uq_alert_one_unresolved', ['pathway_id', 'kind', 'subject_key'], unique=True, postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"))

    op.create_table('audit_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_agency_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('object_type', sa.String(length=40), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=True),
    sa.Column('pathway_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['actor_agency_id'], ['agency.id'], name=op.f('fk_audit_event_actor_agency_id_agency')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_audit_event_actor_id_user_account')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_audit_event_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_audit_event_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_pathway_time', ['pathway_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_event_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('ix_audit_event_territory_time', ['territory_id', 'occurred_at'], unique=False)

    op.create_table('barrier',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('category', sa.Enum('housing', 'mobility', 'health', 'family', 'language', 'digital', 'administrative', 'financial', 'training', 'employment', 'justice', 'other', name='barrier_category', native_enum=False, create_constraint=True, length=22), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('owner_agency_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'in_progress', 'lifted', 'abandoned', name='barrier_status', native_enum=False, create_constraint=True, length=19), nullable=False),
    sa.Column('lifted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'lifted') = (lifted_at IS NOT NULL)", name=op.f('ck_barrier_lifted_is_dated')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_barrier_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['owner_agency_id'], ['agency.id'], name=op.f('fk_barrier_owner_agency_id_agency')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_barrier_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_barrier_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_barrier'))
    )
    with op.batch_alter_table('barrier', schema=None) as batch_op:
        batch_op.create_index('ix_barrier_pathway_status', ['pathway_id', 'status'], unique=False)
        batch_op.create_index('ix_barrier_status_due', ['status', 'due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_barrier_territory_id'), ['territory_id'], unique=False)

    op.create_table('consent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.Enum('written', 'oral', name='consent_method', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_by_id', sa.Integer(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('withdrawn_at IS NULL OR withdrawn_at >= given_at', name=op.f('ck_consent_withdrawn_after_given')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_consent_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_consent_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_consent_territory_id_territory'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['withdrawn_by_id'], ['user_account.id'], name=op.f('fk_consent_withdrawn_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consent_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('uq_consent_one_active', ['pathway_id'], unique=True, postgresql_where=sa.text('withdrawn_at IS NULL'), sqlite_where=sa.text('withdrawn_at IS NULL'))

    op.create_table('contract',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('cer', 'ppae', 'cej', 'pacea', name='contract_kind', native_enum=False, create_constraint=True, length=13), nullable=False),
    sa.Column('signed_on', sa.Date(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('ends_on IS NULL OR ends_on >= starts_on', name=op.f('ck_contract_ends_after_start')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_contract_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_contract_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_contract_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract'))
    )
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index('ix_contract_pathway_ends', ['pathway_id', 'ends_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contract_territory_id'), ['territory_id'], unique=False)

    op.create_table('entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('author_agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('note', 'reorientation', 'event', name='entry_kind', native_enum=False, create_constraint=True, length=21), nullable=False),
    sa.Column('visibility', sa.Enum('team', 'agency', 'referent', name='entry_visibility', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['author_agency_id'], ['agency.id'], name=op.f('fk_entry_author_agency_id_agency')),
    sa.ForeignKeyConstraint(['author_id'], ['user_account.id'], name=op.f('fk_entry_author_id_user_account')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_entry_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_entry_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry'))
    )
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_author_id'), ['author_id'], unique=False)
        batch_op.create_index('ix_entry_pathway_occurred', ['pathway_id', 'occurred_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_entry_territory_id'), ['territory_id'], unique=False)

    op.create_table('meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('organizer_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('follow_up', 'checkin', name='meeting_kind', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), server_default='45', nullable=False),
    sa.Column('channel', sa.Enum('in_person', 'phone', 'video', name='meeting_channel', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('location', sa.String(length=255), nullable=True),
    sa.Column('status', sa.Enum('planned', 'held', 'missed', 'cancelled', name='meeting_status', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('notes_visibility', sa.Enum('team', 'agency', 'referent', name='meeting_notes_visibility', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('cancellation_reason', sa.String(length=255), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status IN ('held', 'missed')) = (recorded_at IS NOT NULL)", name=op.f('ck_meeting_recorded_when_held_or_missed')),
    sa.CheckConstraint('duration_minutes BETWEEN 5 AND 480', name=op.f('ck_meeting_duration_range')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_meeting_agency_id_agency')),
    sa.ForeignKeyConstraint(['organizer_id'], ['user_account.id'], name=op.f('fk_meeting_organizer_id_user_account')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_meeting_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_meeting_recorded_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_meeting_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meeting'))
    )
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_organizer_time', ['organizer_id', 'scheduled_at'], unique=False)
        batch_op.create_index('ix_meeting_pathway_status_time', ['pathway_id', 'status', 'scheduled_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_meeting_territory_id'), ['territory_id'], unique=False)

    op.create_table('pathway_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('removed_by_id', sa.Integer(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['user_account.id'], name=op.f('fk_pathway_member_added_by_id_user_account')),
    sa.ForeignKeyConstraint(['agency_id', 'territory_id'], ['agency.id', 'agency.territory_id'], name='fk_pathway_member_agency_territory'),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_pathway_member_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['removed_by_id'], ['user_account.id'], name=op.f('fk_pathway_member_removed_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_pathway_member_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pathway_member'))
    )
    with op.batch_alter_table('pathway_member', schema=None) as batch_op:
        batch_op.create_index('ix_pathway_member_agency_active', ['agency_id', 'removed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_pathway_member_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_pathway_member_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('uq_pathway_member_active', ['pathway_id', 'agency_id'], unique=True, postgresql_where=sa.text('removed_at IS NULL'), sqlite_where=sa.text('removed_at IS NULL'))

    op.create_table('referent_assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('ended_at IS NULL OR ended_at >= started_at', name=op.f('ck_referent_assignment_ends_after_start')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_referent_assignment_assigned_by_id_user_account')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_referent_assignment_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_referent_assignment_territory_id_territory'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id', 'agency_id'], ['user_account.id', 'user_account.agency_id'], name='fk_referent_assignment_user_agency'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referent_assignment'))
    )
    with op.batch_alter_table('referent_assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referent_assignment_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referent_assignment_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referent_assignment_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_referent_assignment_one_current', ['pathway_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))

    op.create_table('referral',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('barrier_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('sent', 'accepted', 'declined', 'done', name='referral_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=False),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('decline_reason', sa.Enum('not_in_scope', 'no_capacity', 'already_followed', 'conditions_not_met', 'person_unreachable', 'other', name='referral_decline_reason', native_enum=False, create_constraint=True, length=26), nullable=True),
    sa.Column('answer_comment', sa.Text(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'sent') = (answered_at IS NULL)", name=op.f('ck_referral_answered_is_dated')),
    sa.CheckConstraint("status <> 'declined' OR decline_reason IS NOT NULL", name=op.f('ck_referral_declined_has_reason')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_referral_agency_id_agency')),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_referral_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['barrier_id'], ['barrier.id'], name=op.f('fk_referral_barrier_id_barrier')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['user_account.id'], name=op.f('fk_referral_sent_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_referral_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referral'))
    )
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_agency_status', ['agency_id', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_barrier_id'), ['barrier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_referral_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('uq_referral_one_pending_per_barrier', ['barrier_id'], unique=True, postgresql_where=sa.text("status IN ('sent', 'accepted')"), sqlite_where=sa.text("status IN ('sent', 'accepted')"))



def downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('uq_referral_one_pending_per_barrier', postgresql_where=sa.text("status IN ('sent', 'accepted')"), sqlite_where=sa.text("status IN ('sent', 'accepted')"))
        batch_op.drop_index(batch_op.f('ix_referral_territory_id'))
        batch_op.drop_index(batch_op.f('ix_referral_barrier_id'))
        batch_op.drop_index('ix_referral_agency_status')

    op.drop_table('referral')
    with op.batch_alter_table('referent_assignment', schema=None) as batch_op:
        batch_op.drop_index('uq_referent_assignment_one_current', postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_referent_assignment_user_id'))
        batch_op.drop_index(batch_op.f('ix_referent_assignment_territory_id'))
        batch_op.drop_index(batch_op.f('ix_referent_assignment_pathway_id'))

    op.drop_table('referent_assignment')
    with op.batch_alter_table('pathway_member', schema=None) as batch_op:
        batch_op.drop_index('uq_pathway_member_active', postgresql_where=sa.text('removed_at IS NULL'), sqlite_where=sa.text('removed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_pathway_member_territory_id'))
        batch_op.drop_index(batch_op.f('ix_pathway_member_pathway_id'))
        batch_op.drop_index('ix_pathway_member_agency_active')

    op.drop_table('pathway_member')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_territory_id'))
        batch_op.drop_index('ix_meeting_pathway_status_time')
        batch_op.drop_index('ix_meeting_organizer_time')

    op.drop_table('meeting')
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_territory_id'))
        batch_op.drop_index('ix_entry_pathway_occurred')
        batch_op.drop_index(batch_op.f('ix_entry_author_id'))

    op.drop_table('entry')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_territory_id'))
        batch_op.drop_index(batch_op.f('ix_contract_pathway_id'))
        batch_op.drop_index('ix_contract_pathway_ends')

    op.drop_table('contract')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('uq_consent_one_active', postgresql_where=sa.text('withdrawn_at IS NULL'), sqlite_where=sa.text('withdrawn_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_consent_territory_id'))
        batch_op.drop_index(batch_op.f('ix_consent_pathway_id'))

    op.drop_table('consent')
    with op.batch_alter_table('barrier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_barrier_territory_id'))
        batch_op.drop_index('ix_barrier_status_due')
        batch_op.drop_index('ix_barrier_pathway_status')

    op.drop_table('barrier')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_territory_time')
        batch_op.drop_index(batch_op.f('ix_audit_event_territory_id'))
        batch_op.drop_index('ix_audit_event_pathway_time')

    op.drop_table('audit_event')
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index('uq_alert_one_unresolved', postgresql_where=sa.text("status <> 'resolved'"), sqlite_where=sa.text("status <> 'resolved'"))
        batch_op.drop_index('ix_alert_territory_status_due')
        batch_op.drop_index(batch_op.f('ix_alert_territory_id'))
        batch_op.drop_index(batch_op.f('ix_alert_pathway_id'))

    op.drop_table('alert')
    with op.batch_alter_table('pathway', schema=None) as batch_op:
        batch_op.drop_index('uq_pathway_one_open_per_beneficiary', postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))
        batch_op.drop_index('ix_pathway_territory_stage')
        batch_op.drop_index(batch_op.f('ix_pathway_territory_id'))
        batch_op.drop_index(batch_op.f('ix_pathway_referent_id'))
        batch_op.drop_index('ix_pathway_lead_agency_open')
        batch_op.drop_index(batch_op.f('ix_pathway_beneficiary_id'))

    op.drop_table('pathway')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_territory_id'))
        batch_op.drop_index(batch_op.f('ix_user_account_agency_id'))

    op.drop_table('user_account')
    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.drop_index('ix_beneficiary_territory_search')
        batch_op.drop_index(batch_op.f('ix_beneficiary_territory_id'))
        batch_op.drop_index('ix_beneficiary_territory_ft')
        batch_op.drop_index('ix_beneficiary_territory_caf')

    op.drop_table('beneficiary')
    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_territory_id'))

    op.drop_table('agency')
    op.drop_table('territory')
