"""ProConnect: the identity key of a professional who signs in through ProConnect.

Revision ID: 0012_proconnect
Revises: 0011_records
Create Date: 2026-12-02

`user_account.proconnect_sub` holds the `sub` claim ProConnect gives this account (unique,
NULL until the first ProConnect login links the account by its verified e-mail address).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_proconnect'
down_revision = '0011_records'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('proconnect_sub', sa.String(length=255), nullable=True))
        batch_op.create_unique_constraint('uq_user_account_proconnect_sub', ['proconnect_sub'])


def downgrade():
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_constraint('uq_user_account_proconnect_sub', type_='unique')
        batch_op.drop_column('proconnect_sub')
