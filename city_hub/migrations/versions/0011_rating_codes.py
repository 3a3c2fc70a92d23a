"""The dossier's rating code as wards send it from wire schema 3, kept so that a replaced ward PC
recovers it with the dossier (the kiosk of the new PC still takes the receipts' codes). Wards
at schema 1 or 2 send none: their dossiers hold NULL, as the ward's own older dossiers do.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 10:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_code', sa.String(length=9), nullable=True))


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('rating_code')
