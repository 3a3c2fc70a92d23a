"""The rating code printed on each new receipt, which the kiosk asks for instead of the
sequential dossier code. Dossiers received before keep none (they are rated on paper).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 10:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rating_code', sa.String(length=9), nullable=True))
        batch_op.create_index(batch_op.f('ix_dossier_rating_code'), ['rating_code'], unique=True)


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_dossier_rating_code'))
        batch_op.drop_column('rating_code')
