"""Daily digest deliveries: one row per (referent, Paris day), so each digest goes out once.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Reviewed: a new table only (no change to existing ones). No personal data of the people followed:
a user id, a day, a status, counters and an exception class name. Rows go with their user
(ON DELETE CASCADE) and are purged with the audit retention (app/pathways/retention.py).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_delivery',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('digest_date', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sending', 'sent', 'failed', 'cancelled', name='digest_delivery_status', native_enum=False, create_constraint=True, length=17), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=80), nullable=True),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_digest_delivery_sent_is_dated')),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_digest_delivery_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_delivery')),
    sa.UniqueConstraint('user_id', 'digest_date', name=op.f('uq_digest_delivery_user_id_digest_date'))
    )
    with op.batch_alter_table('digest_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_digest_delivery_date_status', ['digest_date', 'status'], unique=False)


def downgrade():
    with op.batch_alter_table('digest_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_delivery_date_status')

    op.drop_table('digest_delivery')
