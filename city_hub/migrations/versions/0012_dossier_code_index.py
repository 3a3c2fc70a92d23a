"""An index on the dossier code: every push looks up the codes its dossiers carry, so that no
code is held by two dossiers at the hub (issue 14, data ownership).

Not unique: a hub that took a code twice before this release keeps both dossiers for the admin
to see; the apply path refuses any new one.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 10:40:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_code', ['code'], unique=False)


def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_code')
