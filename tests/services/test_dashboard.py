"""The officials' dashboard: turnout by district, channel and day, verification progress and open paper sheets."""

import ast
import pathlib
from datetime import date

import pytest

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import (
    PaperSheet,
    Participation,
    RegisterEntry,
    Role,
    SealedBallot,
    Verification,
    VerificationAttempt,
    VotingCode,
    utcnow,
)
from pb.services import dashboard, verification, voting

DAY_1, DAY_2 = date(2026, 5, 4), date(2026, 5, 5)


@pytest.fixture
def world(make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    return official, cycle, north, south


def _voter(make_user, cycle, district, official, *, method="in-person", channel=None, voted_on=None):
    resident = make_user()
    db.session.add(Verification(user_id=resident.id, cycle_id=cycle.id, district_id=district.id,
                                verified_by_id=official.id, method=method))
    if channel == "paper":
        db.session.add(Participation(user_id=resident.id, cycle_id=cycle.id, district_id=district.id, channel=channel,
                                     voted_on=voted_on))
    elif channel == "online":  # a sealed ballot: the dashboard counts envelopes, it never opens them
        db.session.add(SealedBallot(cycle_id=cycle.id, district_id=district.id, sealed_on=voted_on, envelope=b"sealed",
                                    token=voting.ballot_token(resident.id, cycle.id, district.id)))
    db.session.commit()
    return resident


def test_turnout_by_district_channel_and_day(world, make_user):
    official, cycle, north, south = world
    for _ in range(2):
        _voter(make_user, cycle, north, official, channel="online", voted_on=DAY_1)
    _voter(make_user, cycle, north, official, channel="paper", voted_on=DAY_2)
    _voter(make_user, cycle, north, official)  # verified, not voted yet
    _voter(make_user, cycle, south, official, channel="online", voted_on=DAY_2, method="code")
    board = dashboard.dashboard(cycle)
    counts = {row.district.name: row.counts for row in board.districts}
    assert (counts["North"].verified, counts["North"].online, counts["North"].paper, counts["North"].voted) == (4, 2, 1, 3)
    assert counts["North"].turnout_percent == 75
    assert (counts["South"].verified, counts["South"].voted, counts["South"].turnout_percent) == (1, 1, 100)
    assert (board.total.verified, board.total.voted) == (5, 4)
    assert [(d.day, d.online, d.paper, d.by_district, d.running_total) for d in board.days] == [
        (DAY_1, 2, 0, {north.id: 2, south.id: 0}, 2),
        (DAY_2, 1, 1, {north.id: 1, south.id: 1}, 4),
    ]
    assert {method.label: method.count for method in board.methods} == {
        "in person by a moderator or an official": 4, "with a voting code": 1,
    }


def test_an_empty_cycle_has_no_days_and_no_turnout_percentage(world):
    _, cycle, _, _ = world
    board = dashboard.dashboard(cycle)
    assert board.days == [] and board.total.turnout_percent is None and board.lockouts == 0


def test_verification_progress_register_codes_and_lockouts(world, make_user):
    official, cycle, north, south = world
    used_by = make_user()
    db.session.add_all([
        RegisterEntry(cycle_id=cycle.id, district_id=north.id, entry_hash="a" * 64, used_by_id=used_by.id,
                      used_at=utcnow()),
        RegisterEntry(cycle_id=cycle.id, district_id=north.id, entry_hash="b" * 64),
        RegisterEntry(cycle_id=cycle.id, district_id=south.id, entry_hash="c" * 64),
        VotingCode(cycle_id=cycle.id, district_id=south.id, number=1, code_hash="1" * 64, created_by_id=official.id,
                   used_by_id=used_by.id, used_at=utcnow()),
        VotingCode(cycle_id=cycle.id, district_id=south.id, number=2, code_hash="2" * 64, created_by_id=official.id,
                   voided_by_id=official.id, voided_at=utcnow()),
        VotingCode(cycle_id=cycle.id, district_id=south.id, number=3, code_hash="3" * 64, created_by_id=official.id),
    ])
    locked = make_user()
    for _ in range(verification.ACCOUNT_FAILURE_LIMIT):
        db.session.add(VerificationAttempt(user_id=locked.id, cycle_id=cycle.id, address_hash="x" * 64,
                                           method="code"))
    db.session.commit()
    board = dashboard.dashboard(cycle)
    north_counts, south_counts = (row.counts for row in board.districts)
    assert (north_counts.register_entries, north_counts.register_used) == (2, 1)
    assert (south_counts.register_entries, south_counts.register_used) == (1, 0)
    assert (south_counts.codes_issued, south_counts.codes_used, south_counts.codes_voided, south_counts.codes_open) == (
        3, 1, 1, 1)
    assert (board.total.register_entries, board.total.codes_issued) == (3, 3)
    assert board.lockouts == 1


def test_paper_sheets_waiting_for_a_second_entry_or_in_disagreement(world):
    _, cycle, north, south = world
    for number, status, district in [(1, "pending", north), (2, "pending", north), (3, "disagreed", north),
                                     (4, "agreed", south), (5, "spoilt", south)]:
        db.session.add(PaperSheet(cycle_id=cycle.id, district_id=district.id, polling_station="Library",
                                  number=number, status=status))
    db.session.commit()
    board = dashboard.dashboard(cycle)
    north_counts, south_counts = (row.counts for row in board.districts)
    assert (north_counts.sheets_pending, north_counts.sheets_disagreed) == (2, 1)
    assert (south_counts.sheets_agreed, south_counts.sheets_spoilt, south_counts.sheets_pending) == (1, 1, 0)
    assert board.unresolved_sheets == 3


def test_the_dashboard_module_imports_no_ballot_and_no_count():
    # Behind "no per-project number before publication": the module cannot reach a ballot or a count at all.
    tree = ast.parse(pathlib.Path(dashboard.__file__).read_text())
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    assert imported.isdisjoint({"Ballot", "BallotChoice", "TallyRun", "ProjectResult", "tallying", "results", "sealing",
                                "SealedBallot", "stored_ballot", "current_choices", "open_ballot_box"})
    assert "voters_per_day" in imported and "turnout_by_channel" in imported  # the check reads the right thing
