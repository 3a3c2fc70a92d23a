"""Initial ward schema: reference data, accounts, dossiers and their events, the outbox.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 06:28:48.104895

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('calendar_override',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.PrimaryKeyConstraint('day')
    )
    op.create_table('outbox',
    sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('table_name', sa.String(length=40), nullable=False),
    sa.Column('record_uuid', sa.String(length=36), nullable=False),
    sa.Column('op', sa.String(length=10), nullable=False),
    sa.Column('record_version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('payload_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_utc', sa.DateTime(), nullable=False),
    sa.Column('acked_at_utc', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_record_uuid'), ['record_uuid'], unique=False)

    op.create_table('procedure',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('field', sa.String(length=120), nullable=False),
    sa.Column('duration_value', sa.Integer(), nullable=False),
    sa.Column('duration_unit', sa.String(length=20), nullable=False),
    sa.Column('cutoff_15h', sa.Boolean(), nullable=False),
    sa.Column('fee_amount', sa.Integer(), nullable=False),
    sa.Column('fee_text', sa.Text(), nullable=False),
    sa.Column('online_level', sa.String(length=10), nullable=False),
    sa.Column('postal_allowed', sa.Boolean(), nullable=False),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('letter', sa.String(length=20), nullable=True),
    sa.Column('documents', sa.Text(), nullable=False),
    sa.Column('regime', sa.String(length=10), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('unit',
    sa.Column('code', sa.String(length=10), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('parent_code', sa.String(length=10), nullable=True),
    sa.Column('agency_code', sa.String(length=40), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('user',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('full_name', sa.String(length=120), nullable=False),
    sa.Column('roles', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('uuid'),
    sa.UniqueConstraint('username')
    )
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('token_sha256', sa.String(length=64), nullable=False),
    sa.Column('user_uuid', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_sha256')
    )
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
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignee_uuid'], ['user.uuid'], ),
    sa.ForeignKeyConstraint(['procedure_code'], ['procedure.code'], ),
    sa.ForeignKeyConstraint(['received_by_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('uuid'),
    sa.UniqueConstraint('code'),
    sa.UniqueConstraint('request_key')
    )
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.create_index('ix_dossier_assignee_status', ['assignee_uuid', 'status'], unique=False)
        batch_op.create_index(batch_op.f('ix_dossier_citizen_id'), ['citizen_id'], unique=False)
        batch_op.create_index('ix_dossier_received', ['received_at'], unique=False)
        batch_op.create_index('ix_dossier_status_due', ['status', 'due_at'], unique=False)

    op.create_table('sync_node',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_code', sa.String(length=10), nullable=False),
    sa.Column('db_instance_id', sa.String(length=36), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ward_code'], ['unit.code'], ),
    sa.PrimaryKeyConstraint('id')
    )
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
    sa.ForeignKeyConstraint(['actor_uuid'], ['user.uuid'], ),
    sa.ForeignKeyConstraint(['dossier_uuid'], ['dossier.uuid'], ),
    sa.ForeignKeyConstraint(['to_user_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('uuid'),
    sa.UniqueConstraint('dossier_uuid', 'position')
    )


def downgrade():
    op.drop_table('dossier_event')
    op.drop_table('sync_node')
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_index('ix_dossier_status_due')
        batch_op.drop_index('ix_dossier_received')
        batch_op.drop_index(batch_op.f('ix_dossier_citizen_id'))
        batch_op.drop_index('ix_dossier_assignee_status')

    op.drop_table('dossier')
    op.drop_table('api_token')
    op.drop_table('user')
    op.drop_table('unit')
    op.drop_table('procedure')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_record_uuid'))

    op.drop_table('outbox')
    op.drop_table('calendar_override')
