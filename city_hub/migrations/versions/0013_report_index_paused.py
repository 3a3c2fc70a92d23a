"""The report's covering index holds ``paused_at`` too: since release 0012 the report counts a
dossier waiting for a citizen's supplement apart from the overdue ones (kernel.statuses), and
without the column the aggregate went back to the table for every dossier.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 13:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BEFORE = ['ward_code', 'received_at', 'resolved_at', 'closed_at', 'channel', 'return_method',
          'timeliness', 'status', 'due_at', 'due_at_revised', 'procedure_code',
          'working_days_used', 'same_day', 'writing_assist']


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_report')
        batch_op.create_index('ix_dossier_report', BEFORE + ['paused_at'], unique=False)


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_report')
        batch_op.create_index('ix_dossier_report', BEFORE, unique=False)
