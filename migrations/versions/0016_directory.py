"""Imports of structures and professionals by a territory's admin: one row per file.

Revision ID: 0016_directory
Revises: 0015_notifications
Create Date: 2026-12-02

Reviewed: a new table only. `directory_import.rows` holds the file's rows (structures or
professionals: names, e-mail addresses of professionals, no data of the people followed) between the
preview and the run, and is cleared when the run ends; `rejections` keeps the rejected rows and
their French reasons for the result page and the errors file.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_directory'
down_revision = '0015_notifications'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('directory_import',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('rows', sa.JSON(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('unchanged_count', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('mail_failed_count', sa.Integer(), nullable=False),
    sa.Column('rejections', sa.JSON(), nullable=False),
    sa.Column('ignored_columns', sa.JSON(), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('agencies', 'users')", name=op.f('ck_directory_import_kind_known')),
    sa.CheckConstraint("status IN ('preview', 'running', 'done')", name=op.f('ck_directory_import_status_known')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_directory_import_created_by_id_user_account'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_directory_import_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_directory_import'))
    )
    with op.batch_alter_table('directory_import', schema=None) as batch_op:
        batch_op.create_index('ix_directory_import_territory_created', ['territory_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_directory_import_territory_id'), ['territory_id'], unique=False)



def downgrade():
    with op.batch_alter_table('directory_import', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_directory_import_territory_id'))
        batch_op.drop_index('ix_directory_import_territory_created')

    op.drop_table('directory_import')
