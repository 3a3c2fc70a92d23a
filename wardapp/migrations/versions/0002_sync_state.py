"""Sync bookkeeping: where the ward stands with the hub, and records the hub refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 06:47:29.261460

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_reject',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_uuid', sa.String(length=36), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('seen_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('sync_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('acked_seq', sa.Integer(), nullable=False),
    sa.Column('refdata_version', sa.Integer(), nullable=False),
    sa.Column('last_push_ok_utc', sa.DateTime(), nullable=True),
    sa.Column('last_pull_ok_utc', sa.DateTime(), nullable=True),
    sa.Column('last_attempt_utc', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_code', sa.String(length=40), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('last_summary', sa.Text(), nullable=True),
    sa.Column('hub_warnings', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade():
    op.drop_table('sync_state')
    op.drop_table('sync_reject')
