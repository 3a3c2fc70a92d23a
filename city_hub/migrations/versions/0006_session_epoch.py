"""A session epoch per city account, for logging out everywhere.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 07:42:47.784422

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('hub_user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), server_default='0', nullable=False))



def downgrade():
    with op.batch_alter_table('hub_user', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')

