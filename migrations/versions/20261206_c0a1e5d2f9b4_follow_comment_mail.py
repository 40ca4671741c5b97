"""Following: when each follower was last emailed about new comments, so they get at most one such email an hour.

Revision ID: c0a1e5d2f9b4
Revises: 7bd562c54259
Create Date: 2026-12-06 11:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c0a1e5d2f9b4'
down_revision = '7bd562c54259'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comments_mailed_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('follows', schema=None) as batch_op:
        batch_op.drop_column('comments_mailed_at')
