"""Bad input anywhere: a clear message, nothing changed, never a 500."""

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Comment, Cycle, Proposal, ProposalStatus, Role, VerificationRequest
from pb.services import mail
from tests.conftest import sealed_ballots

from tests.blueprints.test_access import ROUTES


def database_state() -> dict[str, list[tuple]]:
    """Every row of every table, to prove a refused request changed nothing."""
    return {
        table.name: sorted(map(tuple, db.session.execute(table.select()).all()), key=repr)
        for table in db.metadata.sorted_tables
    }


@pytest.fixture
def official_world(client, make_user, make_cycle, make_project, verify):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.REVIEW)
    project = make_project(cycle, author=make_user())
    verify(official, cycle.districts[0])
    client.login(official)
    message = mail.queue_test_message("someone@example.org", "the tests")
    comment = Comment(proposal_id=project.id, author_id=official.id, body="A comment")
    asked = VerificationRequest(cycle_id=cycle.id, user_id=make_user().id, district_id=cycle.districts[0].id,
                                note="", status="open", reason="")
    db.session.add_all([comment, asked])
    db.session.commit()
    return {"cycle_id": cycle.id, "district_id": cycle.districts[0].id, "proposal_id": project.id, "user_id": official.id,
            "number": 1, "change_id": 1, "message_id": message.id, "photo_id": 1, "document_id": 1,
            "comment_id": comment.id, "request_id": asked.id, "batch_id": 1, "category_id": cycle.categories[0].id}


POST_ROUTES = [(endpoint, rule) for endpoint, method, rule in ROUTES if method == "POST"]


@pytest.mark.parametrize(("endpoint", "rule"), POST_ROUTES, ids=[rule for _, rule in POST_ROUTES])
def test_a_post_without_csrf_token_is_refused_and_changes_nothing(client, official_world, endpoint, rule):
    url = rule
    for name, value in official_world.items():
        url = url.replace(f"<int:{name}>", str(value))
    before = database_state()
    response = client.post(url, data={"title": "x", "project": "1", "accept-final_cost": "1"})
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert database_state() == before


@pytest.fixture
def proposal_world(client, make_user, make_cycle):
    resident = make_user()
    cycle = make_cycle(Phase.PROPOSALS, districts=(("North", 100_000),))
    other = make_cycle(Phase.PROPOSALS)
    client.login(resident)
    good = {"title": "Benches", "summary": "s", "description": "d", "estimated_cost": "100",
            "district_id": str(cycle.districts[0].id), "category_id": str(cycle.categories[0].id)}
    return cycle, other, good


@pytest.mark.parametrize(("field", "value", "message"), [
    ("title", "", "Give your proposal a title."),
    ("title", "x" * 500, "Field cannot be longer than 120 characters."),
    ("estimated_cost", "", "Enter the estimated cost."),
    ("estimated_cost", "-5", "The amount cannot be negative."),
    ("estimated_cost", "0", "The amount must be more than zero."),
    ("estimated_cost", "abc", "is not an amount"),
    ("estimated_cost", "1e30", "is not an amount"),
    ("estimated_cost", "99999999999999999", "The amount is too large"),
    ("estimated_cost", "10.555", "Use at most 2 decimal places"),
    ("estimated_cost", "5000", "more than the whole budget of North"),
    ("district_id", "999999", "Choose one of the listed options."),
    ("district_id", "north", "Choose one of the listed options."),
    ("category_id", "999999", "Choose one of the listed options."),
    ("description", "", "Describe the project."),
])
def test_a_bad_proposal_is_refused_with_a_message_and_not_stored(client, proposal_world, field, value, message):
    cycle, _, good = proposal_world
    response = client.submit(f"/cycles/{cycle.id}/proposals/new", {**good, field: value})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Proposal.id)) is None


def test_a_district_of_another_cycle_is_refused(client, proposal_world):
    cycle, other, good = proposal_world
    response = client.submit(f"/cycles/{cycle.id}/proposals/new", {**good, "district_id": str(other.districts[0].id)})
    assert response.status_code == 400
    assert db.session.scalar(select(Proposal.id)) is None


def test_a_good_proposal_with_unusual_characters_is_stored_and_escaped(client, proposal_world):
    cycle, _, good = proposal_world
    title = '<script>alert("x")</script> Café ☕'
    response = client.submit(f"/cycles/{cycle.id}/proposals/new", {**good, "title": title, "estimated_cost": "512,50"})
    assert response.status_code == 302
    proposal = db.session.scalar(select(Proposal))
    assert proposal.title == title and proposal.estimated_cost == 51_250
    page = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "<script>alert" not in page and "&lt;script&gt;" in page


@pytest.fixture
def ballot_world(client, make_user, make_cycle, make_project, verify):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 30_000), ("South", 30_000)))
    north, south = cycle.districts
    cheap = make_project(cycle, north, cost=10_000)
    pricey = make_project(cycle, north, cost=25_000)
    elsewhere = make_project(cycle, south, cost=1_000)
    verify(voter, north)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{north.id}"
    assert client.submit(url, {"project": [str(cheap.id)]}).status_code == 302
    return url, cheap, pricey, elsewhere


@pytest.mark.parametrize(("choices", "message"), [
    (lambda c, p, e: [c, p], "Your choices cost 350 EUR, 50 EUR more than the budget of 300 EUR."),
    (lambda c, p, e: [e], "Some choices are not projects on this ballot"),
    (lambda c, p, e: ["abc"], "Some choices are not projects on this ballot"),
    (lambda c, p, e: ["9" * 40], "Some choices are not projects on this ballot"),
    (lambda c, p, e: ["-1"], "Some choices are not projects on this ballot"),
    (lambda c, p, e: [], "Choose at least one project."),
    (lambda c, p, e: [c, c], "A project was chosen more than once."),
])
def test_an_invalid_ballot_is_refused_and_the_previous_one_stays(client, ballot_world, choices, message):
    url, cheap, pricey, elsewhere = ballot_world
    values = [str(getattr(v, "id", v)) for v in choices(cheap, pricey, elsewhere)]
    before = database_state()
    response = client.submit(url, {"project": values})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert database_state() == before
    assert sealed_ballots() == [([cheap.id], 1)]


@pytest.mark.parametrize("url", [
    "/cycles/999999", "/cycles/99999999999999999999999", "/proposals/999999", "/cycles/999999/results",
    "/cycles/999999/proposals", "/moderation/proposals/999999",
])
def test_unknown_ids_get_a_404_page(client, make_user, url):
    client.login(make_user(Role.OFFICIAL))
    response = client.get(url)
    assert response.status_code == 404
    assert "There is no such" in response.get_data(as_text=True) or "does not exist" in response.get_data(as_text=True)


def test_an_unknown_district_in_a_query_string_is_named_and_ignored(client, make_cycle):
    """The list is a search form: a wrong filter is said and left out, the rest of the list still shown."""
    cycle = make_cycle(Phase.PROPOSALS)
    response = client.get(f"/cycles/{cycle.id}/proposals?district=424242")
    assert response.status_code == 200
    assert "That district is not one of this cycle" in response.get_data(as_text=True).replace("&#39;", "'")


def test_posting_to_an_unknown_proposal_says_so_and_changes_nothing(client, make_user, make_cycle):
    make_cycle(Phase.REVIEW)
    client.login(make_user(Role.MODERATOR))
    before = database_state()
    response = client.submit("/moderation/proposals/999999/accept", {"accept-final_cost": "10"}, follow_redirects=True)
    assert "There is no such proposal." in response.get_data(as_text=True)
    assert database_state() == before


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)", "http:/evil"])
def test_login_never_redirects_to_another_site(client, make_user, target):
    user = make_user()
    response = client.submit(f"/login?next={target}", {"email": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 302
    assert response.location == "/"


def test_login_follows_a_local_next(client, make_user):
    user = make_user()
    response = client.submit("/login?next=/my/proposals", {"email": user.email, "password": "correct-horse-battery"})
    assert response.location == "/my/proposals"


@pytest.mark.parametrize(("data", "message"), [
    ({"password": "wrong-password-1"}, "The email address or the password is not right."),
    ({"email": "nobody@example.org"}, "The email address or the password is not right."),
    ({"email": ""}, "Enter your email address."),
])
def test_a_failed_login_says_so_without_saying_which_part(client, make_user, data, message):
    user = make_user()
    response = client.submit("/login", {"email": user.email, "password": "correct-horse-battery", **data})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert "Log out" not in client.get("/").get_data(as_text=True)


def test_a_disabled_account_cannot_log_in(client, make_user):
    user = make_user(is_enabled=False)
    response = client.submit("/login", {"email": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 400


@pytest.mark.parametrize(("data", "message"), [
    ({"min_projects": "3", "max_projects": "2"}, "cannot be fewer than the least"),
    ({"total_budget": "0"}, "The amount must be more than zero."),
    ({"total_budget": "-100"}, "The amount cannot be negative."),
    ({"currency": "XXX"}, "Choose one of the listed options."),
    ({"rule": "dictator"}, "Choose one of the listed options."),
    ({"min_projects": "0"}, "Enter 1 to 1000."),
    ({"voting_open_at": "2027-05-01T09:00", "review_at": "2027-06-01T09:00"}, "The phase dates must be in order"),
    ({"proposals_open_at": "not-a-date"}, "Not a valid datetime value."),
    ({"timezone": "Mars/Olympus"}, "This is not a time zone"),
])
def test_a_bad_cycle_set_up_is_refused(client, make_user, data, message):
    client.login(make_user(Role.OFFICIAL))
    good = {"name": "Budget 2030", "currency": "EUR", "total_budget": "1000", "rule": "greedy", "min_projects": "1"}
    response = client.submit("/admin/cycles/new", {**good, **data})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert db.session.scalar(select(Cycle.id)) is None


def test_accepting_with_a_cost_above_the_district_budget_is_refused(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW, districts=(("North", 100_000),))
    proposal = make_proposal(cycle)
    client.login(make_user(Role.MODERATOR))
    response = client.submit(f"/moderation/proposals/{proposal.id}/accept",
                             {"accept-final_cost": "5000", "accept-note": "more", "accept-version": "1"}, follow_redirects=True)
    assert "more than the district&#39;s whole budget" in response.get_data(as_text=True)
    assert db.session.get(Proposal, proposal.id).status is ProposalStatus.SUBMITTED


def test_a_nul_character_in_a_form_is_refused_before_it_reaches_the_database(client, proposal_world):
    cycle, _, good = proposal_world
    response = client.submit(f"/cycles/{cycle.id}/proposals/new", {**good, "title": "Bench\x00es"})
    assert response.status_code == 400
    assert "characters that are not allowed" in response.get_data(as_text=True)
    assert db.session.scalar(select(Proposal.id)) is None


@pytest.mark.parametrize("version", ["", "x", "-1", "99999999999999999999", "2"])
def test_undoing_with_a_bad_or_stale_version_is_refused_and_changes_nothing(client, make_user, make_cycle,
                                                                             make_proposal, version):
    from pb.services import moderation

    cycle = make_cycle(Phase.REVIEW)
    proposal = make_proposal(cycle)
    moderator = make_user(Role.MODERATOR)
    moderation.accept(moderator, proposal.id, 10_000, version=1)
    client.login(moderator)
    db.session.get(Proposal, proposal.id).version = 3  # the page showed version 2: "2" is stale too
    db.session.commit()
    before = database_state()
    response = client.submit(f"/moderation/proposals/{proposal.id}/undo", {"version": version}, follow_redirects=True)
    assert response.status_code == 200 and 'class="message error"' in response.get_data(as_text=True)
    assert database_state() == before


@pytest.mark.parametrize("district", ["", "x", "-1", "0", "99999999999999999999", "1.5"])
def test_asking_to_be_verified_for_a_bad_district_is_refused_and_changes_nothing(client, make_user, make_cycle,
                                                                                   district):
    cycle = make_cycle(Phase.PROPOSALS)
    client.login(make_user())
    before = database_state()
    response = client.submit(f"/cycles/{cycle.id}/verify/ask", {"district_id": district}, follow_redirects=True)
    assert response.status_code == 200 and 'class="message error"' in response.get_data(as_text=True)
    assert database_state() == before
@pytest.mark.parametrize(("budget", "message"), [
    ("", "Enter the district's budget."), ("0", "The amount must be more than zero."),
    ("-5", "The amount cannot be negative."), ("lots", "is not an amount"), ("9" * 400, "The amount is too large"),
])
def test_a_bad_district_budget_is_refused_and_changes_nothing(client, make_user, make_cycle, budget, message):
    cycle = make_cycle(Phase.DRAFT)
    client.login(make_user(Role.OFFICIAL))
    before = database_state()
    response = client.submit(f"/admin/districts/{cycle.districts[0].id}/budget", {"budget-budget": budget},
                             follow_redirects=True)
    assert response.status_code == 200 and message in response.get_data(as_text=True).replace("&#39;", "'")
    assert database_state() == before


@pytest.mark.parametrize("query", [
    "since=2026-02-31", "until=tomorrow", "event=nothing-like-it", "page=-1", "page=1e9", "since=" + "9" * 300,
    "person=%25%25%25", "role=emperor",
])
def test_bad_filters_on_the_audit_log_and_users_are_ignored_never_a_500(client, make_user, make_cycle, query):
    cycle = make_cycle()
    client.login(make_user(Role.OFFICIAL))
    for url in ("/admin/audit", f"/admin/cycles/{cycle.id}/audit", "/admin/users"):
        assert client.get(f"{url}?{query}").status_code == 200
    assert client.submit(f"/admin/audit.csv?{query}").status_code == 200
