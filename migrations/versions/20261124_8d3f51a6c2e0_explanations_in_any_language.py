"""Explanations in any language: each project result keeps its explanation as template and values too.

Counts stored before this migration keep only the English text, which pages show as before.

Revision ID: 8d3f51a6c2e0
Revises: 5b1e0c2f7a91
Create Date: 2026-11-24 02:32:12.946300

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8d3f51a6c2e0'
down_revision = '5b1e0c2f7a91'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('project_results', schema=None) as batch_op:
        batch_op.add_column(sa.Column('explanation_data', sa.Text(), server_default='', nullable=False))



def downgrade():
    with op.batch_alter_table('project_results', schema=None) as batch_op:
        batch_op.drop_column('explanation_data')

