"""Four-eyes publication: two different officials approve the same stored count; counting again voids approvals."""

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError
from pb.extensions import db
from pb.models import ResultApproval, Role
from pb.services import cycles, publication, tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def counted(make_user, make_cycle, make_project, verify):
    """A cycle in tallying with one ballot per district, counted by the first of three officials."""
    officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter", "Quinn")]
    cycle = make_cycle(Phase.VOTING)
    for district in cycle.districts:
        project = make_project(cycle, district, cost=10_000)
        voter = make_user()
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [project.id])
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    return cycle, officials


def _approvals() -> int:
    return db.session.scalar(select(func.count()).select_from(ResultApproval))


def test_two_different_officials_approve_the_count_and_then_it_can_be_published(counted, audit_log):
    cycle, (olga, pieter, _) = counted
    digest = publication.count_digest(cycle)
    assert digest is not None and len(digest) == 64
    publication.approve_results(olga, cycle.id)
    assert [a.official_id for a in publication.approvals(cycle)] == [olga.id]
    assert cycles.blockers(cycle) == [
        "The count needs the approval of 2 different officials before it is published; 1 of 2 have approved it."]
    publication.approve_results(pieter, cycle.id)
    assert [a.official_id for a in publication.approvals(cycle)] == [olga.id, pieter.id]
    assert cycles.blockers(cycle) == []
    assert cycles.advance_phase(olga, cycle.id, Phase.TALLYING) is Phase.RESULTS
    entries = audit_log("approve-results")
    assert [(actor, after) for actor, _, _, _, after in entries] == [
        (olga.id, {"count_digest": digest, "approvals": 1, "required": 2, "approved_with": []}),
        (pieter.id, {"count_digest": digest, "approvals": 2, "required": 2, "approved_with": [olga.id]}),
    ]


def test_the_same_official_cannot_approve_twice(counted, snapshot):
    cycle, (olga, _, _) = counted
    publication.approve_results(olga, cycle.id)
    before = snapshot()
    with pytest.raises(ConflictError, match="already approved this count; a different official must approve it"):
        publication.approve_results(olga, cycle.id)
    assert snapshot() == before


def test_counting_again_voids_the_approvals_of_the_earlier_count(counted):
    cycle, (olga, pieter, quinn) = counted
    first = publication.count_digest(cycle)
    publication.approve_results(olga, cycle.id)
    publication.approve_results(pieter, cycle.id)
    tallying.run_tally(quinn, cycle.id)
    assert publication.count_digest(cycle) != first
    assert publication.approvals(cycle) == [] and _approvals() == 2  # kept for the record, no longer counting
    assert cycles.blockers(cycle) == [
        "The count needs the approval of 2 different officials before it is published; 0 of 2 have approved it."]
    publication.approve_results(olga, cycle.id)  # Olga may approve the new count
    assert len(publication.approvals(cycle)) == 1


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [("resident", PermissionDenied, "Only officials can approve"),
     ("moderator", PermissionDenied, "Only officials can approve"),
     ("unknown-cycle", NotFound, "no such cycle"),
     ("not-counted", ConflictError, "Count the votes of every district"),
     ("published", PhaseError, "A count can only be approved after voting has closed")],
)
def test_approval_refusals_change_nothing(counted, make_user, make_cycle, snapshot, case, error, message):
    cycle, (olga, pieter, _) = counted
    actor, cycle_id = olga, cycle.id
    if case in ("resident", "moderator"):
        actor = make_user(Role.RESIDENT if case == "resident" else Role.MODERATOR)
    elif case == "unknown-cycle":
        cycle_id = 10**6
    elif case == "not-counted":
        cycle_id = make_cycle(Phase.TALLYING).id
    elif case == "published":
        publication.approve_results(olga, cycle.id)
        publication.approve_results(pieter, cycle.id)
        cycles.advance_phase(olga, cycle.id, Phase.TALLYING)
    before = snapshot()
    with pytest.raises(error, match=message):
        publication.approve_results(actor, cycle_id)
    assert snapshot() == before
