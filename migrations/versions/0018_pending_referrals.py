"""A partner's pending requests in the order the portfolio shows them.

Revision ID: 0018_pending_referrals
Revises: 0017_exports
Create Date: 2026-12-04

Reviewed: one partial index, nothing else changes. `ix_referral_agency_pending_sent` (agency_id,
sent_at) WHERE status = 'sent' serves « demandes en attente » (oldest first, LIMIT 100): at 1 M
people a CAF with 25 000 pending requests sorted them all on every portfolio page (62 ms).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_pending_referrals'
down_revision = '0017_exports'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.create_index('ix_referral_agency_pending_sent', ['agency_id', 'sent_at'], unique=False,
                              postgresql_where=sa.text("status = 'sent'"),
                              sqlite_where=sa.text("status = 'sent'"))


def downgrade():
    with op.batch_alter_table('referral', schema=None) as batch_op:
        batch_op.drop_index('ix_referral_agency_pending_sent',
                            postgresql_where=sa.text("status = 'sent'"),
                            sqlite_where=sa.text("status = 'sent'"))
