"""Scan state per territory, for incremental follow-up scans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22

Reviewed: one row per territory (deleted with it); no personal data.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('scan_state',
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('last_now', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_full_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settings_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_scan_state_territory_id_territory'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('territory_id', name=op.f('pk_scan_state'))
    )


def downgrade():
    op.drop_table('scan_state')
