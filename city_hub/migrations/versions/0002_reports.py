"""Reports: hub accounts, the procedure catalogue rows, data freshness per ward, report indexes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:59:07.584329

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('hub_user',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username')
    )
    op.create_table('ref_procedure',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('field', sa.String(length=120), nullable=False),
    sa.Column('online_level', sa.String(length=10), nullable=False),
    sa.Column('postal_allowed', sa.Boolean(), nullable=False),
    sa.Column('duration_value', sa.Integer(), nullable=False),
    sa.Column('duration_unit', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_closed', ['closed_at'], unique=False)
        batch_op.create_index('ix_dossier_resolved', ['resolved_at'], unique=False)
        batch_op.create_index('ix_dossier_ward_received', ['ward_code', 'received_at'], unique=False)

    with op.batch_alter_table('ward', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_reported_utc', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('complete_through_utc', sa.DateTime(), nullable=True))

    # A hub that already published snapshots gets the newest one's procedures as rows.
    connection = op.get_bind()
    body = connection.execute(sa.text(
        "SELECT body FROM refdata_snapshot ORDER BY version DESC LIMIT 1")).scalar()
    if body:
        columns = ("code", "name", "field", "online_level", "postal_allowed", "duration_value",
                   "duration_unit")
        rows = [{c: p[c] for c in columns} for p in json.loads(body)["procedures"]]
        if rows:
            connection.execute(sa.text(
                "INSERT INTO ref_procedure (code, name, field, online_level, postal_allowed, "
                "duration_value, duration_unit) VALUES (:code, :name, :field, :online_level, "
                ":postal_allowed, :duration_value, :duration_unit)"), rows)


def downgrade():
    with op.batch_alter_table('ward', schema=None) as batch_op:
        batch_op.drop_column('complete_through_utc')
        batch_op.drop_column('head_reported_utc')

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_ward_received')
        batch_op.drop_index('ix_dossier_resolved')
        batch_op.drop_index('ix_dossier_closed')

    op.drop_table('ref_procedure')
    op.drop_table('hub_user')
