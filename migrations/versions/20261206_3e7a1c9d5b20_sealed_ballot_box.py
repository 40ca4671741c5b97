"""Sealed ballot box: online ballots are sealed envelopes until voting closes; ballots lose their token and version.

Data: every online ballot (one not made from a paper sheet) gets its envelope, sealed under PB_BALLOT_KEY, dated by
the voter's online participation. In a cycle still voting, the envelope replaces the ballot, which the closing of the
vote will write again, shuffled. Ballots of cycles past voting stay as they are (they were counted and may be
published), without their token and version. Online participations are removed: online turnout counts envelopes.

Revision ID: 3e7a1c9d5b20
Revises: 7c2f4e1a9b30
Create Date: 2026-12-06 05:00:00.000000

"""
import hashlib
import hmac
import secrets

import sqlalchemy as sa
from alembic import op
from flask import current_app

from pb.domain import sealing

# revision identifiers, used by Alembic.
revision = '3e7a1c9d5b20'
down_revision = '7c2f4e1a9b30'
branch_labels = None
depends_on = None

cycles = sa.table('cycles', sa.column('id', sa.Integer), sa.column('phase', sa.String))
proposals = sa.table('proposals', sa.column('district_id', sa.Integer), sa.column('status', sa.String))
participations = sa.table(
    'participations', sa.column('id', sa.Integer), sa.column('user_id', sa.Integer), sa.column('cycle_id', sa.Integer),
    sa.column('district_id', sa.Integer), sa.column('channel', sa.String), sa.column('voted_on', sa.Date),
)
verifications = sa.table(
    'verifications', sa.column('user_id', sa.Integer), sa.column('cycle_id', sa.Integer),
    sa.column('district_id', sa.Integer),
)
ballots = sa.table(
    'ballots', sa.column('id', sa.Integer), sa.column('cycle_id', sa.Integer), sa.column('district_id', sa.Integer),
    sa.column('token', sa.String), sa.column('receipt', sa.String), sa.column('version', sa.Integer),
)
ballot_choices = sa.table('ballot_choices', sa.column('ballot_id', sa.Integer), sa.column('project_id', sa.Integer))
paper_sheets = sa.table('paper_sheets', sa.column('ballot_id', sa.Integer))
sealed_ballots = sa.table(
    'sealed_ballots', sa.column('id', sa.BigInteger), sa.column('cycle_id', sa.Integer),
    sa.column('district_id', sa.Integer), sa.column('token', sa.String), sa.column('version', sa.Integer),
    sa.column('envelope', sa.LargeBinary), sa.column('sealed_on', sa.Date),
)


def _token(key: str, user_id: int, cycle_id: int, district_id: int) -> str:
    # pb.services.voting.ballot_token, as it stands at this revision
    return hmac.new(str(key).encode(), f"ballot|{user_id}|{cycle_id}|{district_id}".encode(), hashlib.sha256).hexdigest()


def _seal_online_ballots(connection) -> None:
    ballot_key = current_app.config["BALLOT_KEY"]
    key = sealing.envelope_key(ballot_key)
    phases = dict(connection.execute(sa.select(cycles.c.id, cycles.c.phase)).all())
    days = {
        _token(ballot_key, user_id, cycle_id, district_id): voted_on
        for user_id, cycle_id, district_id, voted_on in connection.execute(
            sa.select(participations.c.user_id, participations.c.cycle_id, participations.c.district_id,
                      participations.c.voted_on).where(participations.c.channel != 'paper'))
    }
    projects = dict(connection.execute(
        sa.select(proposals.c.district_id, sa.func.count()).where(proposals.c.status == 'accepted')
        .group_by(proposals.c.district_id)).all())
    paper_ballots = sa.select(paper_sheets.c.ballot_id).where(paper_sheets.c.ballot_id.is_not(None))
    online = connection.execute(
        sa.select(ballots.c.id, ballots.c.cycle_id, ballots.c.district_id, ballots.c.token, ballots.c.version)
        .where(ballots.c.id.not_in(paper_ballots))).all()
    choices: dict[int, list[int]] = {}
    for ballot_id, project_id in connection.execute(sa.select(ballot_choices.c.ballot_id, ballot_choices.c.project_id)):
        choices.setdefault(ballot_id, []).append(project_id)
    still_voting = []
    for ballot_id, cycle_id, district_id, token, version in online:
        chosen = choices.get(ballot_id, [])
        slots = sealing.slots_for(max(projects.get(district_id, 0), len(chosen)))
        connection.execute(sa.insert(sealed_ballots).values(
            id=secrets.randbits(62) + 1, cycle_id=cycle_id, district_id=district_id, token=token, version=version,
            envelope=sealing.seal(key, token, version, chosen, slots),
            sealed_on=days.get(token) or sa.func.current_date(),
        ))
        if phases.get(cycle_id) == 'voting':
            still_voting.append(ballot_id)
    for start in range(0, len(still_voting), 500):
        chunk = still_voting[start:start + 500]
        connection.execute(sa.delete(ballot_choices).where(ballot_choices.c.ballot_id.in_(chunk)))
        connection.execute(sa.delete(ballots).where(ballots.c.id.in_(chunk)))
    connection.execute(sa.delete(participations).where(participations.c.channel != 'paper'))


def upgrade():
    op.create_table('sealed_ballots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('cycle_id', sa.Integer(), nullable=False),
    sa.Column('district_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('envelope', sa.LargeBinary(), nullable=False),
    sa.Column('sealed_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['cycle_id'], ['cycles.id'], ),
    sa.ForeignKeyConstraint(['district_id'], ['districts.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token')
    )
    with op.batch_alter_table('sealed_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sealed_ballots_cycle_id'), ['cycle_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_sealed_ballots_district_id'), ['district_id'], unique=False)

    _seal_online_ballots(op.get_bind())

    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.drop_column('token')
        batch_op.drop_column('version')


def downgrade():
    connection = op.get_bind()
    voting = connection.execute(
        sa.select(sa.func.count()).select_from(sealed_ballots.join(cycles, cycles.c.id == sealed_ballots.c.cycle_id))
        .where(cycles.c.phase == 'voting')).scalar()
    if voting:
        raise RuntimeError(
            f"{voting} sealed ballots belong to a cycle that is still voting; downgrading now would lose them. "
            "Downgrade after voting has closed."
        )
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='1', nullable=False))
    # The voter's own envelope finds their opened ballot by its receipt; every other ballot gets a random token.
    ballot_key = current_app.config["BALLOT_KEY"]
    receipt_key = str(ballot_key).encode()
    alphabet, length = "ABCDEFGHJKMNPQRSTVWXYZ23456789", 12

    def receipt(token: str, version: int) -> str:
        digest = int.from_bytes(hmac.new(receipt_key, f"receipt|{token}|{version}".encode(), hashlib.sha256).digest(), "big")
        letters = []
        for _ in range(length):
            digest, index = divmod(digest, len(alphabet))
            letters.append(alphabet[index])
        return "".join(letters)

    envelopes = connection.execute(sa.select(sealed_ballots.c.token, sealed_ballots.c.version,
                                             sealed_ballots.c.cycle_id, sealed_ballots.c.district_id,
                                             sealed_ballots.c.sealed_on)).all()
    for token, version, cycle_id, district_id, _ in envelopes:
        connection.execute(sa.update(ballots).where(ballots.c.cycle_id == cycle_id,
                                                    ballots.c.receipt == receipt(token, version))
                           .values(token=token, version=version))
    for (ballot_id,) in connection.execute(sa.select(ballots.c.id).where(ballots.c.token.is_(None))).all():
        connection.execute(sa.update(ballots).where(ballots.c.id == ballot_id).values(token=secrets.token_hex(32)))
    # Online participations again, for the residents whose token has an envelope.
    days = {token: (cycle_id, district_id, sealed_on) for token, _, cycle_id, district_id, sealed_on in envelopes}
    for user_id, cycle_id, district_id in connection.execute(
            sa.select(verifications.c.user_id, verifications.c.cycle_id, verifications.c.district_id)).all():
        found = days.get(_token(ballot_key, user_id, cycle_id, district_id))
        if found is not None:
            connection.execute(sa.insert(participations).values(
                user_id=user_id, cycle_id=cycle_id, district_id=district_id, channel='online', voted_on=found[2]))
    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.alter_column('token', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('version', existing_type=sa.Integer(), server_default=None)
        batch_op.create_unique_constraint('ballots_token_key', ['token'])

    with op.batch_alter_table('sealed_ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sealed_ballots_district_id'))
        batch_op.drop_index(batch_op.f('ix_sealed_ballots_cycle_id'))

    op.drop_table('sealed_ballots')
