"""Residents asking a moderator to verify them after a document check: the verification requests.

Revision ID: d7e2a4c9b1f3
Revises: a9d3f6c1e802
Create Date: 2026-12-06 14:45:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd7e2a4c9b1f3'
down_revision = 'a9d3f6c1e802'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'verification_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id']),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id']),
        sa.ForeignKeyConstraint(['district_id'], ['districts.id']),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('verification_requests', schema=None) as batch_op:
        batch_op.create_index('ix_verification_requests_user_id', ['user_id'], unique=False)
        batch_op.create_index('ix_verification_request_queue', ['cycle_id', 'status', 'created_at'], unique=False)
        batch_op.create_index('uq_verification_request_open', ['cycle_id', 'user_id'], unique=True,
                              postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))


def downgrade():
    with op.batch_alter_table('verification_requests', schema=None) as batch_op:
        batch_op.drop_index('uq_verification_request_open', postgresql_where=sa.text("status = 'open'"),
                            sqlite_where=sa.text("status = 'open'"))
        batch_op.drop_index('ix_verification_request_queue')
        batch_op.drop_index('ix_verification_requests_user_id')
    op.drop_table('verification_requests')
