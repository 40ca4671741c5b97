"""Moving a cycle on (issue 16): from the phase the page showed, after a page naming what it does and the timetable,
and away from the published date only with a reason that the public can read."""

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Cycle, Role, utcnow
from tests.page_forms import fill_in, form_fields, submit_page_form


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _phase(cycle_id: int) -> Phase:
    return db.session.scalar(select(Cycle.phase).where(Cycle.id == cycle_id))


def _moves() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "advance-phase"))


@pytest.fixture
def official_client(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    return client


@pytest.fixture
def ready(make_cycle, make_project):
    """A cycle in `phase` with a project on every district's ballot, and any published dates given."""

    def build(phase: Phase, **dates) -> Cycle:
        cycle = make_cycle(phase, **dates)
        for district in cycle.districts:
            make_project(cycle, district)
        return cycle

    return build


def test_a_double_submit_of_move_to_voting_moves_one_phase_only(official_client, ready):
    """Issue 16: a double submit of "Move to: voting" in review went straight on to counting."""
    cycle = ready(Phase.REVIEW, voting_open_at=utcnow())
    url = f"/admin/cycles/{cycle.id}/advance"
    kept = fill_in(form_fields(official_client.get(url).get_data(as_text=True), url))
    first = official_client.post(url, data=kept)
    second = official_client.post(url, data=kept)
    assert first.status_code == second.status_code == 302
    assert second.location == f"/admin/cycles/{cycle.id}"
    message = _text(official_client.get(second.location))
    assert "Nothing was changed: the cycle is no longer “proposals under review” but “voting open”" in message
    assert "Reload the page" in message
    assert _phase(cycle.id) is Phase.VOTING and _moves() == 1


def test_a_move_that_does_not_carry_the_phase_it_expects_is_refused(official_client, ready):
    cycle = ready(Phase.REVIEW, voting_open_at=utcnow())
    response = official_client.submit(f"/admin/cycles/{cycle.id}/advance")
    assert response.status_code == 400
    assert "This form is out of date or incomplete" in _text(response)
    assert _phase(cycle.id) is Phase.REVIEW and _moves() == 0


def test_closing_voting_before_the_published_date_without_a_reason_is_refused(client, official_client, ready):
    today = utcnow().date()
    planned = today + timedelta(days=2)
    cycle = ready(Phase.VOTING, voting_open_at=utcnow() - timedelta(days=10), voting_close_at=utcnow() + timedelta(days=2))
    url = f"/admin/cycles/{cycle.id}/advance"
    page = _text(official_client.get(url))
    assert "Voting ends for everyone: no ballot can be cast or changed after this" in page
    day = lambda value: f"{value.day} {value:%B %Y}"  # noqa: E731
    assert f"Today, {day(today)}, is 2 days before the date published for this step ({day(planned)})." in page
    assert "Voting closes (this step)" in page and "Close voting now" in page

    response = submit_page_form(official_client, url, reason="  ")
    assert response.status_code == 400
    assert "Write the reason for moving on today" in _text(response)
    assert _phase(cycle.id) is Phase.VOTING and _moves() == 0

    response = submit_page_form(official_client, url, reason="A storm closed every polling station.")
    assert response.status_code == 302 and _phase(cycle.id) is Phase.TALLYING
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "advance-phase")).one()
    assert "A storm closed every polling station." in entry.after

    client.submit("/logout")
    public = _text(client.get(f"/cycles/{cycle.id}"))
    assert "Timetable changes" in public
    assert (f"Voting closed on {day(today)}, 2 days before the published date ({day(planned)}). "
            "Reason: A storm closed every polling station.") in public


@pytest.mark.parametrize(
    ("phase", "consequence", "button"),
    [
        (Phase.PROPOSALS, "No new proposal can be submitted", "Close proposals now"),
        (Phase.VOTING, "Voting ends for everyone", "Close voting now"),
        (Phase.TALLYING, "The approved count becomes public for good", "Publish the results now"),
    ],
)
def test_ending_something_shows_a_confirmation_page_with_the_consequence_and_the_timetable(
    official_client, make_cycle, make_proposal, phase, consequence, button
):
    now = utcnow()
    today = now.date()
    cycle = make_cycle(phase, proposals_open_at=now - timedelta(days=60), review_at=now - timedelta(days=30),
                       voting_open_at=now - timedelta(days=20), voting_close_at=now - timedelta(days=1),
                       results_at=now + timedelta(days=5))
    make_proposal(cycle)
    control_room = _text(official_client.get(f"/admin/cycles/{cycle.id}"))
    assert f'href="/admin/cycles/{cycle.id}/advance"' in control_room  # a page first, not a one-click button
    page = _text(official_client.get(f"/admin/cycles/{cycle.id}/advance"))
    assert consequence in page and "this cannot be undone" in page
    for label in ("Proposals open", "Review starts", "Voting opens", "Voting closes", "Results published"):
        assert label in page
    assert f"{(today + timedelta(days=5)).day} {(today + timedelta(days=5)):%B %Y}" in page
    assert (button in page) is (phase is not Phase.TALLYING)  # publishing waits for the count and two approvals
    assert _phase(cycle.id) is phase


def test_the_confirmation_page_of_a_closed_cycle_says_there_is_nothing_further(official_client, make_cycle):
    cycle = make_cycle(Phase.CLOSED)
    response = official_client.get(f"/admin/cycles/{cycle.id}/advance")
    assert response.status_code == 302
    assert "The cycle is closed; there is no further phase." in _text(official_client.get(response.location))
