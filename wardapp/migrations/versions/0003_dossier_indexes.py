"""Indexes for the home counters (resolved this month) and the next logbook number.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 06:54:18.549966

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_received'))
        batch_op.create_index('ix_dossier_received_logbook', ['received_at', 'logbook_number'], unique=False)
        batch_op.create_index('ix_dossier_resolved_timeliness', ['resolved_at', 'timeliness'], unique=False)



def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_resolved_timeliness')
        batch_op.drop_index('ix_dossier_received_logbook')
        batch_op.create_index(batch_op.f('ix_dossier_received'), ['received_at'], unique=False)

