"""The initial schema: every table of pb as of the first release with migrations.

Revision ID: c6a9e4954546
Revises: 
Create Date: 2026-11-24 00:30:33.124124

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6a9e4954546'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('cycles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('total_budget', sa.BigInteger(), nullable=False),
    sa.Column('phase', sa.Enum('draft', 'proposals', 'review', 'voting', 'tallying', 'results', 'closed', name='phase', native_enum=False, length=24), nullable=False),
    sa.Column('rule', sa.String(length=24), nullable=False),
    sa.Column('min_projects', sa.Integer(), nullable=False),
    sa.Column('max_projects', sa.Integer(), nullable=True),
    sa.Column('tie_break_seed', sa.Integer(), nullable=False),
    sa.Column('proposals_open_on', sa.Date(), nullable=True),
    sa.Column('review_on', sa.Date(), nullable=True),
    sa.Column('voting_open_on', sa.Date(), nullable=True),
    sa.Column('voting_close_on', sa.Date(), nullable=True),
    sa.Column('results_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('min_projects >= 1', name='ck_cycle_min_projects'),
    sa.CheckConstraint('total_budget >= 0', name='ck_cycle_budget'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.Enum('resident', 'moderator', 'official', name='role', native_enum=False, length=24), nullable=False),
    sa.Column('is_enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('session_version', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('email')
    )
    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('cycle_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('subject', sa.String(length=60), nullable=False),
    sa.Column('before', sa.Text(), nullable=False),
    sa.Column('after', sa.Text(), nullable=False),
    sa.Column('previous_hash', sa.String(length=64), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('entry_hash'),
    sa.UniqueConstraint('sequence')
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('categories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id', 'name', name='uq_category_name')
    )
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_categories_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('districts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('budget >= 0', name='ck_district_budget'),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id', 'name', name='uq_district_name')
    )
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_districts_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('register_uploads',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('headers', sa.Text(), nullable=False),
    sa.Column('mapping', sa.Text(), nullable=False),
    sa.Column('line_count', sa.Integer(), nullable=False),
    sa.Column('errors', sa.Text(), nullable=False),
    sa.Column('entries', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('register_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_uploads_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('result_approvals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('count_digest', sa.String(length=64), nullable=False),
    sa.Column('official_id', sa.Integer(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['official_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id', 'count_digest', 'official_id', name='uq_result_approval')
    )
    with op.batch_alter_table('result_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_result_approvals_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('verification_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('address_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=12), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('is_lifted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verification_attempts_address_hash'), ['address_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_attempts_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verification_attempts_user_id'), ['user_id'], unique=False)

    op.create_table('ballots',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('receipt', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('receipt'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ballots_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ballots_district_id'), ['district_id'], unique=False)

    op.create_table('participations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('voted_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'district_id', name='uq_participation')
    )
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_participations_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participations_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_participations_user_id'), ['user_id'], unique=False)

    op.create_table('proposals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=False),
    sa.Column('estimated_cost', sa.BigInteger(), nullable=False),
    sa.Column('final_cost', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.Enum('submitted', 'changes_requested', 'accepted', 'rejected', 'withdrawn', 'merged', name='proposal_status', native_enum=False, length=24), nullable=False),
    sa.Column('moderator_note', sa.Text(), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('estimated_cost > 0', name='ck_proposal_estimate'),
    sa.CheckConstraint('final_cost IS NULL OR final_cost > 0', name='ck_proposal_final_cost'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], ),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['merged_into_id'], ['proposals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposals_author_id'), ['author_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposals_status'), ['status'], unique=False)

    op.create_table('register_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['used_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('cycle_id', 'entry_hash', name='uq_register_entry')
    )
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_register_entries_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('tally_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=24), nullable=False),
    sa.Column('tie_break', sa.String(length=200), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('budget', sa.BigInteger(), nullable=False),
    sa.Column('spent', sa.BigInteger(), nullable=False),
    sa.Column('ballot_count', sa.Integer(), nullable=False),
    sa.Column('run_by_id', sa.Integer(), nullable=False),
    sa.Column('ballot_list_sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['run_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('district_id', name='uq_tally_district')
    )
    with op.batch_alter_table('tally_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tally_runs_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=False),
    sa.Column('method', sa.String(length=24), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('user_id', 'district_id', name='uq_verification')
    )
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verifications_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verifications_user_id'), ['user_id'], unique=False)

    op.create_table('voting_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('used_by_id', sa.Integer(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.Column('voided_by_id', sa.Integer(), nullable=True),
    sa.Column('voided_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.ForeignKeyConstraint(['used_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['voided_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code_hash'),
    sa.UniqueConstraint('cycle_id', 'number', name='uq_voting_code_number')
    )
    with op.batch_alter_table('voting_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_voting_codes_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('ballot_choices',
    sa.Column('ballot_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['proposals.id'], ),
    sa.PrimaryKeyConstraint('ballot_id', 'project_id')
    )
    op.create_table('implementation_updates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['proposals.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('implementation_updates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_implementation_updates_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_implementation_updates_project_id'), ['project_id'], unique=False)

    op.create_table('implementations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('planned', 'in_progress', 'done', 'cancelled', name='implementation_status', native_enum=False, length=24), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('spent', sa.BigInteger(), nullable=False),
    sa.Column('cancel_reason', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('progress >= 0 AND progress <= 100', name='ck_implementation_progress'),
    sa.CheckConstraint('spent >= 0', name='ck_implementation_spent'),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['project_id'], ['proposals.id'], ),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('project_id', name='uq_implementation_project')
    )
    with op.batch_alter_table('implementations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_implementations_cycle_id'), ['cycle_id'], unique=False)

    op.create_table('paper_sheets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('polling_station', sa.String(length=60), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('ballot_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['ballot_id'], ['ballots.id'], ),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ballot_id'),
    sa.UniqueConstraint('district_id', 'polling_station', 'number', name='uq_paper_sheet')
    )
    with op.batch_alter_table('paper_sheets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_sheets_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_sheets_district_id'), ['district_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_paper_sheets_status'), ['status'], unique=False)

    op.create_table('project_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tally_run_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('votes', sa.Integer(), nullable=False),
    sa.Column('cost', sa.BigInteger(), nullable=False),
    sa.Column('is_funded', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['proposals.id'], ),
    sa.ForeignKeyConstraint(['tally_run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('project_results', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_project_results_tally_run_id'), ['tally_run_id'], unique=False)

    op.create_table('tally_comparisons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('tally_run_id', sa.Integer(), nullable=False),
    sa.Column('rule', sa.String(length=24), nullable=False),
    sa.Column('tie_break', sa.String(length=200), nullable=False),
    sa.Column('parameters', sa.Text(), nullable=False),
    sa.Column('spent', sa.BigInteger(), nullable=False),
    sa.Column('selected', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['tally_run_id'], ['tally_runs.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('tally_run_id', 'rule', name='uq_tally_comparison_rule')
    )
    with op.batch_alter_table('tally_comparisons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tally_comparisons_tally_run_id'), ['tally_run_id'], unique=False)

    op.create_table('paper_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sheet_id', sa.Integer(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('choices', sa.Text(), nullable=False),
    sa.Column('is_spoilt', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], ),
    sa.ForeignKeyConstraint(['sheet_id'], ['paper_sheets.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('sheet_id', 'entered_by_id', name='uq_paper_entry_official')
    )
    with op.batch_alter_table('paper_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_paper_entries_sheet_id'), ['sheet_id'], unique=False)




def downgrade():

    with op.batch_alter_table('paper_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_entries_sheet_id'))

    op.drop_table('paper_entries')
    with op.batch_alter_table('tally_comparisons', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tally_comparisons_tally_run_id'))

    op.drop_table('tally_comparisons')
    with op.batch_alter_table('project_results', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_project_results_tally_run_id'))

    op.drop_table('project_results')
    with op.batch_alter_table('paper_sheets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_paper_sheets_status'))
        batch_op.drop_index(batch_op.f('ix_paper_sheets_district_id'))
        batch_op.drop_index(batch_op.f('ix_paper_sheets_cycle_id'))

    op.drop_table('paper_sheets')
    with op.batch_alter_table('implementations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_implementations_cycle_id'))

    op.drop_table('implementations')
    with op.batch_alter_table('implementation_updates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_implementation_updates_project_id'))
        batch_op.drop_index(batch_op.f('ix_implementation_updates_cycle_id'))

    op.drop_table('implementation_updates')
    op.drop_table('ballot_choices')
    with op.batch_alter_table('voting_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_voting_codes_cycle_id'))

    op.drop_table('voting_codes')
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_verifications_cycle_id'))

    op.drop_table('verifications')
    with op.batch_alter_table('tally_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tally_runs_cycle_id'))

    op.drop_table('tally_runs')
    with op.batch_alter_table('register_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_entries_cycle_id'))

    op.drop_table('register_entries')
    with op.batch_alter_table('proposals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposals_status'))
        batch_op.drop_index(batch_op.f('ix_proposals_district_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_proposals_author_id'))

    op.drop_table('proposals')
    with op.batch_alter_table('participations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_participations_user_id'))
        batch_op.drop_index(batch_op.f('ix_participations_district_id'))
        batch_op.drop_index(batch_op.f('ix_participations_cycle_id'))

    op.drop_table('participations')
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ballots_district_id'))
        batch_op.drop_index(batch_op.f('ix_ballots_cycle_id'))

    op.drop_table('ballots')
    with op.batch_alter_table('verification_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verification_attempts_user_id'))
        batch_op.drop_index(batch_op.f('ix_verification_attempts_cycle_id'))
        batch_op.drop_index(batch_op.f('ix_verification_attempts_address_hash'))

    op.drop_table('verification_attempts')
    with op.batch_alter_table('result_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_result_approvals_cycle_id'))

    op.drop_table('result_approvals')
    with op.batch_alter_table('register_uploads', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_register_uploads_cycle_id'))

    op.drop_table('register_uploads')
    with op.batch_alter_table('districts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_districts_cycle_id'))

    op.drop_table('districts')
    with op.batch_alter_table('categories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_categories_cycle_id'))

    op.drop_table('categories')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_entries_cycle_id'))

    op.drop_table('audit_entries')
    op.drop_table('users')
    op.drop_table('cycles')

