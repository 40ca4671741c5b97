"""One district per resident per cycle: a unique constraint on verifications (user_id, cycle_id).

Before this, a moderator or official could verify a resident for a second district of the same cycle, and the
resident could then vote in both. The upgrade refuses to run, and names the residents, while any resident is
verified for more than one district of a cycle: someone must decide which verification is right (in pb: revoke the
wrong one, with a reason) before the constraint can hold.

Revision ID: a4c7d2e91f03
Revises: 3e7a1c9d5b20
Create Date: 2026-12-06 05:00:00.000000

"""
from alembic import op
import sqlalchemy as sa

from pb.domain.errors import ValidationError


# revision identifiers, used by Alembic.
revision = 'a4c7d2e91f03'
down_revision = '3e7a1c9d5b20'
branch_labels = None
depends_on = None


def upgrade():
    doubles = op.get_bind().execute(sa.text(
        "SELECT cycle_id, user_id, COUNT(*) FROM verifications GROUP BY cycle_id, user_id HAVING COUNT(*) > 1 "
        "ORDER BY cycle_id, user_id"
    )).all()
    if doubles:
        listed = "; ".join(f"cycle {cycle_id}: user {user_id} in {count} districts" for cycle_id, user_id, count in doubles[:50])
        # A domain error, so `flask pb init-db` shows the message alone (Flask-Migrate would swallow a RuntimeError).
        raise ValidationError(
            f"{len(doubles)} residents are verified for more than one district of the same cycle ({listed}). "
            "A resident may vote in one district only. Before upgrading, decide for each which verification is "
            "right and delete the other rows from the verifications table (note who and why in your records; check "
            "whether the resident voted in both districts), then run the upgrade again. Nothing was changed."
        )
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_verification_cycle', ['user_id', 'cycle_id'])


def downgrade():
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.drop_constraint('uq_verification_cycle', type_='unique')
