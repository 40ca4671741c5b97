"""Role changes: granting or removing the official role waits for a second official's approval.

Revision ID: 7c2f4e1a9b30
Revises: e41c7a9d2b6f
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c2f4e1a9b30'
down_revision = 'e41c7a9d2b6f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('role_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_before', sa.Enum('resident', 'moderator', 'official', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('role_after', sa.Enum('resident', 'moderator', 'official', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('requested_at', sa.DateTime(), nullable=False),
    sa.Column('pending_user_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['pending_user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('pending_user_id', name='uq_role_change_pending')
    )
    with op.batch_alter_table('role_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_role_changes_requested_by_id'), ['requested_by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_role_changes_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('role_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_role_changes_user_id'))
        batch_op.drop_index(batch_op.f('ix_role_changes_requested_by_id'))

    op.drop_table('role_changes')
