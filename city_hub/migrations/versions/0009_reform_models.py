"""Every ward's reform-model records as synced (letters, ratings, feedback, self-inspections),
the same-day and writing-assisted marks on dossiers (also in the report's covering index), and
the city's direct inspections.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:16:51.790710

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feedback',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('sender_name', sa.String(length=200), nullable=False),
    sa.Column('sender_contact', sa.String(length=300), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('regulation', sa.String(length=300), nullable=False),
    sa.Column('procedure_code', sa.String(length=40), nullable=True),
    sa.Column('recorded_by_uuid', sa.String(length=36), nullable=False),
    sa.Column('assignee_uuid', sa.String(length=36), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.Column('answered_at', sa.DateTime(), nullable=True),
    sa.Column('answered_by_uuid', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_ward', ['ward_code'], unique=False)

    op.create_table('inspection',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('plan', sa.String(length=60), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('supersedes_uuid', sa.String(length=36), nullable=True),
    sa.Column('items', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_by_uuid', sa.String(length=36), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(), nullable=True),
    sa.Column('signed_by_uuid', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.create_index('ix_inspection_ward', ['ward_code'], unique=False)

    op.create_table('letter',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('dossier_uuid', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('signer_name', sa.String(length=120), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('issued_by_uuid', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.create_index('ix_letter_ward', ['ward_code'], unique=False)

    op.create_table('rating',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('dossier_uuid', sa.String(length=36), nullable=True),
    sa.Column('desk', sa.String(length=120), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('overall', sa.String(length=20), nullable=False),
    sa.Column('attitude', sa.String(length=20), nullable=False),
    sa.Column('timeliness', sa.String(length=20), nullable=False),
    sa.Column('guidance', sa.String(length=20), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('rated_at', sa.DateTime(), nullable=False),
    sa.Column('entered_by_uuid', sa.String(length=36), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index('ix_rating_ward', ['ward_code'], unique=False)

    op.create_table('city_inspection',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('plan', sa.String(length=60), nullable=False),
    sa.Column('inspected_on', sa.Date(), nullable=False),
    sa.Column('rating', sa.String(length=10), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.String(length=120), nullable=False),
    sa.Column('recorded_utc', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('city_inspection', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_city_inspection_ward_code'), ['ward_code'], unique=False)

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('same_day', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('writing_assist', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('prefill_consent', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.drop_index('ix_dossier_report')
        batch_op.create_index('ix_dossier_report', ['ward_code', 'received_at', 'resolved_at', 'closed_at', 'channel', 'return_method', 'timeliness', 'status', 'due_at', 'due_at_revised', 'procedure_code', 'working_days_used'] + ['same_day', 'writing_assist'], unique=False)



def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_report')
        batch_op.create_index('ix_dossier_report', ['ward_code', 'received_at', 'resolved_at', 'closed_at', 'channel', 'return_method', 'timeliness', 'status', 'due_at', 'due_at_revised', 'procedure_code', 'working_days_used'], unique=False)
        batch_op.drop_column('prefill_consent')
        batch_op.drop_column('writing_assist')
        batch_op.drop_column('same_day')

    with op.batch_alter_table('city_inspection', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_city_inspection_ward_code'))

    op.drop_table('city_inspection')
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index('ix_rating_ward')

    op.drop_table('rating')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_index('ix_letter_ward')

    op.drop_table('letter')
    with op.batch_alter_table('inspection', schema=None) as batch_op:
        batch_op.drop_index('ix_inspection_ward')

    op.drop_table('inspection')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_ward')

    op.drop_table('feedback')
