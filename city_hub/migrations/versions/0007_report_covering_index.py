"""A covering index for the report's aggregate (the 9-month report reads the index only).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 08:17:15.851677

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_ward_received'))
        batch_op.create_index('ix_dossier_report', ['ward_code', 'received_at', 'resolved_at', 'closed_at', 'channel', 'return_method', 'timeliness', 'status', 'due_at', 'due_at_revised', 'procedure_code', 'working_days_used'], unique=False)



def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_report')
        batch_op.create_index(batch_op.f('ix_dossier_ward_received'), ['ward_code', 'received_at'], unique=False)

