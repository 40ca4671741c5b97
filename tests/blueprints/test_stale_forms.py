"""Decisions are made on what the person saw (issue 16): forms replayed as the rendered pages send them.

Each test opens the real page, keeps the form it shows, lets someone change the thing meanwhile, then sends the
kept form: it is refused with what changed and "reload", and nothing is decided or overwritten.
"""

import html

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.implementation import ImplementationStatus
from pb.extensions import db
from pb.models import AuditEntry, Implementation, Proposal, ProposalStatus, Role
from tests.conftest import store_count
from tests.page_forms import fill_in, form_fields, submit_page_form

SWAPPED = "SWAPPED: vote for my company"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _followed(client, response) -> str:
    assert response.status_code == 302, response.status_code
    return _text(client.get(response.location))


def _audited(action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


@pytest.fixture
def review(app, make_user, make_cycle, make_proposal):
    """A proposal in review; its author and a moderator each logged in in their own browser."""
    cycle = make_cycle(Phase.REVIEW)
    author, moderator = make_user(name="Author"), make_user(Role.MODERATOR)
    proposal = make_proposal(cycle, author=author, title="Shade trees", estimated_cost=10_000,
                             status=ProposalStatus.CHANGES_REQUESTED)
    as_author, as_moderator = app.test_client(), app.test_client()
    as_author.login(author)
    as_moderator.login(moderator)
    return {"cycle": cycle, "proposal": proposal, "author": as_author, "moderator": as_moderator}


def _swap_title(as_author, proposal_id: int) -> None:
    """The author renames the proposal through the edit page, as a browser does."""
    response = submit_page_form(as_author, f"/proposals/{proposal_id}/edit", title=SWAPPED)
    assert response.status_code == 302, _text(response)


@pytest.mark.parametrize(
    ("decision", "typed"),
    [("accept", {"accept__final_cost": "100"}), ("reject", {"reject__note": "Out of scope."}),
     ("request-changes", {"changes__note": "Add a map."})],
)
def test_a_decision_from_a_page_opened_before_the_author_changed_the_proposal_is_refused(review, decision, typed):
    """Issue 16: the author renamed the proposal after the moderator opened it, and "accept" put it on the ballot."""
    proposal_id = review["proposal"].id
    page = review["moderator"].get(f"/moderation/proposals/{proposal_id}").get_data(as_text=True)
    action = f"/moderation/proposals/{proposal_id}/{decision}"
    kept = fill_in(form_fields(page, action), **typed)
    _swap_title(review["author"], proposal_id)

    response = review["moderator"].post(action, data=kept)
    message = _followed(review["moderator"], response)
    assert response.location == f"/moderation/proposals/{proposal_id}"
    assert f"Nothing was decided: “{SWAPPED}” changed after you opened this page." in message
    assert f"The title was changed to “{SWAPPED}”." in message and "Reload the page" in message
    stored = db.session.get(Proposal, proposal_id)
    assert (stored.status, stored.final_cost, stored.version) == (ProposalStatus.SUBMITTED, None, 2)
    assert _audited(f"{decision}-proposal" if decision != "request-changes" else decision) == 0

    # Reloaded, the page shows the new title and its form carries the new version: the decision is now informed.
    response = submit_page_form(review["moderator"], f"/moderation/proposals/{proposal_id}", action, **typed)
    assert response.status_code == 302 and "is " in _followed(review["moderator"], response)
    assert db.session.get(Proposal, proposal_id).status is not ProposalStatus.SUBMITTED


def test_a_merge_into_a_proposal_changed_since_the_page_was_opened_is_refused(
    app, review, make_user, make_proposal
):
    cycle, duplicate = review["cycle"], review["proposal"]
    target_author = make_user()
    target = make_proposal(cycle, author=target_author, title="Trees on Elm Street",
                           status=ProposalStatus.CHANGES_REQUESTED)
    action = f"/moderation/proposals/{duplicate.id}/merge"
    page = review["moderator"].get(f"/moderation/proposals/{duplicate.id}").get_data(as_text=True)
    kept = fill_in(form_fields(page, action), merge__into_id=f"{target.id}:1")
    as_target_author = app.test_client()
    as_target_author.login(target_author)
    _swap_title(as_target_author, target.id)

    message = _followed(review["moderator"], review["moderator"].post(action, data=kept))
    assert f"Nothing was merged: the proposal to merge into, now “{SWAPPED}”, changed" in message
    assert db.session.get(Proposal, duplicate.id).status is ProposalStatus.CHANGES_REQUESTED
    assert _audited("merge-proposal") == 0


def test_a_decision_without_a_version_is_refused_with_a_plain_message(review):
    proposal_id = review["proposal"].id
    response = review["moderator"].submit(f"/moderation/proposals/{proposal_id}/accept", {"accept-final_cost": "100"})
    assert "This form is out of date or incomplete" in _followed(review["moderator"], response)
    assert db.session.get(Proposal, proposal_id).status is ProposalStatus.CHANGES_REQUESTED


def test_an_edit_from_an_older_tab_does_not_silently_overwrite_the_newer_one(review):
    """Issue 16: the edit form sent no version, so the check compared the row with itself and the last edit won."""
    as_author, proposal_id = review["author"], review["proposal"].id
    review["cycle"].phase, review["proposal"].status = Phase.PROPOSALS, ProposalStatus.SUBMITTED
    db.session.commit()
    url = f"/proposals/{proposal_id}/edit"
    older_tab = fill_in(form_fields(as_author.get(url).get_data(as_text=True), url), title="Old tab's title")
    assert submit_page_form(as_author, url, title="Shade trees on Park Road").status_code == 302

    response = as_author.post(url, data=older_tab)
    assert response.status_code == 400
    page = _text(response)
    assert "Your changes were not saved: this proposal changed after you opened the form." in page
    assert "The title was changed to “Shade trees on Park Road”." in page and "Reload the page" in page
    assert db.session.get(Proposal, proposal_id).title == "Shade trees on Park Road"
    assert _audited("edit-proposal") == 1


def test_an_edit_without_the_version_is_refused_with_the_reason_at_the_top(review):
    as_author, proposal_id = review["author"], review["proposal"].id
    fields = [(name, value) for name, value in form_fields(as_author.get(f"/proposals/{proposal_id}/edit")
                                                            .get_data(as_text=True), f"/proposals/{proposal_id}/edit")
              if name != "version"]
    response = as_author.post(f"/proposals/{proposal_id}/edit", data=fill_in(fields, title="No version"))
    assert response.status_code == 400
    page = _text(response)
    summary = page[page.index('class="error-summary"'):]
    assert "This form is out of date or incomplete, so nothing was saved. Reload the page" in summary
    assert db.session.get(Proposal, proposal_id).title == "Shade trees"


# -- Implementation progress: the page's own form, as rendered, must save. ----------------------------------------


@pytest.fixture
def funded(make_user, make_cycle, make_project):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.TALLYING, districts=(("North", 100_000),))
    park = make_project(cycle, cycle.districts[0], cost=60_000, title="Pocket park")
    store_count(cycle, official, funded=[park])
    return official, park


def test_an_official_saves_progress_with_the_form_the_page_renders(client, funded):
    """Issue 16: the template never sent `version`, so no status, progress or money could ever be saved."""
    official, park = funded
    client.login(official)
    url = f"/implementation/projects/{park.id}"
    response = submit_page_form(client, url, status="in_progress", progress="40", spent="250.50")
    assert response.status_code == 302 and "is saved" in _followed(client, response)
    record = db.session.scalars(select(Implementation)).one()
    assert (record.status, record.progress, record.spent, record.version) == (ImplementationStatus.IN_PROGRESS, 40,
                                                                              25_050, 1)
    # And again from the reloaded page, which now carries version 1.
    response = submit_page_form(client, url, status="done", progress="100", spent="600")
    assert response.status_code == 302
    db.session.expire_all()
    assert (db.session.scalars(select(Implementation)).one().status, _audited("record-implementation")) == (
        ImplementationStatus.DONE, 2)


def test_a_form_error_on_the_hidden_version_is_said_at_the_top_not_as_an_unmarked_field(client, funded):
    official, park = funded
    client.login(official)
    url = f"/implementation/projects/{park.id}"
    fields = [(name, value) for name, value in form_fields(client.get(url).get_data(as_text=True), url)
              if name != "version"]
    response = client.post(url, data=fill_in(fields, progress="40"))
    assert response.status_code == 400
    page = _text(response)
    assert "correct the fields marked below" not in page and "Nothing was saved." in page
    summary = page[page.index('class="error-summary"'):]
    assert "This form is out of date or incomplete, so nothing was saved. Reload the page" in summary
    assert db.session.scalar(select(func.count()).select_from(Implementation)) == 0
