"""Scheduled jobs that run once a day (the moderators' digest) record the day they ran, one row per job and day.

Revision ID: b8d3f61e2a47
Revises: 5d8e2b7c4a10
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b8d3f61e2a47'
down_revision = '5d8e2b7c4a10'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=64), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('ran_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('job', 'day', name='uq_job_run_day')
    )


def downgrade():
    op.drop_table('job_runs')
