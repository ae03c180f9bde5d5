"""Imports of people from spreadsheets: the job, its rejected rows, the territory's saved mappings.

Revision ID: 0014_imports
Revises: 0013_admin
Create Date: 2026-12-02

Reviewed: new tables only. `import_job.content` holds the rows as read (zlib-compressed JSON) with
the NIR column blanked, so that any process can run or resume the job; it is cleared when the job
ends. `import_rejection` keeps each rejected row (NIR blanked) and its French reasons, for the
errors file; both go with their job (ON DELETE CASCADE for the rows).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_imports'
down_revision = '0013_admin'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('preset', sa.String(length=80), nullable=False),
    sa.Column('mapping', sa.JSON(), nullable=False),
    sa.Column('headers', sa.JSON(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('preview', 'queued', 'running', 'done', 'failed', name='import_status', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('created_count', sa.Integer(), nullable=False),
    sa.Column('updated_count', sa.Integer(), nullable=False),
    sa.Column('unchanged_count', sa.Integer(), nullable=False),
    sa.Column('rejected_count', sa.Integer(), nullable=False),
    sa.Column('ignored_columns', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('rows_done >= 0 AND rows_done <= total_rows', name=op.f('ck_import_job_progress_in_range')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_import_job_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_import_job_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_job'))
    )
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.create_index('ix_import_job_territory_created', ['territory_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_job_territory_id'), ['territory_id'], unique=False)

    op.create_table('import_mapping',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_import_mapping_created_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_import_mapping_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mapping')),
    sa.UniqueConstraint('territory_id', 'name', name='uq_import_mapping_territory_name')
    )
    with op.batch_alter_table('import_mapping', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_mapping_territory_id'), ['territory_id'], unique=False)

    op.create_table('import_rejection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('cells', sa.JSON(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['import_job.id'], name=op.f('fk_import_rejection_job_id_import_job'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_import_rejection_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rejection'))
    )
    with op.batch_alter_table('import_rejection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_rejection_job_id'), ['job_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_rejection_territory_id'), ['territory_id'], unique=False)



def downgrade():
    with op.batch_alter_table('import_rejection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_rejection_territory_id'))
        batch_op.drop_index(batch_op.f('ix_import_rejection_job_id'))

    op.drop_table('import_rejection')
    with op.batch_alter_table('import_mapping', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_mapping_territory_id'))

    op.drop_table('import_mapping')
    with op.batch_alter_table('import_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_job_territory_id'))
        batch_op.drop_index('ix_import_job_territory_created')

    op.drop_table('import_job')
