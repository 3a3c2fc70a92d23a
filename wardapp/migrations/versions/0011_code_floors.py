"""Code floors: the day's dossier numbers a lost PC may have printed on receipts after its last
sync, which a replacement or restored database numbers past.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('code_floor',
    sa.Column('prefix', sa.String(length=60), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('confirmed', sa.Boolean(), nullable=False),
    sa.Column('set_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('prefix')
    )


def downgrade():
    op.drop_table('code_floor')
