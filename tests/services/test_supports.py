"""Supports: the limit per district (also when sent at once), the phase and verification guards, the rule that sends
the top K and/or those above a threshold on to review, and supports never touching a ballot."""

import threading

import pytest
from sqlalchemy import func, inspect, select

from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import OutboxMessage, Proposal, ProposalStatus, Role, Support
from pb.services import accounts, cycles, moderation, proposals, supports
from pb.services.cycles import CycleSettings


def _supports_of(user) -> set[int]:
    return set(db.session.scalars(select(Support.proposal_id).where(Support.user_id == user.id)))


@pytest.fixture
def supporting(make_cycle, make_user, verify):
    """A cycle in its supports phase (limit 2 per district) and a resident verified in North."""

    def build(phase=Phase.SUPPORTS, **overrides):
        values = {"has_supports_phase": True, "supports_per_district": 2, **overrides}
        cycle = make_cycle(phase, **values)
        resident = make_user()
        verify(resident, cycle.districts[0])
        return cycle, resident

    return build


def test_a_verified_resident_supports_a_proposal_and_the_count_is_public(supporting, make_proposal):
    cycle, resident = supporting()
    proposal = make_proposal(cycle)
    supports.support(resident, proposal.id)
    supports.support(resident, proposal.id)  # a double click counts once
    assert supports.counts(cycle) == {proposal.id: 1}
    assert supports.count_for(proposal) == 1
    assert supports.supported_ids(resident, cycle) == {proposal.id}
    assert supports.used_in(resident, cycle.districts[0]) == 1


def test_the_limit_per_district_is_kept_and_taking_one_back_frees_a_place(supporting, make_proposal):
    cycle, resident = supporting()
    first, second, third = (make_proposal(cycle) for _ in range(3))
    supports.support(resident, first.id)
    supports.support(resident, second.id)
    with pytest.raises(ValidationError, match="You have used all 2 of your supports in North"):
        supports.support(resident, third.id)
    assert _supports_of(resident) == {first.id, second.id}
    supports.withdraw_support(resident, first.id)
    supports.support(resident, third.id)
    assert _supports_of(resident) == {second.id, third.id}
    with pytest.raises(ValidationError, match="nothing to take back"):
        supports.withdraw_support(resident, first.id)


def test_a_withdrawn_proposal_frees_its_supporters_place(supporting, make_proposal):
    cycle, resident = supporting()
    first, second, third = (make_proposal(cycle) for _ in range(3))
    supports.support(resident, first.id)
    supports.support(resident, second.id)
    proposals.withdraw_proposal(first.author, first.id)
    supports.support(resident, third.id)
    assert supports.used_in(resident, cycle.districts[0]) == 2


def test_parallel_supports_cannot_exceed_the_limit(app, supporting, make_proposal):
    # Five supports sent at the same moment by one resident with a limit of 2: exactly 2 are kept (row lock on the
    # resident in PostgreSQL, one writer at a time in SQLite).
    cycle, resident = supporting()
    targets = [make_proposal(cycle).id for _ in range(5)]
    resident_id = resident.id
    barrier = threading.Barrier(len(targets))
    outcomes: list[str] = []

    def send(proposal_id: int) -> None:
        with app.app_context():
            from pb.models import User

            user = db.session.get(User, resident_id)
            db.session.rollback()
            barrier.wait(timeout=30)
            try:
                supports.support(user, proposal_id)
                outcomes.append("kept")
            except ValidationError:
                outcomes.append("refused")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, args=(proposal_id,)) for proposal_id in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["kept", "kept", "refused", "refused", "refused"]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Support).where(Support.user_id == resident_id)) == 2


@pytest.mark.parametrize("phase", [phase for phase in Phase if phase is not Phase.SUPPORTS])
def test_supports_are_given_and_taken_back_only_in_the_supports_phase(supporting, make_proposal, phase):
    cycle, resident = supporting(phase=phase)
    proposal = make_proposal(cycle)
    db.session.add(Support(proposal_id=proposal.id, user_id=resident.id, cycle_id=cycle.id,
                           district_id=proposal.district_id))
    db.session.commit()
    with pytest.raises(PhaseError, match="only be supported during the supports phase"):
        supports.support(resident, make_proposal(cycle).id)
    with pytest.raises(PhaseError):
        supports.withdraw_support(resident, proposal.id)
    assert _supports_of(resident) == {proposal.id}


def test_only_residents_verified_in_the_proposals_district_may_support(supporting, make_proposal, make_user):
    cycle, resident = supporting()
    south = make_proposal(cycle, cycle.districts[1])
    with pytest.raises(PermissionDenied, match="Only residents verified in South"):
        supports.support(resident, south.id)
    with pytest.raises(PermissionDenied, match="verified in North"):
        supports.support(make_user(), make_proposal(cycle).id)
    unconfirmed = make_user(email_confirmed_at=None)
    with pytest.raises(PermissionDenied, match="Confirm your email address"):
        supports.support(unconfirmed, make_proposal(cycle).id)
    assert db.session.scalar(select(func.count()).select_from(Support)) == 0


@pytest.mark.parametrize("status", [ProposalStatus.WITHDRAWN, ProposalStatus.NOT_SELECTED])
def test_a_proposal_out_of_the_running_cannot_be_supported(supporting, make_proposal, status):
    cycle, resident = supporting()
    with pytest.raises(ValidationError, match="cannot be supported"):
        supports.support(resident, make_proposal(cycle, status=status).id)


# -- The rule when the supports phase ends. ------------------------------------------------------------------------


def _with_supports(cycle, district, make_proposal, make_user, verify, counts: list[int]) -> list[Proposal]:
    """Proposals of the district with these numbers of supports, given by fresh residents verified there."""
    made = [make_proposal(cycle, district) for _ in counts]
    residents = [make_user() for _ in range(max(counts, default=0))]
    for resident in residents:
        verify(resident, district)
    for proposal, count in zip(made, counts, strict=True):
        for resident in residents[:count]:
            supports.support(resident, proposal.id)
    return made


@pytest.mark.parametrize(
    ("top", "threshold", "counts", "going_on"),
    [
        (None, None, [5, 3, 0], [0, 1, 2]),  # no rule: everything goes to review
        (2, None, [5, 3, 1, 0], [0, 1]),
        (2, None, [5, 3, 3, 1], [0, 1, 2]),  # a tie at the 2nd place: both tied proposals go on
        (1, None, [4, 4, 2], [0, 1]),  # a tie at the top
        (None, 3, [5, 3, 2, 0], [0, 1]),  # the threshold itself is enough
        (2, 4, [5, 4, 4, 1], [0, 1, 2]),  # both: in the top 2 (with ties) and at least 4
        (3, 4, [5, 4, 3, 1], [0, 1]),  # both: 3rd place has 3, below the threshold
    ],
)
def test_moving_to_review_keeps_only_what_the_rule_selects(make_cycle, make_user, make_proposal, verify, audit_log,
                                                           top, threshold, counts, going_on):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_per_district=10,
                       supports_advance_top=top, supports_threshold=threshold)
    north, south = cycle.districts
    made = _with_supports(cycle, north, make_proposal, make_user, verify, counts)
    south_proposal = _with_supports(cycle, south, make_proposal, make_user, verify, [9])[0]
    official = make_user(Role.OFFICIAL)
    assert cycles.advance_phase(official, cycle.id, "supports") is Phase.REVIEW

    left_out = [proposal.id for number, proposal in enumerate(made) if number not in going_on]
    for number, proposal in enumerate(made):
        stored = db.session.get(Proposal, proposal.id)
        assert stored.status is (ProposalStatus.SUBMITTED if number in going_on else ProposalStatus.NOT_SELECTED)
    assert db.session.get(Proposal, south_proposal.id).status is ProposalStatus.SUBMITTED
    entries = audit_log("select-for-review")
    if top is None and threshold is None:
        assert entries == []
    else:
        assert len(entries) == 1  # one entry per cycle, listing every proposal set aside with its supports
        actor_id, _, subject, _, after = entries[0]
        assert (actor_id, subject) == (official.id, f"cycle:{cycle.id}")
        assert after["not_selected"] == sorted(left_out)
        assert after["supports"] == {str(made[n].id): counts[n] for n in range(len(made)) if n not in going_on}
    # The moderators' queue and the review's blockers count only the proposals that went on.
    assert {p.id for p in moderation.queue(cycle, None)} == {made[n].id for n in going_on} | {south_proposal.id}
    assert cycles.facts(cycle).proposals_waiting_review == len(going_on) + 1
    # Everyone still sees the proposals set aside, with their status.
    listed = {p.id: p.status for p in proposals.public_proposals(cycle)}
    assert all(listed[proposal_id] is ProposalStatus.NOT_SELECTED for proposal_id in left_out)
    # Each author set aside is told, once.
    mailed = db.session.scalars(select(OutboxMessage.recipient).where(
        OutboxMessage.template == "proposal_not_selected")).all()
    assert sorted(mailed) == sorted(db.session.get(Proposal, proposal_id).author.email for proposal_id in left_out)


def test_the_author_is_told_how_many_supports_their_proposal_got(make_cycle, make_user, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_threshold=3)
    proposal = _with_supports(cycle, cycle.districts[0], make_proposal, make_user, verify, [1])[0]
    _with_supports(cycle, cycle.districts[0], make_proposal, make_user, verify, [3])
    _with_supports(cycle, cycle.districts[1], make_proposal, make_user, verify, [3])
    cycles.advance_phase(make_user(Role.OFFICIAL), cycle.id, "supports")
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.template == "proposal_not_selected"))
    assert message.recipient == proposal.author.email
    assert "got 1 support, which was not enough" in message.body_text
    assert "Proposals with at least 3 supports go on to review." in message.body_text


def test_the_supports_phase_cannot_end_leaving_a_district_nothing_to_review(make_cycle, make_user, make_proposal,
                                                                            verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_threshold=2)
    _with_supports(cycle, cycle.districts[0], make_proposal, make_user, verify, [2])
    _with_supports(cycle, cycle.districts[1], make_proposal, make_user, verify, [1])
    with pytest.raises(PhaseError, match="No proposal has enough supports to go on to review in: South"):
        cycles.advance_phase(make_user(Role.OFFICIAL), cycle.id, "supports")
    assert db.session.get(type(cycle), cycle.id).phase is Phase.SUPPORTS


def test_the_ranking_shows_the_cut_off_the_rule_would_apply(make_cycle, make_user, make_proposal, verify):
    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True, supports_advance_top=1)
    made = _with_supports(cycle, cycle.districts[0], make_proposal, make_user, verify, [1, 3, 3])
    north = supports.ranking(cycle)[0]
    assert [(entry.proposal.id, entry.supports, entry.is_selected) for entry in north.ranked] == [
        (made[1].id, 3, True), (made[2].id, 3, True), (made[0].id, 1, False)]
    assert north.cut_off == 3


# -- Settings and the timetable. -------------------------------------------------------------------------------------


def test_a_supports_date_without_the_supports_phase_is_refused(make_user):
    from datetime import datetime

    official = make_user(Role.OFFICIAL)
    with pytest.raises(ValidationError, match="only kept for a cycle with the supports phase"):
        cycles.create_cycle(official, CycleSettings(name="No supports", total_budget=1000,
                                                    supports_at=datetime(2030, 1, 2)))
    with pytest.raises(ValidationError, match="proposals, supports, review"):
        cycles.create_cycle(official, CycleSettings(
            name="Out of order", total_budget=1000, has_supports_phase=True, proposals_open_at=datetime(2030, 1, 1),
            supports_at=datetime(2030, 3, 1), review_at=datetime(2030, 2, 1)))
    cycle = cycles.create_cycle(official, CycleSettings(
        name="In order", total_budget=1000, has_supports_phase=True, proposals_open_at=datetime(2030, 1, 1),
        supports_at=datetime(2030, 2, 1), review_at=datetime(2030, 3, 1)))
    assert cycle.supports_at == datetime(2030, 2, 1)


# -- Secrecy and personal data. --------------------------------------------------------------------------------------

BALLOT_TABLES = ("ballots", "ballot_choices", "sealed_ballots")


def test_no_ballot_table_refers_to_supports_nor_supports_to_a_ballot(app):
    tables = db.metadata.tables
    for name in BALLOT_TABLES:
        if name not in tables:
            continue
        targets = {key.column.table.name for column in tables[name].columns for key in column.foreign_keys}
        assert "supports" not in targets and "users" not in targets, name
        assert not any("support" in column.name for column in tables[name].columns), name
    support_targets = {key.column.table.name for column in tables["supports"].columns for key in column.foreign_keys}
    assert support_targets == {"proposals", "users", "cycles", "districts"}
    for key in inspect(db.engine).get_foreign_keys("supports"):
        assert key["referred_table"] not in BALLOT_TABLES


def test_supporting_and_voting_leave_no_link_between_the_two(make_cycle, make_user, make_proposal, make_project,
                                                             verify):
    from pb.services import voting

    cycle = make_cycle(Phase.SUPPORTS, has_supports_phase=True)
    resident = make_user()
    verify(resident, cycle.districts[0])
    proposal = make_proposal(cycle)
    supports.support(resident, proposal.id)
    support_row = db.session.scalar(select(Support))
    cycle.phase = Phase.VOTING
    project = make_project(cycle)
    voting.cast_ballot(resident, cycle.id, cycle.districts[0].id, [project.id])
    for name in BALLOT_TABLES:
        if name in db.metadata.tables:
            for row in db.session.execute(db.metadata.tables[name].select()).mappings():
                assert resident.id not in {value for key, value in row.items() if key.endswith("user_id")}
                assert support_row.id not in {value for key, value in row.items() if "support" in key}
    assert db.session.scalar(select(func.count()).select_from(Support)) == 1  # voting left supports alone


def test_a_residents_supports_are_in_their_data_download(supporting, make_proposal):
    cycle, resident = supporting()
    proposal = make_proposal(cycle)
    supports.support(resident, proposal.id)
    data = accounts.personal_data(resident)
    assert [(row["proposal_id"], row["cycle_id"]) for row in data["supports"]] == [(proposal.id, cycle.id)]
