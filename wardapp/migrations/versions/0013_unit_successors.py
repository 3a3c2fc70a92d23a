"""Each unit's history as the hub publishes it since the 2025 mergers: the units it became (its
successors, the day after it ended) and whether its code is the official one yet.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04 21:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('successor_codes', sa.Text(), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('code_confirmed', sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('code_confirmed')
        batch_op.drop_column('successor_codes')
