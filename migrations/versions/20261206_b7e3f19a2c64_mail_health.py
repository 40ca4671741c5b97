"""Mail health: when a message failed for good, and the "deliveries keep failing" alerts sent to officials.

Revision ID: b7e3f19a2c64
Revises: ecc0e28c7c3e
Create Date: 2026-12-06 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e3f19a2c64'
down_revision = 'ecc0e28c7c3e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', sa.DateTime(), nullable=True))
    op.create_table('mail_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=False),
    sa.Column('failed_count', sa.Integer(), nullable=False),
    sa.Column('oldest_pending_minutes', sa.Integer(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('mail_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mail_alerts_sent_at'), ['sent_at'], unique=False)


def downgrade():
    with op.batch_alter_table('mail_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mail_alerts_sent_at'))
    op.drop_table('mail_alerts')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
