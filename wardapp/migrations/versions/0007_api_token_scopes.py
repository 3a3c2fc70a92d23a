"""Scopes of API tokens (existing tokens keep every scope).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 08:35:57.223324

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=120), server_default='read intake steps', nullable=False))



def downgrade():
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.drop_column('scopes')

