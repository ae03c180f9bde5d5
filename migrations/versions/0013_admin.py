"""A territory runs itself: structures' identification, invitations, password login per territory.

Revision ID: 0013_admin
Revises: 0012_proconnect
Create Date: 2026-12-02

Reviewed: `agency.siret` (14 digits), `agency.safir_code` (France Travail, 5 digits) and
`agency.address`, all optional (NULL for existing structures); `territory.password_login_allowed`
(true for every existing territory: nothing changes until its admin says so); `invitation` holds
the SHA-256 of each invitation link's secret (never the secret), tied to its account and territory
by a composite foreign key (deleted with the account), with its expiry, use and revocation.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_admin'
down_revision = '0012_proconnect'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('invitation',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('invited_by_id', sa.Integer(), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_invitation_expires_after_creation')),
    sa.ForeignKeyConstraint(['invited_by_id'], ['user_account.id'], name=op.f('fk_invitation_invited_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_invitation_territory_id_territory'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id', 'territory_id'], ['user_account.id', 'user_account.territory_id'], name='fk_invitation_user_territory', ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitation')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitation_token_hash'))
    )
    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitation_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitation_user_id'), ['user_id'], unique=False)

    # Plain ADD COLUMN (SQLite has it): a batch copy of `territory` would fail on the rows that
    # reference it.
    op.add_column('agency', sa.Column('siret', sa.String(length=14), nullable=True))
    op.add_column('agency', sa.Column('safir_code', sa.String(length=5), nullable=True))
    op.add_column('agency', sa.Column('address', sa.String(length=300), nullable=True))
    op.add_column(
        'territory', sa.Column('password_login_allowed', sa.Boolean(), server_default=sa.text('true'), nullable=False)
    )



def downgrade():
    # SQLite drops a column by copying the table: with rows that others reference (every agency
    # references its territory), the copy must run with foreign keys off (PostgreSQL drops in place).
    sqlite = op.get_bind().dialect.name == 'sqlite'
    if sqlite:
        op.execute('PRAGMA foreign_keys=OFF')
    with op.batch_alter_table('territory', schema=None) as batch_op:
        batch_op.drop_column('password_login_allowed')

    with op.batch_alter_table('agency', schema=None) as batch_op:
        batch_op.drop_column('address')
        batch_op.drop_column('safir_code')
        batch_op.drop_column('siret')

    with op.batch_alter_table('invitation', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitation_user_id'))
        batch_op.drop_index(batch_op.f('ix_invitation_territory_id'))

    op.drop_table('invitation')
    if sqlite:
        op.execute('PRAGMA foreign_keys=ON')
