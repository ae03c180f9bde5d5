"""Exports built in the background (« Mes exports »): the job and its file, in pieces.

Revision ID: 0017_exports
Revises: 0016_directory
Create Date: 2026-12-02

Reviewed: two new tables, nothing else changes. `export_job` holds who asked (CASCADE with the
account), from which agency, which list with the page's filters (the search text only until the
file is built), the format, status, row count, the pathway ids of the file (audited on download)
and its dates (the link expires 48 h after it is built). `export_file` holds the file's pieces
(CASCADE with the job), deleted by the purge once the link has expired.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017_exports'
down_revision = '0016_directory'
branch_labels = None
depends_on = None

STATUSES = ('pending', 'running', 'done', 'failed', 'expired')


def upgrade():
    op.create_table('export_job',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('parameters', sa.JSON(), nullable=False),
    sa.Column('format', sa.String(length=4), nullable=False),
    sa.Column('status', sa.Enum(*STATUSES, name='export_status', native_enum=False, create_constraint=True, length=15), nullable=False),
    sa.Column('row_count', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=120), nullable=False),
    sa.Column('pathway_ids', sa.JSON(), nullable=False),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.CheckConstraint("format IN ('csv', 'xlsx')", name=op.f('ck_export_job_known_format')),
    sa.ForeignKeyConstraint(['agency_id'], ['agency.id'], name=op.f('fk_export_job_agency_id_agency'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_export_job_requested_by_id_user_account'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_export_job_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_job'))
    )
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.create_index('ix_export_job_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index('ix_export_job_requested_by_created', ['requested_by_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_export_job_territory_id'), ['territory_id'], unique=False)

    op.create_table('export_file',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['job_id'], ['export_job.id'], name=op.f('fk_export_file_job_id_export_job'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_file')),
    sa.UniqueConstraint('job_id', 'seq', name=op.f('uq_export_file_job_id_seq'))
    )


def downgrade():
    op.drop_table('export_file')
    with op.batch_alter_table('export_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_export_job_territory_id'))
        batch_op.drop_index('ix_export_job_requested_by_created')
        batch_op.drop_index('ix_export_job_status_created')
    op.drop_table('export_job')
