"""The city's reform models: same-day and writing-assisted dossiers, letters, ratings,
feedback and petitions, self-inspections.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:16:40.507334

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
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
    sa.ForeignKeyConstraint(['answered_by_uuid'], ['user.uuid'], ),
    sa.ForeignKeyConstraint(['assignee_uuid'], ['user.uuid'], ),
    sa.ForeignKeyConstraint(['recorded_by_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('uuid')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_received_at'), ['received_at'], unique=False)

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
    sa.ForeignKeyConstraint(['created_by_uuid'], ['user.uuid'], ),
    sa.ForeignKeyConstraint(['signed_by_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('uuid'),
    sa.UniqueConstraint('plan', 'revision')
    )
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
    sa.ForeignKeyConstraint(['dossier_uuid'], ['dossier.uuid'], ),
    sa.ForeignKeyConstraint(['issued_by_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('uuid'),
    sa.UniqueConstraint('dossier_uuid')
    )
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_letter_issued_at'), ['issued_at'], unique=False)

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
    sa.ForeignKeyConstraint(['dossier_uuid'], ['dossier.uuid'], ),
    sa.ForeignKeyConstraint(['entered_by_uuid'], ['user.uuid'], ),
    sa.PrimaryKeyConstraint('uuid'),
    sa.UniqueConstraint('dossier_uuid')
    )
    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rating_rated_at'), ['rated_at'], unique=False)

    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.add_column(sa.Column('same_day', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('writing_assist', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('prefill_consent', sa.Boolean(), server_default=sa.false(), nullable=False))



def downgrade():
    with op.batch_alter_table('dossier', schema=None) as batch_op:
        batch_op.drop_column('prefill_consent')
        batch_op.drop_column('writing_assist')
        batch_op.drop_column('same_day')

    with op.batch_alter_table('rating', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rating_rated_at'))

    op.drop_table('rating')
    with op.batch_alter_table('letter', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_letter_issued_at'))

    op.drop_table('letter')
    op.drop_table('inspection')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feedback_received_at'))

    op.drop_table('feedback')
