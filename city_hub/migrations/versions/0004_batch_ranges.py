"""Import batches keyed by their whole range; the digest of the record at each ward's checkpoint.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:29:59.062644

"""
import warnings

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('ward', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acked_record_sha256', sa.String(length=64), nullable=True))
    # An import batch is identified by its whole range, so that two batches starting at the same
    # number (a USB package that extends an earlier one) can both be recorded.
    _set_primary_key(['ward_code', 'first_seq', 'last_seq'])



def downgrade():
    _set_primary_key(['ward_code', 'first_seq'])
    with op.batch_alter_table('ward', schema=None) as batch_op:
        batch_op.drop_column('acked_record_sha256')



def _set_primary_key(columns):
    # SQLAlchemy warns that the copied table's key differs from the old one: that is the point.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*primary_key=True, not matching",
                                category=sa.exc.SAWarning)
        with op.batch_alter_table('import_batch', recreate='always') as batch_op:
            if op.get_bind().dialect.name == 'postgresql':
                batch_op.drop_constraint('import_batch_pkey', type_='primary')
            batch_op.create_primary_key('import_batch_pkey', columns)
