"""Finding proposals: full-text search (a tsvector column with a GIN index on PostgreSQL, an FTS5 table kept in step
by triggers on SQLite) and the index the votes sort reads.

Revision ID: 5e4c1b9a7d20
Revises: c0a1e5d2f9b4
Create Date: 2026-12-06 11:40:00

The search objects are built by pb.search_index, the same statements the models' create_all runs for test databases.
On SQLite a later batch_alter_table on `proposals` copies the table and so drops the triggers: such a migration must
run pb.search_index's statements again.
"""
from alembic import op

from pb import search_index

# revision identifiers, used by Alembic.
revision = '5e4c1b9a7d20'
down_revision = 'c0a1e5d2f9b4'
branch_labels = None
depends_on = None


def upgrade():
    for statement in search_index.statements_to_create(op.get_bind().dialect.name):
        op.execute(statement)
    with op.batch_alter_table('project_results', schema=None) as batch_op:
        batch_op.create_index('ix_project_results_project_id', ['project_id'], unique=False)


def downgrade():
    with op.batch_alter_table('project_results', schema=None) as batch_op:
        batch_op.drop_index('ix_project_results_project_id')
    for statement in search_index.statements_to_drop(op.get_bind().dialect.name):
        op.execute(statement)
