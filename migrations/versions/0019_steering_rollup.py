"""« Pilotage » of wide scopes: the steering counters rolled up per agency and per referent.

Revision ID: 0019_steering_rollup
Revises: 0018_pending_referrals
Create Date: 2026-12-04

Reviewed: derived numbers only, no personal data. `steering_delta` receives, from triggers on
`steering_count` itself, what each statement changed, summed per agency and key and per referent
and metric; `steering_rollup` holds the compacted sums (`steering.compact`, run by the scheduler).
Writers only append to `steering_delta`, so no counter row is shared by two writers. The upgrade
fills the rollup from the counters; `ix_steering_count_referent` serves the rows of the referents
« Pilotage » shows and the referent pickers' caseload counts; `ix_user_account_territory_name` the
first referents of a territory by name (the filter of « Pilotage », the pickers), without sorting
every account of the territory. The trigger SQL is
app/followup/steering.py's, as of this revision (CREATE OR REPLACE: a later change of it comes with
its own migration).
"""
from alembic import op
import sqlalchemy as sa

from app.followup import steering


# revision identifiers, used by Alembic.
revision = '0019_steering_rollup'
down_revision = '0018_pending_referrals'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('steering_rollup',
    sa.Column('territory_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('referent_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('agency_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('metric', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_steering_rollup_territory_id_territory'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('territory_id', 'referent_id', 'agency_id', 'metric', 'key', name=op.f('pk_steering_rollup'))
    )
    op.create_table('steering_delta',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('referent_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=10), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('n', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_steering_delta_territory_id_territory'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_steering_delta'))
    )
    with op.batch_alter_table('steering_count', schema=None) as batch_op:
        batch_op.create_index('ix_steering_count_referent', ['referent_id'], unique=False)
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.create_index('ix_user_account_territory_name', ['territory_id', 'last_name', 'first_name', 'id'],
                              unique=False)
    conn = op.get_bind()
    for statement in steering.rollup_install_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    steering.rebuild_rollup(conn, None)


def downgrade():
    conn = op.get_bind()
    for statement in steering.rollup_drop_ddl(conn.dialect.name):
        conn.exec_driver_sql(statement)
    with op.batch_alter_table('steering_count', schema=None) as batch_op:
        batch_op.drop_index('ix_steering_count_referent')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index('ix_user_account_territory_name')
    op.drop_table('steering_delta')
    op.drop_table('steering_rollup')
