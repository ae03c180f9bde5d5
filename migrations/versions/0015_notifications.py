"""Notifications to professionals: the outbox, and each professional's mail preferences.

Revision ID: 0015_notifications
Revises: 0014_imports
Create Date: 2026-12-02

Reviewed: `notification` holds one row per (event, object, recipient) — its `key` is unique, so a
notification is recorded once — with ids only (no personal data of the person followed, no note),
its status, attempts, next attempt and last error (an exception class); it goes with its recipient
and its pathway (CASCADE). `user_account.alert_digest` ('daily' for every existing account) and
`user_account.muted_notifications` ('' : every notification on) are plain ADD COLUMNs with server
defaults: nothing changes for existing accounts.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015_notifications'
down_revision = '0014_imports'
branch_labels = None
depends_on = None

EVENTS = ('referral.sent', 'referral.answered', 'pathway.handed_to', 'pathway.taken_from', 'team.join_requested',
          'alert.raised')
STATUSES = ('pending', 'sent', 'failed')


def upgrade():
    op.create_table('notification',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('event', sa.Enum(*EVENTS, name='notification_event', native_enum=False, create_constraint=True, length=27), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('pathway_id', sa.Integer(), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum(*STATUSES, name='notification_status', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=80), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name=op.f('ck_notification_sent_is_dated')),
    sa.ForeignKeyConstraint(['actor_id'], ['user_account.id'], name=op.f('fk_notification_actor_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['pathway_id'], ['pathway.id'], name=op.f('fk_notification_pathway_id_pathway'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_notification_territory_id_territory'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_notification_user_id_user_account'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification')),
    sa.UniqueConstraint('key', name=op.f('uq_notification_key'))
    )
    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.create_index('ix_notification_status_next_attempt', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_pathway_id'), ['pathway_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_notification_user_id'), ['user_id'], unique=False)

    # Plain ADD COLUMN (SQLite has it): a batch copy of `user_account` would fail on the rows that
    # reference it.
    op.add_column('user_account', sa.Column('alert_digest', sa.String(length=10), server_default='daily', nullable=False))
    op.add_column('user_account', sa.Column('muted_notifications', sa.String(length=300), server_default='', nullable=False))


def downgrade():
    # SQLite drops a column by copying the table: with rows that others reference, the copy must run
    # with foreign keys off (PostgreSQL drops in place).
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_column('muted_notifications')
        batch_op.drop_column('alert_digest')

    with op.batch_alter_table('notification', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notification_user_id'))
        batch_op.drop_index(batch_op.f('ix_notification_territory_id'))
        batch_op.drop_index(batch_op.f('ix_notification_pathway_id'))
        batch_op.drop_index('ix_notification_status_next_attempt')

    op.drop_table('notification')
    if sqlite:
        op.execute('PRAGMA foreign_keys=ON')
