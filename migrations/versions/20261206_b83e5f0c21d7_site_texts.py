"""Texts officials write for public pages: the privacy notice.

Revision ID: b83e5f0c21d7
Revises: b8d3f61e2a47
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b83e5f0c21d7'
down_revision = 'b8d3f61e2a47'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_texts',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('key')
    )


def downgrade():
    op.drop_table('site_texts')
