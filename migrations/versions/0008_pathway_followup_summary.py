"""Follow-up summary on pathway (next planned meeting, last held, open barriers, unresolved alerts,
earliest alert deadline), its copy on the team members, and the indexes that serve the caseload's
order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02

Reviewed: derived columns, kept exact by app/followup/summary.py in every write's transaction and by
the scan; filled here from the existing rows (one set-based UPDATE). The two partial indexes cover
open pathways only, in the caseload's order (alert deadline, next meeting, id), per agency and per
territory; the copy on pathway_member (open or not, alert deadline, next meeting) lets « suivis par
ma structure » walk one index of the agency's own active memberships.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('pathway', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_meeting_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_held_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('open_barrier_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('open_alert_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('first_alert_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_pathway_agency_urgency', ['lead_agency_id', 'first_alert_due_at', 'next_meeting_at', 'id'], unique=False, postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))
        batch_op.create_index('ix_pathway_territory_urgency', ['territory_id', 'first_alert_due_at', 'next_meeting_at', 'id'], unique=False, postgresql_where=sa.text('closed_at IS NULL'), sqlite_where=sa.text('closed_at IS NULL'))

    with op.batch_alter_table('pathway_member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pathway_open', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column('pathway_shared', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('first_alert_due_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('next_meeting_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index('ix_pathway_member_team_urgency', ['agency_id', 'first_alert_due_at', 'next_meeting_at', 'pathway_id'], unique=False, postgresql_where=sa.text('removed_at IS NULL AND pathway_open AND pathway_shared'), sqlite_where=sa.text('removed_at IS NULL AND pathway_open AND pathway_shared'))
        batch_op.create_index('ix_pathway_member_team_pathway', ['agency_id', 'pathway_id'], unique=False, postgresql_where=sa.text('removed_at IS NULL AND NOT pathway_shared'), sqlite_where=sa.text('removed_at IS NULL AND NOT pathway_shared'))

    if op.get_bind().dialect.name == 'postgresql':
        # See app/pathways/models.py (PATHWAY_MEMBER_STATISTICS): the mix of an agency's memberships.
        op.execute(
            "CREATE STATISTICS IF NOT EXISTS st_pathway_member_agency_state (mcv, dependencies) "
            "ON agency_id, pathway_shared, pathway_open FROM pathway_member"
        )

    # Filled from the rows as they are today (plain SQL: a migration must not depend on the
    # application's code, which changes after it). app/followup/summary.py computes the same.
    op.execute(
        "UPDATE pathway SET "
        "next_meeting_at = (SELECT min(scheduled_at) FROM meeting m WHERE m.pathway_id = pathway.id AND m.status = 'planned'), "
        "last_held_at = (SELECT max(scheduled_at) FROM meeting m WHERE m.pathway_id = pathway.id AND m.status = 'held'), "
        "open_barrier_count = (SELECT count(*) FROM barrier b WHERE b.pathway_id = pathway.id AND b.status IN ('open', 'in_progress')), "
        "open_alert_count = (SELECT count(*) FROM alert a WHERE a.pathway_id = pathway.id AND a.status <> 'resolved'), "
        "first_alert_due_at = (SELECT min(due_at) FROM alert a WHERE a.pathway_id = pathway.id AND a.status <> 'resolved')"
    )
    op.execute(
        "UPDATE pathway_member SET "
        "pathway_open = (SELECT p.closed_at IS NULL FROM pathway p WHERE p.id = pathway_member.pathway_id), "
        "pathway_shared = ((SELECT p.lead_agency_id FROM pathway p WHERE p.id = pathway_member.pathway_id) = agency_id "
        "OR EXISTS (SELECT 1 FROM consent c WHERE c.pathway_id = pathway_member.pathway_id AND c.withdrawn_at IS NULL)), "
        "first_alert_due_at = (SELECT p.first_alert_due_at FROM pathway p WHERE p.id = pathway_member.pathway_id), "
        "next_meeting_at = (SELECT p.next_meeting_at FROM pathway p WHERE p.id = pathway_member.pathway_id) "
        "WHERE removed_at IS NULL"
    )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP STATISTICS IF EXISTS st_pathway_member_agency_state")
    with op.batch_alter_table('pathway_member', schema=None) as batch_op:
        batch_op.drop_index('ix_pathway_member_team_pathway', sqlite_where=sa.text('removed_at IS NULL AND NOT pathway_shared'), postgresql_where=sa.text('removed_at IS NULL AND NOT pathway_shared'))
        batch_op.drop_index('ix_pathway_member_team_urgency', sqlite_where=sa.text('removed_at IS NULL AND pathway_open AND pathway_shared'), postgresql_where=sa.text('removed_at IS NULL AND pathway_open AND pathway_shared'))
        batch_op.drop_column('next_meeting_at')
        batch_op.drop_column('first_alert_due_at')
        batch_op.drop_column('pathway_shared')
        batch_op.drop_column('pathway_open')
    with op.batch_alter_table('pathway', schema=None) as batch_op:
        batch_op.drop_index('ix_pathway_territory_urgency', sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))
        batch_op.drop_index('ix_pathway_agency_urgency', sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))
        batch_op.drop_column('first_alert_due_at')
        batch_op.drop_column('open_alert_count')
        batch_op.drop_column('open_barrier_count')
        batch_op.drop_column('last_held_at')
        batch_op.drop_column('next_meeting_at')
