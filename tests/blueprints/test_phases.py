"""Every phase × every action through HTTP: allowed only in its phase, otherwise a clear message and no change."""

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import (
    Implementation,
    ImplementationUpdate,
    PaperEntry,
    Participation,
    ProjectResult,
    Proposal,
    ResultApproval,
    ProposalStatus,
    Role,
    SealedBallot,
    Support,
    TallyRun,
    Verification,
)

P = Phase


@pytest.fixture
def world(make_user, make_cycle, make_proposal, make_project, verify):
    def build(phase: Phase):
        resident = make_user(Role.RESIDENT)
        newcomer = make_user(Role.RESIDENT)
        moderator = make_user(Role.MODERATOR)
        official = make_user(Role.OFFICIAL)
        cycle = make_cycle(phase, has_supports_phase=True)
        district = cycle.districts[0]
        project = make_project(cycle, district, cost=20_000)
        pending = make_proposal(cycle, district, author=resident, title="Pending idea")
        verify(resident, district)
        # A paper-voter mark an official may take back (the newcomer was marked by mistake).
        db.session.add(Participation(user_id=newcomer.id, cycle_id=cycle.id, district_id=district.id, channel="paper"))
        db.session.commit()
        return {"resident": resident, "newcomer": newcomer, "moderator": moderator, "official": official,
                "cycle": cycle, "district": district, "project": project, "pending": pending}

    return build


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def submit_proposal(client, w):
    client.login(w["resident"])
    return client.submit(f"/cycles/{w['cycle'].id}/proposals/new", {
        "title": "New idea", "summary": "s", "description": "d", "estimated_cost": "100",
        "district_id": w["district"].id, "category_id": w["cycle"].categories[0].id,
    })


def edit_proposal(client, w):
    client.login(w["resident"])
    return client.submit(f"/proposals/{w['pending'].id}/edit", {
        "title": "Renamed idea", "summary": "s", "description": "d", "estimated_cost": "100",
        "district_id": w["district"].id, "category_id": w["cycle"].categories[0].id, "version": "1",
    })


def withdraw_proposal(client, w):
    client.login(w["resident"])
    return client.submit(f"/proposals/{w['pending'].id}/withdraw")


def support_proposal(client, w):
    client.login(w["resident"])
    return client.submit(f"/proposals/{w['pending'].id}/support")


def accept_proposal(client, w):
    client.login(w["moderator"])
    return client.submit(f"/moderation/proposals/{w['pending'].id}/accept", {"accept-final_cost": "100", "accept-version": "1"})


def verify_resident(client, w):
    client.login(w["moderator"])
    return client.submit(f"/moderation/cycles/{w['cycle'].id}/residents",
                         {"user_id": w["newcomer"].id, "district_id": w["district"].id})


def vote(client, w):
    client.login(w["resident"])
    return client.submit(f"/cycles/{w['cycle'].id}/vote/{w['district'].id}", {"project": [str(w["project"].id)]})


def tally(client, w):
    client.login(w["official"])
    return client.submit(f"/admin/cycles/{w['cycle'].id}/tally")


def enter_paper_sheet(client, w):
    client.login(w["official"])
    return client.submit(f"/paper/districts/{w['district'].id}/sheets",
                         {"polling_station": "Library", "number": "1", "project": [str(w["project"].id)]})


def record_paper_voter(client, w):
    client.login(w["official"])
    return client.submit(f"/paper/cycles/{w['cycle'].id}/voters",
                         {"user_id": w["resident"].id, "district_id": w["district"].id})


def approve_results(client, w):
    client.login(w["official"])
    client.submit(f"/admin/cycles/{w['cycle'].id}/tally")  # counted first where counting is possible
    return client.submit(f"/admin/cycles/{w['cycle'].id}/approve-results")


def undo_paper_voter(client, w):
    client.login(w["official"])
    return client.submit(f"/paper/cycles/{w['cycle'].id}/voters/undo",
                         {"user_id": w["newcomer"].id, "district_id": w["district"].id, "reason": "Marked by mistake."})


def _fund(w):
    """Store a count funding the world's project, as a tally would have."""
    run = TallyRun(cycle_id=w["cycle"].id, district_id=w["district"].id, rule="greedy", tie_break="seeded",
                   budget=w["district"].budget, spent=w["project"].cost, ballot_count=1, run_by_id=w["official"].id)
    run.results.append(ProjectResult(project_id=w["project"].id, votes=1, cost=w["project"].cost, is_funded=True,
                                     position=1))
    db.session.add(run)
    db.session.commit()


def record_implementation(client, w):
    _fund(w)
    client.login(w["official"])
    return client.submit(f"/implementation/projects/{w['project'].id}",
                         {"status": "in_progress", "progress": "10", "spent": "5", "version": "0"})


def post_implementation_update(client, w):
    _fund(w)
    client.login(w["official"])
    return client.submit(f"/implementation/projects/{w['project'].id}/updates",
                         {"update-posted_on": "2020-01-01", "update-text": "Work has started."})


def see_results(client, w):
    return client.get(f"/cycles/{w['cycle'].id}/results")


def _status_of(proposal_id):
    return db.session.get(Proposal, proposal_id).status


# action, the phases where it is allowed, what it changes (read from the database)
ACTIONS = [
    (submit_proposal, {P.PROPOSALS}, lambda w: _count(Proposal, Proposal.cycle_id == w["cycle"].id)),
    (edit_proposal, {P.PROPOSALS}, lambda w: db.session.get(Proposal, w["pending"].id).title),
    (withdraw_proposal, {P.PROPOSALS, P.SUPPORTS, P.REVIEW}, lambda w: _status_of(w["pending"].id)),
    (support_proposal, {P.SUPPORTS}, lambda w: _count(Support)),
    (accept_proposal, {P.REVIEW}, lambda w: _status_of(w["pending"].id)),
    (verify_resident, {P.PROPOSALS, P.SUPPORTS, P.REVIEW, P.VOTING}, lambda w: _count(Verification)),
    (vote, {P.VOTING}, lambda w: _count(SealedBallot)),
    (tally, {P.TALLYING}, lambda w: _count(TallyRun)),
    (approve_results, {P.TALLYING}, lambda w: _count(ResultApproval)),
    (enter_paper_sheet, {P.VOTING, P.TALLYING}, lambda w: _count(PaperEntry)),
    (record_paper_voter, {P.VOTING, P.TALLYING}, lambda w: _count(Participation)),
    (undo_paper_voter, {P.VOTING, P.TALLYING}, lambda w: _count(Participation, Participation.channel == "paper")),
    (record_implementation, {P.RESULTS, P.CLOSED}, lambda w: _count(Implementation)),
    (post_implementation_update, {P.RESULTS, P.CLOSED}, lambda w: _count(ImplementationUpdate)),
]


@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.value)
@pytest.mark.parametrize(("action", "allowed", "effect"), ACTIONS, ids=lambda a: getattr(a, "__name__", ""))
def test_action_is_allowed_only_in_its_phases(client, world, phase, action, allowed, effect):
    w = world(phase)
    before = effect(w)
    response = action(client, w)
    after = effect(w)
    if phase in allowed:
        assert response.status_code == 302
        assert after != before
    elif response.status_code == 404:
        assert phase is P.DRAFT  # a draft cycle is invisible to everyone but officials
        assert after == before
    else:
        assert response.status_code == 302
        assert after == before
        page = client.get(response.location).get_data(as_text=True)
        assert 'class="message error"' in page


@pytest.mark.parametrize("phase", list(Phase), ids=lambda p: p.value)
def test_results_are_public_only_once_published(client, world, phase):
    w = world(phase)
    response = see_results(client, w)
    if phase in (P.RESULTS, P.CLOSED):
        assert response.status_code == 200
    elif phase is P.DRAFT:
        assert response.status_code == 404  # drafts are not public at all
    else:
        assert response.status_code == 302
        assert "Results are not published yet." in client.get(response.location).get_data(as_text=True)


def test_a_withdrawn_proposal_is_refused_a_second_withdrawal(client, world):
    w = world(P.PROPOSALS)
    withdraw_proposal(client, w)
    assert _status_of(w["pending"].id) is ProposalStatus.WITHDRAWN
    response = client.submit(f"/proposals/{w['pending'].id}/withdraw", follow_redirects=True)
    assert "can no longer be withdrawn" in response.get_data(as_text=True)
