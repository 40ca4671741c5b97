"""The city's identity: name, logo, colours and contact details shown on every page.

Revision ID: a9d3f6c1e802
Revises: 5e4c1b9a7d20
Create Date: 2026-12-06 14:30:00
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a9d3f6c1e802'
down_revision = '5e4c1b9a7d20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'site_identity',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('tagline', sa.String(length=200), nullable=False),
        sa.Column('logo_key', sa.String(length=80), nullable=True),
        sa.Column('logo_content_type', sa.String(length=40), nullable=True),
        sa.Column('logo_alt', sa.String(length=200), nullable=False),
        sa.Column('primary_colour', sa.String(length=7), nullable=False),
        sa.Column('header_colour', sa.String(length=7), nullable=False),
        sa.Column('contact_address', sa.Text(), nullable=False),
        sa.Column('contact_phone', sa.String(length=60), nullable=False),
        sa.Column('contact_email', sa.String(length=254), nullable=False),
        sa.Column('opening_hours', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )


def downgrade():
    op.drop_table('site_identity')
