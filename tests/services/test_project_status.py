"""The status the public sees of each proposal, before and after results and after a correction withdrew a project."""

import pytest

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import ProposalStatus, Role
from pb.services import cycles, project_status, publication, revisions, tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def counted(make_cycle, make_project, make_proposal, make_user, verify):
    """North (1,000 EUR), greedy: A 600 EUR (3 votes) and C 400 EUR (2) are funded; B 500 EUR (2) does not fit.

    R was rejected in review and never reached the ballot. The count is made, not yet published.
    """
    officials = [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter")]
    cycle = make_cycle(Phase.VOTING)
    north = cycle.districts[0]
    a, b, c = (make_project(cycle, north, cost=cost, title=title)
               for cost, title in [(60_000, "A"), (50_000, "B"), (40_000, "C")])
    rejected = make_proposal(cycle, north, title="R", status=ProposalStatus.REJECTED)
    for choice in [[a], [a], [a, c], [b, c], [b]]:
        voter = make_user()
        verify(voter, north)
        voting.cast_ballot(voter, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    return cycle, officials, {"A": a, "B": b, "C": c, "R": rejected}


def _shown(projects) -> dict[str, tuple[str, str]]:
    db.session.expire_all()
    return {title: (status.value, str(status.label))
            for title, status in ((t, project_status.public_status(p)) for t, p in projects.items())}


def _publish(cycle, officials):
    publication.approve_results(officials[0], cycle.id)
    publication.approve_results(officials[1], cycle.id)
    cycles.advance_phase(officials[0], cycle.id, Phase.TALLYING)  # to "Results published"


def test_before_results_a_project_is_on_the_ballot_even_once_counted(counted):
    cycle, _, projects = counted
    assert cycle.phase is Phase.TALLYING
    assert _shown(projects) == {
        "A": ("accepted", "Accepted: on the ballot"), "B": ("accepted", "Accepted: on the ballot"),
        "C": ("accepted", "Accepted: on the ballot"), "R": ("rejected", "Rejected"),
    }


def test_after_results_projects_read_funded_or_not_funded(counted):
    cycle, officials, projects = counted
    _publish(cycle, officials)
    assert _shown(projects) == {
        "A": ("funded", "Funded"), "B": ("not_funded", "Not funded"), "C": ("funded", "Funded"),
        "R": ("rejected", "Rejected"),
    }


def test_a_project_withdrawn_by_a_correction_reads_withdrawn_and_the_money_it_freed_is_seen(counted):
    cycle, officials, projects = counted
    _publish(cycle, officials)
    revisions.propose_correction(officials[0], cycle.id, "A cannot be built.", [projects["A"].id])
    assert _shown(projects)["A"] == ("funded", "Funded")  # a pending correction changes nothing in public
    revisions.approve_correction(officials[1], cycle.id, 2)
    assert _shown(projects) == {
        "A": ("withdrawn_after_results", "Withdrawn after the results"), "B": ("funded", "Funded"),
        "C": ("funded", "Funded"), "R": ("rejected", "Rejected"),
    }


def test_a_list_reads_the_cycles_results_once(counted):
    cycle, officials, projects = counted
    _publish(cycle, officials)
    results = project_status.cycle_results(cycle)
    assert results.is_published and results.withdrawn == frozenset()
    assert {title: project_status.public_status(p, results).value for title, p in projects.items()} == {
        "A": "funded", "B": "not_funded", "C": "funded", "R": "rejected"}
