"""Result revisions: published results are kept as numbered revisions, and a correction is a new one.

Cycles published before this migration get their revision 1 when a first correction is proposed.

Revision ID: 5b1e0c2f7a91
Revises: c6a9e4954546
Create Date: 2026-11-24 01:31:18.041685

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e0c2f7a91'
down_revision = 'c6a9e4954546'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('result_revisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('withdrawn', sa.Text(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('count_digest', sa.String(length=64), nullable=False),
    sa.Column('proposed_by_id', sa.Integer(), nullable=True),
    sa.Column('proposed_at', sa.DateTime(), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('published_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['proposed_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id', 'number', name='uq_result_revision_number')
    )
    with op.batch_alter_table('result_revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_revisions_cycle_id'), ['cycle_id'], unique=False)



def downgrade():
    with op.batch_alter_table('result_revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_revisions_cycle_id'))

    op.drop_table('result_revisions')
