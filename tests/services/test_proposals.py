"""Residents submitting, editing, revising and withdrawing proposals."""


import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Proposal, ProposalStatus, Role
from pb.services import proposals
from pb.services.proposals import ProposalDraft


def _draft(cycle, **overrides) -> ProposalDraft:
    values = {"title": " Benches ", "summary": "Benches by the river.", "description": "Ten benches.",
              "estimated_cost": 30_000, "district_id": cycle.districts[0].id, "category_id": cycle.categories[0].id,
              "location": "River path"}
    return ProposalDraft(**{**values, **overrides})


def _stored(proposal_id: int) -> Proposal:
    db.session.expire_all()
    return db.session.scalar(select(Proposal).where(Proposal.id == proposal_id))


def test_submit_proposal_stores_it_waiting_for_review_and_audits_it(make_user, make_cycle, audit_log):
    author, cycle = make_user(), make_cycle(Phase.PROPOSALS)
    proposal = proposals.submit_proposal(author, cycle.id, _draft(cycle))
    stored = _stored(proposal.id)
    assert (stored.title, stored.author_id, stored.status, stored.estimated_cost, stored.final_cost, stored.version) == (
        "Benches", author.id, ProposalStatus.SUBMITTED, 30_000, None, 1)
    [(actor_id, action, subject, before, after)] = audit_log()
    assert (actor_id, action, subject, before) == (author.id, "submit-proposal", f"proposal:{proposal.id}", {})
    assert (after["title"], after["estimated_cost"], after["status"]) == ("Benches", 30_000, "submitted")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"title": "  "}, "needs a title, a summary and a description"),
        ({"description": ""}, "needs a title, a summary and a description"),
        ({"district_id": "other-cycle"}, "Choose one of this cycle's districts."),
        ({"category_id": "other-cycle"}, "Choose one of this cycle's categories."),
        ({"category_id": None}, "Choose a category."),
        ({"estimated_cost": 0}, "The estimated cost must be more than zero."),
        ({"estimated_cost": 100_001}, "more than the whole budget of North"),
    ],
)
def test_submit_proposal_refuses_bad_values_and_changes_nothing(make_user, make_cycle, snapshot, overrides, message):
    author, cycle, other = make_user(), make_cycle(Phase.PROPOSALS), make_cycle(Phase.PROPOSALS)
    foreign = {"district_id": other.districts[0].id, "category_id": other.categories[0].id}
    draft = _draft(cycle, **{name: foreign[name] if value == "other-cycle" else value for name, value in overrides.items()})
    before = snapshot()
    with pytest.raises(ValidationError, match=message):
        proposals.submit_proposal(author, cycle.id, draft)
    assert snapshot() == before


@pytest.mark.parametrize("phase", [Phase.DRAFT, Phase.REVIEW])  # every phase x action: tests/domain/test_cycle.py
def test_submit_proposal_is_refused_outside_the_proposals_phase(make_user, make_cycle, snapshot, phase):
    author, cycle = make_user(), make_cycle(phase)
    before = snapshot()
    with pytest.raises(PhaseError, match=f"This cycle is now: {phase.label.lower()}"):
        proposals.submit_proposal(author, cycle.id, _draft(cycle))
    assert snapshot() == before


def test_submit_proposal_to_an_unknown_cycle_is_not_found(make_user, make_cycle, snapshot):
    author, cycle = make_user(), make_cycle(Phase.PROPOSALS)
    before = snapshot()
    with pytest.raises(NotFound, match="no such cycle"):
        proposals.submit_proposal(author, 10_000, _draft(cycle))
    assert snapshot() == before


@pytest.mark.parametrize(
    ("phase", "status"), [(Phase.PROPOSALS, ProposalStatus.SUBMITTED), (Phase.REVIEW, ProposalStatus.CHANGES_REQUESTED)]
)
def test_edit_proposal_stores_the_changes_as_submitted_with_a_new_version(make_user, make_cycle, make_proposal, audit_log, phase, status):
    author, cycle = make_user(), make_cycle(phase)
    proposal = make_proposal(cycle, author=author, status=status, title="Benches")
    south = cycle.districts[1]
    proposals.edit_proposal(author, proposal.id, _draft(cycle, title="Better benches", district_id=south.id), version=1)
    stored = _stored(proposal.id)
    assert (stored.title, stored.district_id, stored.status, stored.version) == ("Better benches", south.id, ProposalStatus.SUBMITTED, 2)
    [(actor_id, action, _, before, after)] = audit_log()
    assert (actor_id, action, before["title"], after["title"], before["status"], after["status"]) == (
        author.id, "edit-proposal", "Benches", "Better benches", status.value, "submitted")


@pytest.mark.parametrize(
    ("case", "phase", "status", "error", "message"),
    [
        ("someone-else", Phase.PROPOSALS, ProposalStatus.SUBMITTED, PermissionDenied, "Only the author"),
        ("stale-version", Phase.PROPOSALS, ProposalStatus.SUBMITTED, ConflictError, "changed after you opened the form"),
        ("bad-draft", Phase.PROPOSALS, ProposalStatus.SUBMITTED, ValidationError, "more than zero"),
        ("unknown", Phase.PROPOSALS, ProposalStatus.SUBMITTED, NotFound, "no such proposal"),
        ("author", Phase.REVIEW, ProposalStatus.SUBMITTED, PhaseError, "only be edited while proposals are open"),
        ("author", Phase.PROPOSALS, ProposalStatus.CHANGES_REQUESTED, PhaseError, "only be revised during the review"),
        ("author", Phase.VOTING, ProposalStatus.CHANGES_REQUESTED, PhaseError, "only be revised during the review"),
        ("author", Phase.REVIEW, ProposalStatus.ACCEPTED, ValidationError, "can no longer be edited: accepted"),
        ("author", Phase.PROPOSALS, ProposalStatus.WITHDRAWN, ValidationError, "can no longer be edited: withdrawn"),
    ],
)
def test_edit_proposal_refusals_change_nothing(make_user, make_cycle, make_proposal, snapshot, case, phase, status, error, message):
    author, someone_else, cycle = make_user(), make_user(), make_cycle(phase)
    proposal = make_proposal(cycle, author=author, status=status)
    actor = someone_else if case == "someone-else" else author
    draft = _draft(cycle, estimated_cost=0 if case == "bad-draft" else 20_000)
    proposal_id = 10_000 if case == "unknown" else proposal.id
    before = snapshot()
    with pytest.raises(error, match=message):
        proposals.edit_proposal(actor, proposal_id, draft, version=0 if case == "stale-version" else 1)
    assert snapshot() == before


@pytest.mark.parametrize(
    ("phase", "status"), [(Phase.PROPOSALS, ProposalStatus.SUBMITTED), (Phase.REVIEW, ProposalStatus.CHANGES_REQUESTED)]
)
def test_withdraw_proposal_marks_it_withdrawn_and_audits(make_user, make_cycle, make_proposal, audit_log, phase, status):
    author, cycle = make_user(), make_cycle(phase)
    proposal = make_proposal(cycle, author=author, status=status)
    proposals.withdraw_proposal(author, proposal.id)
    assert (_stored(proposal.id).status, _stored(proposal.id).version) == (ProposalStatus.WITHDRAWN, 2)
    assert audit_log() == [
        (author.id, "withdraw-proposal", f"proposal:{proposal.id}", {"status": status.value}, {"status": "withdrawn"})
    ]


@pytest.mark.parametrize(
    ("case", "phase", "status", "error"),
    [
        ("someone-else", Phase.PROPOSALS, ProposalStatus.SUBMITTED, PermissionDenied),
        ("unknown", Phase.PROPOSALS, ProposalStatus.SUBMITTED, NotFound),
        ("author", Phase.VOTING, ProposalStatus.SUBMITTED, PhaseError),
        ("author", Phase.DRAFT, ProposalStatus.SUBMITTED, PhaseError),
        ("author", Phase.REVIEW, ProposalStatus.ACCEPTED, ValidationError),
        ("author", Phase.REVIEW, ProposalStatus.WITHDRAWN, ValidationError),
    ],
)
def test_withdraw_proposal_refusals_change_nothing(make_user, make_cycle, make_proposal, snapshot, case, phase, status, error):
    author, someone_else, cycle = make_user(), make_user(), make_cycle(phase)
    proposal = make_proposal(cycle, author=author, status=status)
    before = snapshot()
    with pytest.raises(error):
        proposals.withdraw_proposal(someone_else if case == "someone-else" else author,
                                    10_000 if case == "unknown" else proposal.id)
    assert snapshot() == before


def test_public_proposals_hide_withdrawn_ones_and_the_ballot_holds_only_accepted_ones(make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    statuses = [ProposalStatus.SUBMITTED, ProposalStatus.ACCEPTED, ProposalStatus.WITHDRAWN, ProposalStatus.REJECTED]
    made = {status: make_proposal(cycle, north, status=status, title=status.value) for status in statuses}
    on_south = make_proposal(cycle, south, status=ProposalStatus.ACCEPTED, title="south")
    assert [p.title for p in proposals.public_proposals(cycle)] == ["accepted", "rejected", "south", "submitted"]
    assert [p.title for p in proposals.public_proposals(cycle, south.id)] == ["south"]
    assert proposals.projects_on_ballot(cycle.id, north.id) == [made[ProposalStatus.ACCEPTED]]
    assert proposals.projects_on_ballot(cycle.id, south.id) == [on_south]


def test_proposals_by_lists_only_the_authors_own(make_user, make_cycle, make_proposal):
    author, cycle, other_cycle = make_user(), make_cycle(Phase.REVIEW), make_cycle(Phase.REVIEW)
    mine = make_proposal(cycle, author=author)
    mine_elsewhere = make_proposal(other_cycle, author=author)
    make_proposal(cycle)
    assert set(proposals.proposals_by(author)) == {mine, mine_elsewhere}
    assert proposals.proposals_by(author, cycle.id) == [mine]


def test_project_costs_are_the_ballots_projects_at_final_cost_else_estimate(make_cycle, make_proposal):
    cycle = make_cycle(Phase.VOTING)
    north, south = cycle.districts
    fixed = make_proposal(cycle, north, status=ProposalStatus.ACCEPTED, estimated_cost=9_000, final_cost=12_000)
    estimated = make_proposal(cycle, north, status=ProposalStatus.ACCEPTED, estimated_cost=7_000, final_cost=None)
    make_proposal(cycle, north, status=ProposalStatus.REJECTED, estimated_cost=1_000)
    make_proposal(cycle, south, status=ProposalStatus.ACCEPTED, estimated_cost=2_000)
    assert proposals.project_costs(cycle.id, north.id) == {fixed.id: 12_000, estimated.id: 7_000}
    assert proposals.project_costs(cycle.id, north.id) == {
        project.id: project.cost for project in proposals.projects_on_ballot(cycle.id, north.id)
    }


def test_an_edit_from_an_older_page_does_not_overwrite_a_newer_one_and_says_what_changed(
    make_user, make_cycle, make_proposal, snapshot
):
    author, cycle = make_user(), make_cycle(Phase.PROPOSALS)
    proposal = make_proposal(cycle, author=author, title="Benches")
    # Two tabs opened at version 1: the first saves, the second must not silently win.
    proposals.edit_proposal(author, proposal.id, _draft(cycle, title="Benches by the river", estimated_cost=40_000), 1)
    before = snapshot()
    with pytest.raises(ConflictError) as refused:
        proposals.edit_proposal(author, proposal.id, _draft(cycle, title="Old tab"), 1)
    assert snapshot() == before
    assert _stored(proposal.id).title == "Benches by the river"
    assert refused.value.message == (
        "Your changes were not saved: this proposal changed after you opened the form. Its author edited it. "
        "The title was changed to “Benches by the river”. The summary was changed. The description was changed. "
        "The estimated cost was changed. The location was changed. Reload the page to see it as it is now, then "
        "make your changes again."
    )


def test_a_moderators_decision_since_the_form_was_opened_is_named(make_user, make_cycle, make_proposal, snapshot):
    from pb.services import moderation

    author, cycle = make_user(), make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle, author=author, status=ProposalStatus.CHANGES_REQUESTED)
    moderation.reject(make_user(role=Role.MODERATOR), proposal.id, "Out of scope.", version=1)
    before = snapshot()
    with pytest.raises(ValidationError, match="can no longer be edited: rejected"):
        proposals.edit_proposal(author, proposal.id, _draft(cycle), 1)
    assert snapshot() == before
    assert "A moderator rejected it." in proposals.changes_since(_stored(proposal.id), 1)
