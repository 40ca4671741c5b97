"""Ballot designs: a design per cycle (overridable per district), points or ranks on counted ballots, frozen settings.

Revision ID: b8f4e2a7c105
Revises: d5b2c8e41f73
Create Date: 2026-12-06 18:00:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b8f4e2a7c105'
down_revision = 'd5b2c8e41f73'
branch_labels = None
depends_on = None


def upgrade():
    # Every cycle made before designs used the knapsack ballot, with the counts already in min/max_projects.
    op.add_column('cycles', sa.Column('ballot_design', sa.String(length=12), nullable=False, server_default='knapsack'))
    op.add_column('cycles', sa.Column('ballot_settings', sa.Text(), nullable=False, server_default='{}'))
    op.add_column('cycles', sa.Column('frozen_settings_sha256', sa.String(length=64), nullable=False, server_default=''))
    op.add_column('districts', sa.Column('ballot_settings', sa.Text(), nullable=True))
    op.add_column('ballot_choices', sa.Column('value', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('ballot_choices') as batch_op:
        batch_op.drop_column('value')
    with op.batch_alter_table('districts') as batch_op:
        batch_op.drop_column('ballot_settings')
    with op.batch_alter_table('cycles') as batch_op:
        batch_op.drop_column('frozen_settings_sha256')
        batch_op.drop_column('ballot_settings')
        batch_op.drop_column('ballot_design')
