"""The hub's audit trail: ward credentials, city accounts, reference data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 08:36:39.287300

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hub_audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('hub_audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_hub_audit_at'), ['at'], unique=False)



def downgrade():
    with op.batch_alter_table('hub_audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_hub_audit_at'))

    op.drop_table('hub_audit')
