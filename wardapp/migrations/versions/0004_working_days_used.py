"""Working days a resolved dossier used, pauses excluded.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:13:47.735786

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('working_days_used', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('working_days_used')

