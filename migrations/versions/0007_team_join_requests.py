"""Requests to join a pathway's team; audit events by actor and time; single-use form tokens.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Reviewed: one pending request per (pathway, agency) (partial unique index); answered_at set exactly
when the request is answered (CHECK); the requesting agency belongs to the pathway's territory
(composite foreign key). The message is a short factual text (the request's reason).
The audit index by actor serves "what did this user see or do" and the join-request guard (a request
only for a pathway the user's own duplicate check revealed). form_submission holds only SHA-256 hashes
of single-use form tokens and where the first post went (a path), purged after two days.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('team_join_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('message', sa.String(length=500), nullable=True),
    sa.Column('status', sa.Enum('pending', 'accepted', 'refused', name='join_request_status', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answer_comment', sa.String(length=500), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'pending') = (answered_at IS NULL)", name=op.f('ck_team_join_request_answered_unless_pending')),
    sa.ForeignKeyConstraint(['agency_id', 'territory_id'], ['agency.id', 'agency.territory_id'], name='fk_team_join_request_agency_territory'),
    sa.ForeignKeyConstraint(['answered_by_id'], ['user_account.id'], name=op.f('fk_team_join_request_answered_by_id_user_account')),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_team_join_request_pathway_id_pathway')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_team_join_request_requested_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_team_join_request_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_join_request'))
    )
    with op.batch_alter_table('team_join_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_join_request_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_join_request_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index('uq_team_join_request_one_pending', ['pathway_id', 'agency_id'], unique=True, postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
    op.create_index('ix_audit_event_actor_time', 'audit_event', ['actor_id', 'occurred_at'], unique=False)
    op.create_table('form_submission',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('result_url', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_form_submission_user_id_user_account')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_form_submission'))
    )
    op.create_index('ix_form_submission_submitted_at', 'form_submission', ['submitted_at'], unique=False)


def downgrade():
    op.drop_index('ix_form_submission_submitted_at', table_name='form_submission')
    op.drop_table('form_submission')
    op.drop_index('ix_audit_event_actor_time', table_name='audit_event')
    with op.batch_alter_table('team_join_request', schema=None) as batch_op:
        batch_op.drop_index('uq_team_join_request_one_pending', postgresql_where=sa.text("status = 'pending'"), sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_index(batch_op.f('ix_team_join_request_territory_id'))
        batch_op.drop_index(batch_op.f('ix_team_join_request_pathway_id'))

    op.drop_table('team_join_request')
