"""Hub schema: ward registry, import batches, quarantine, reference-data snapshots, record copies.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 06:50:09.247199

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('dossier',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('request_key', sa.String(length=64), nullable=False),
    sa.Column('procedure_code', sa.String(length=40), nullable=False),
    sa.Column('procedure_name', sa.String(length=300), nullable=False),
    sa.Column('regime', sa.String(length=10), nullable=False),
    sa.Column('applicant_kind', sa.String(length=20), nullable=False),
    sa.Column('applicant_name', sa.String(length=200), nullable=False),
    sa.Column('citizen_id', sa.String(length=20), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=False),
    sa.Column('email', sa.String(length=120), nullable=False),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('return_method', sa.String(length=20), nullable=False),
    sa.Column('return_address', sa.String(length=300), nullable=False),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('sets_count', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('received_by_uuid', sa.String(length=36), nullable=False),
    sa.Column('due_at_original', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('due_at_revised', sa.DateTime(), nullable=True),
    sa.Column('calendar_version', sa.String(length=60), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.Column('assignee_uuid', sa.String(length=36), nullable=True),
    sa.Column('paused_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('timeliness', sa.String(length=10), nullable=True),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('logbook_number', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_ward', ['ward_code'], unique=False)

    op.create_table('dossier_event',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('dossier_uuid', sa.String(length=36), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_uuid', sa.String(length=36), nullable=False),
    sa.Column('to_user_uuid', sa.String(length=36), nullable=True),
    sa.Column('status_after', sa.Integer(), nullable=False),
    sa.Column('step_timeliness', sa.String(length=10), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('dossier_event', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_event_ward', ['ward_code'], unique=False)

    op.create_table('refdata_snapshot',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_utc', sa.DateTime(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('version')
    )
    op.create_table('user',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('roles', sa.String(length=120), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('sync_sha256', sa.String(length=64), nullable=False),
    sa.Column('sync_seq', sa.BigInteger(), nullable=False),
    sa.Column('synced_utc', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.create_index('ix_user_ward', ['ward_code'], unique=False)

    op.create_table('ward',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=True),
    sa.Column('package_key', sa.String(length=64), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('credential_issued_utc', sa.DateTime(), nullable=True),
    sa.Column('db_instance_id', sa.String(length=36), nullable=True),
    sa.Column('rekey_allowed', sa.Boolean(), nullable=False),
    sa.Column('acked_seq', sa.BigInteger(), nullable=False),
    sa.Column('reported_head_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seen_utc', sa.DateTime(), nullable=True),
    sa.Column('last_push_ok_utc', sa.DateTime(), nullable=True),
    sa.Column('last_pull_ok_utc', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_error_utc', sa.DateTime(), nullable=True),
    sa.Column('protocol_version', sa.Integer(), nullable=True),
    sa.Column('schema_version', sa.Integer(), nullable=True),
    sa.Column('app_version', sa.String(length=40), nullable=True),
    sa.Column('refdata_version', sa.Integer(), nullable=True),
    sa.Column('clock_skew_s', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('code'),
    sa.UniqueConstraint('token_sha256')
    )
    op.create_table('import_batch',
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('first_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('received_utc', sa.DateTime(), nullable=False),
    sa.Column('answer', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], ),
    sa.PrimaryKeyConstraint('ward_code', 'first_seq')
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_uuid', sa.String(length=64), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=True),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_utc', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ward_code'], ['ward.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_quarantine_ward_code'), ['ward_code'], unique=False)



def downgrade():
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_quarantine_ward_code'))

    op.drop_table('quarantine')
    op.drop_table('import_batch')
    op.drop_table('ward')
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_index('ix_user_ward')

    op.drop_table('user')
    op.drop_table('refdata_snapshot')
    with op.batch_alter_table('dossier_event', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_event_ward')

    op.drop_table('dossier_event')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_ward')

    op.drop_table('dossier')
