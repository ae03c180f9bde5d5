"""Steering counters of « Pilotage », kept by triggers.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02

Reviewed: `steering_count` holds derived numbers only (no personal data): open pathways by stage,
unresolved alerts by kind and open barriers by category, per territory × lead agency × referent
(0: none). Triggers on pathway, alert and barrier keep it exact for every writer (statement
triggers with transition tables on PostgreSQL, row triggers on SQLite); the upgrade fills it from
the existing data. Indexes bound the time-dependent figures (check-ins of the next 30 days, the
12-month legal indicators) and the lists behind the figures by their window or their LIMIT. The trigger SQL is app/followup/steering.py's, as of this revision: a later
change of it comes with its own migration (the functions are CREATE OR REPLACE).
"""
from alembic import op
import sqlalchemy as sa

from app.followup import steering


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('steering_count',
    sa.Column('territory_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('agency_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('referent_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('metric', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_steering_count_territory_id_territory'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('territory_id', 'agency_id', 'referent_id', 'metric', 'key', name=op.f('pk_steering_count'))
    )
    op.create_index('ix_meeting_planned_checkin_time', 'meeting', ['scheduled_at'], unique=False,
                    postgresql_where=sa.text("kind = 'checkin' AND status = 'planned'"),
                    sqlite_where=sa.text("kind = 'checkin' AND status = 'planned'"))
    op.create_index('ix_pathway_territory_started', 'pathway', ['territory_id', 'started_at'], unique=False,
                    postgresql_include=['oriented_at', 'lead_agency_id', 'referent_id', 'closed_at'])
    op.create_index('ix_pathway_territory_oriented', 'pathway', ['territory_id', 'oriented_at'], unique=False,
                    postgresql_include=['lead_agency_id', 'referent_id'])
    op.create_index('ix_barrier_territory_open_due', 'barrier', ['territory_id', 'due_on', 'id'], unique=False,
                    postgresql_where=sa.text("status IN ('open', 'in_progress')"),
                    sqlite_where=sa.text("status IN ('open', 'in_progress')"))
    conn = op.get_bind()
    for statement in steering.install_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    steering.rebuild_counters(conn, rollup=False)  # the rollup comes with 0019


def downgrade():
    conn = op.get_bind()
    for statement in steering.drop_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    op.drop_table('steering_count')
    op.drop_index('ix_barrier_territory_open_due', table_name='barrier')
    op.drop_index('ix_pathway_territory_oriented', table_name='pathway')
    op.drop_index('ix_pathway_territory_started', table_name='pathway')
    op.drop_index('ix_meeting_planned_checkin_time', table_name='meeting')
