"""Drop two redundant single-column indexes of `alert`.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

`ix_alert_territory_status_due` (territory_id first) serves what `ix_alert_territory_id` did, and
`uq_alert_one_unresolved` (pathway_id first) serves a pathway's current alerts. Fewer indexes make
the scan's inserts faster (see docs/PERFORMANCE.md).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_pathway_id'))
        batch_op.drop_index(batch_op.f('ix_alert_territory_id'))



def downgrade():
    with op.batch_alter_table('alert', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_territory_id'), ['territory_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_alert_pathway_id'), ['pathway_id'], unique=False)

