"""Indexes of the incremental follow-up scan.

Revision ID: 0020_scan_indexes
Revises: 0019_steering_rollup
Create Date: 2026-12-04

Reviewed: indexes only, nothing else changes. An incremental scan looks for the pathways with a
row written since the previous scan (`updated_at`) or whose compared date crossed a rule's delay
since (`rules.changed_pathways`); without these indexes it read every pathway, meeting, barrier,
contract and referral of the territory every 15 minutes (11 M rows at 1 M people, ≈ 5 s). The
open barriers' window already has `ix_barrier_territory_open_due`. On a large database in
service the builds lock the tables' writes for their duration (≈ 1 min at 1 M people): run the
upgrade in a maintenance window (docs/OPERATIONS.md, upgrades).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_scan_indexes'
down_revision = '0019_steering_rollup'
branch_labels = None
depends_on = None

UPDATED = ('pathway', 'meeting', 'barrier', 'contract', 'referral')


def upgrade():
    for table in UPDATED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f'ix_{table}_updated_at', ['updated_at'], unique=False)
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.create_index('ix_meeting_territory_time', ['territory_id', 'scheduled_at'], unique=False)
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.create_index('ix_contract_territory_ends', ['territory_id', 'ends_on'], unique=False)
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_territory_pending_sent', ['territory_id', 'sent_at'], unique=False,
                              postgresql_where=sa.text("status = 'sent'"),
                              sqlite_where=sa.text("status = 'sent'"))


def downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_territory_pending_sent')
    with op.batch_alter_table('contract', schema=None) as batch_op:
        batch_op.drop_index('ix_contract_territory_ends')
    with op.batch_alter_table('meeting', schema=None) as batch_op:
        batch_op.drop_index('ix_meeting_territory_time')
    for table in reversed(UPDATED):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_updated_at')
