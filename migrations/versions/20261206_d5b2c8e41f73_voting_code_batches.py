"""Voting codes in batches: a batch's codes can be shown again (sheet, mail-merge CSV, letters) until forgotten.

Revision ID: d5b2c8e41f73
Revises: d7e2a4c9b1f3
Create Date: 2026-12-06 15:00:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd5b2c8e41f73'
down_revision = 'd7e2a4c9b1f3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'voting_code_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.Column('first_number', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('seed', sa.String(length=64), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('forgotten_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
        sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_voting_code_batches_cycle_id'), 'voting_code_batches', ['cycle_id'], unique=False)
    # Codes made before batches have none: they were shown once, when they were made, and stay that way.
    with op.batch_alter_table('voting_codes') as batch_op:
        batch_op.add_column(sa.Column('batch_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_voting_codes_batch_id'), ['batch_id'], unique=False)
        batch_op.create_foreign_key('fk_voting_codes_batch_id', 'voting_code_batches', ['batch_id'], ['id'])


def downgrade():
    with op.batch_alter_table('voting_codes') as batch_op:
        batch_op.drop_constraint('fk_voting_codes_batch_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_voting_codes_batch_id'))
        batch_op.drop_column('batch_id')
    op.drop_index(op.f('ix_voting_code_batches_cycle_id'), table_name='voting_code_batches')
    op.drop_table('voting_code_batches')
