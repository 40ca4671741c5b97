"""Keyed audit chain: each audit entry names how its hash is made.

Entries written from now on are chained with HMAC-SHA256 under PB_AUDIT_KEY ("hmac-sha256"). Entries already in
the log keep their plain SHA-256 hashes and are marked "sha256"; `flask pb audit-verify` still checks them, and
accepts them only before the first keyed entry, which anchors them. An installation that writes nothing after
upgrading should run `flask --app app pb audit-seal` once, so that its older entries are anchored by a keyed one.

Revision ID: e41c7a9d2b6f
Revises: 8d3f51a6c2e0
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e41c7a9d2b6f'
down_revision = '8d3f51a6c2e0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheme', sa.String(length=16), server_default='sha256', nullable=False))


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_column('scheme')
