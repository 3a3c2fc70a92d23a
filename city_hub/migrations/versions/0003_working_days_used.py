"""Working days a resolved dossier used, as synced from the wards.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 07:13:49.200060

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
        batch_op.add_column(sa.Column('working_days_used', sa.Integer(), nullable=True))



def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('working_days_used')

