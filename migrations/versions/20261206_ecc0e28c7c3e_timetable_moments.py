"""The timetable as moments in a time zone (cycles.timezone, each *_on date becomes a *_at UTC moment), kept by the
worker: schedule_notices (a phase that could not move on time) and cycles.voting_reminder_sent_at.

A date published before meant the whole day in UTC, the zone pb compared days in. Each becomes 00:00 UTC of that day,
except voting close: "voting closes 15 December" let residents vote all through the 15th, so it becomes 00:00 UTC of
the 16th, the end of that day. The downgrade keeps the day (voting close: the day before a close at midnight).

Revision ID: ecc0e28c7c3e
Revises: b83e5f0c21d7
Create Date: 2026-12-06 08:00:00.000000

"""
from datetime import date, datetime, time, timedelta

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'ecc0e28c7c3e'
down_revision = 'b83e5f0c21d7'
branch_labels = None
depends_on = None

NAMES = ("proposals_open", "review", "voting_open", "voting_close", "results")


def _day(value) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def _moment(value) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))


# Plain ADD/DROP COLUMN, never a batch copy: on SQLite a copy drops and re-creates `cycles`, which the foreign keys
# of every other table forbid (SQLite 3.35 and later drop a column in place).


def upgrade():
    op.add_column('cycles', sa.Column('timezone', sa.String(length=64), server_default='UTC', nullable=False))
    for name in NAMES:
        op.add_column('cycles', sa.Column(f'{name}_at', sa.DateTime(), nullable=True))
    cycles = sa.table('cycles', sa.column('id', sa.Integer),
                      *(sa.column(f'{name}_on', sa.Date) for name in NAMES),
                      *(sa.column(f'{name}_at', sa.DateTime) for name in NAMES))
    bind = op.get_bind()
    for row in bind.execute(sa.select(cycles)).mappings().all():
        values = {}
        for name in NAMES:
            day = _day(row[f'{name}_on'])
            if day is not None:
                values[f'{name}_at'] = datetime.combine(day + timedelta(days=name == "voting_close"), time())
        if values:
            bind.execute(cycles.update().where(cycles.c.id == row['id']).values(**values))
    for name in NAMES:
        op.drop_column('cycles', f'{name}_on')
    op.add_column('cycles', sa.Column('voting_reminder_sent_at', sa.DateTime(), nullable=True))
    op.create_table(
        'schedule_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cycle_id', sa.Integer(), nullable=False),
        sa.Column('phase', sa.Enum('draft', 'proposals', 'review', 'voting', 'tallying', 'results', 'closed',
                                   name='phase', native_enum=False, length=24), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('blockers', sa.Text(), nullable=False),
        sa.Column('first_seen_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_schedule_notices_cycle_id', 'schedule_notices', ['cycle_id'], unique=False)


def downgrade():
    op.drop_index('ix_schedule_notices_cycle_id', table_name='schedule_notices')
    op.drop_table('schedule_notices')
    op.drop_column('cycles', 'voting_reminder_sent_at')
    for name in NAMES:
        op.add_column('cycles', sa.Column(f'{name}_on', sa.Date(), nullable=True))
    cycles = sa.table('cycles', sa.column('id', sa.Integer),
                      *(sa.column(f'{name}_on', sa.Date) for name in NAMES),
                      *(sa.column(f'{name}_at', sa.DateTime) for name in NAMES))
    bind = op.get_bind()
    for row in bind.execute(sa.select(cycles)).mappings().all():
        values = {}
        for name in NAMES:
            moment = _moment(row[f'{name}_at'])
            if moment is not None:
                if name == "voting_close" and moment.time() == time():
                    moment -= timedelta(days=1)  # a close at midnight ends the day before
                values[f'{name}_on'] = moment.date()
        if values:
            bind.execute(cycles.update().where(cycles.c.id == row['id']).values(**values))
    for name in NAMES:
        op.drop_column('cycles', f'{name}_at')
    op.drop_column('cycles', 'timezone')
