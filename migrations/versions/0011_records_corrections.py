"""Records you can correct: journal note types and versions, the reason for « Créer quand même ».

Revision ID: 0011_records
Revises: 0010
Create Date: 2026-12-02

Reviewed: `entry.note_type` (entretien, appel, démarche, information; NULL for the events the
application writes itself and for notes written before it); `entry.version` (optimistic check of a
correction, 1 for every existing note) and `entry.edited_at`; `entry_version` keeps each version a
correction replaced (one row per entry and version, unique), with its own visibility so that a
version is never shown to readers the note was later opened to. `beneficiary.duplicate_reason`
holds the professional's reason for creating a record despite a likely duplicate (a short text,
kept with the person, anonymised with it).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_records'
down_revision = '0010'
branch_labels = None
depends_on = None

NOTE_TYPES = ('interview', 'call', 'step', 'information')


_NOTE_TYPE_CHECK = "note_type IN ('interview', 'call', 'step', 'information')"


def _note_type(name):
    return sa.Enum(*NOTE_TYPES, name=name, native_enum=False, create_constraint=True, length=19)


def upgrade():
    with op.batch_alter_table('entry', schema=None) as batch_op:
        # A plain column, then its CHECK (SQLite's batch copy cannot add both in one step).
        batch_op.add_column(sa.Column('note_type', sa.String(length=19), nullable=True))
        batch_op.create_check_constraint('entry_note_type', sa.text(_NOTE_TYPE_CHECK))
        batch_op.add_column(sa.Column('edited_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_reason', sa.String(length=500), nullable=True))
    op.create_table('entry_version',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('visibility', sa.Enum('team', 'agency', 'referent', name='entry_version_visibility', native_enum=False, create_constraint=True, length=16), nullable=False),
    sa.Column('note_type', _note_type('entry_version_note_type'), nullable=True),
    sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_by_id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['entry.id'], name=op.f('fk_entry_version_entry_id_entry')),
    sa.ForeignKeyConstraint(['replaced_by_id'], ['user_account.id'], name=op.f('fk_entry_version_replaced_by_id_user_account')),
    sa.ForeignKeyConstraint(['territory_id'], ['territory.id'], name=op.f('fk_entry_version_territory_id_territory'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_entry_version')),
    sa.UniqueConstraint('entry_id', 'version', name='uq_entry_version_entry_version')
    )
    with op.batch_alter_table('entry_version', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_entry_version_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_entry_version_territory_id'), ['territory_id'], unique=False)


def downgrade():
    with op.batch_alter_table('entry_version', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_entry_version_territory_id'))
        batch_op.drop_index(batch_op.f('ix_entry_version_entry_id'))
    op.drop_table('entry_version')
    with op.batch_alter_table('beneficiary', schema=None) as batch_op:
        batch_op.drop_column('duplicate_reason')
    with op.batch_alter_table('entry', schema=None) as batch_op:
        batch_op.drop_constraint('entry_note_type', type_='check')
        batch_op.drop_column('version')
        batch_op.drop_column('edited_at')
        batch_op.drop_column('note_type')
