"""The officials' ballot pages (cycle and district), the ballot in words, and the public frozen settings download."""

import hashlib
import html
import json

import pytest
from sqlalchemy import select

from pb.domain.ballots import CUMULATIVE, RANKING
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Cycle, District, Proposal, Role
from pb.services import ballot_designs, cycles

DESIGNING = (Phase.DRAFT, Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW)
FROZEN = (Phase.VOTING, Phase.TALLYING, Phase.RESULTS, Phase.CLOSED)


def _cycle(cycle_id: int) -> Cycle:
    db.session.expire_all()
    return db.session.get(Cycle, cycle_id)


def _points(category_id: int, **changes) -> dict:
    values = {"kind": "cumulative", "min_projects": "1", "max_projects": "4", "min_spend_percent": "",
              "points": "10", "max_points_per_project": "5", f"category_{category_id}_projects": "2",
              f"category_{category_id}_share": "50"}
    values.update(changes)
    return values


def _page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _flashes(client) -> list[str]:
    with client.session_transaction() as session:
        return [message for _, message in session.pop("_flashes", [])]


@pytest.mark.parametrize("phase", DESIGNING)
def test_an_official_chooses_the_cycles_ballot(client, make_user, make_cycle, phase):
    cycle = make_cycle(phase)
    green = cycle.categories[0].id
    client.login(make_user(Role.OFFICIAL))
    form = client.get(f"/admin/cycles/{cycle.id}/ballot")
    assert form.status_code == 200 and 'name="kind"' in form.get_data(as_text=True)
    response = client.submit(f"/admin/cycles/{cycle.id}/ballot", _points(green))
    assert response.status_code == 302 and response.location == f"/admin/cycles/{cycle.id}"
    stored = _cycle(cycle.id)
    assert (stored.ballot_design, stored.min_projects, stored.max_projects) == (CUMULATIVE, 1, 4)
    assert json.loads(stored.ballot_settings)["category_limits"] == [
        {"category_id": green, "max_projects": 2, "max_share_percent": 50}]
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.cycle_id == cycle.id)) == "set-ballot-design"
    control = _page(client.get(f"/admin/cycles/{cycle.id}"))
    assert "Spread 10 points among the projects, at most 5 on one." in control
    assert "In Green spaces: at most 2 projects, costing at most 50% of the budget" in control


@pytest.mark.parametrize(("changes", "field", "words"), [
    ({"points": "ten"}, "points", "Enter a whole number from 1 to 1,000,000."),
    ({"points": "-3"}, "points", "Enter a whole number from 1 to 1,000,000."),
    ({"points": "1" + "0" * 30}, "points", "Enter a whole number from 1 to 1,000,000."),
    ({"points": "0"}, "points", "Enter a whole number from 1 to 1,000,000."),
    ({"points": ""}, "points", "points to spread"),
    ({"max_points_per_project": "11"}, "max_points_per_project", "The most points on one project"),
    ({"kind": "plurality"}, "kind", "Choose one of the listed options."),
    ({"kind": "ranking", "max_projects": ""}, "max_projects", "Say how many projects a voter may rank."),
    ({"min_projects": "5", "max_projects": "2"}, "max_projects", "cannot be fewer than the least"),
    ({"kind": "knapsack", "min_spend_percent": "150"}, "min_spend_percent", "Enter a whole number from 0 to 100."),
])
def test_bad_ballot_settings_are_refused_next_to_their_field_and_change_nothing(
        client, make_user, make_cycle, changes, field, words):
    cycle = make_cycle()
    client.login(make_user(Role.OFFICIAL))
    values = _points(cycle.categories[0].id, **changes)
    response = client.submit(f"/admin/cycles/{cycle.id}/ballot", values)
    page = _page(response)
    assert response.status_code == 400 and words in page
    assert f'id="{field}-error-1"' in page and f'id="{field}-error-2"' not in page  # said once, by its field
    typed = changes.get(field, values.get(field))
    if typed and field != "kind" and len(typed) < 20:
        assert f'value="{typed}"' in page  # what was typed is kept
    stored = _cycle(cycle.id)
    assert (stored.ballot_design, stored.ballot_settings) == ("knapsack", "{}")
    assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.cycle_id == cycle.id)) is None


def test_a_category_limit_that_is_no_number_is_refused(client, make_user, make_cycle):
    cycle = make_cycle()
    green = cycle.categories[0].id
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/admin/cycles/{cycle.id}/ballot", _points(green, **{f"category_{green}_share": "101"}))
    assert response.status_code == 400 and "Enter a whole number from 0 to 100." in _page(response)
    assert _cycle(cycle.id).ballot_design == "knapsack"


def test_a_ballot_the_rule_cannot_count_is_refused_by_the_design_field(client, make_user, make_cycle):
    cycle = make_cycle(rule="mes-add1")
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/admin/cycles/{cycle.id}/ballot", {"kind": "ranking", "min_projects": "1",
                                                                 "max_projects": "3"})
    page = _page(response)
    assert response.status_code == 400 and 'id="kind-error-1"' in page
    assert "cannot count a ballot of this design" in page
    assert _cycle(cycle.id).ballot_design == "knapsack"


@pytest.mark.parametrize("phase", FROZEN)
def test_after_voting_opens_the_ballot_page_only_reads_and_a_post_is_refused(client, make_user, make_cycle, phase):
    cycle = make_cycle(phase)
    client.login(make_user(Role.OFFICIAL))
    page = client.get(f"/admin/cycles/{cycle.id}/ballot").get_data(as_text=True)
    assert "froze when voting opened" in page and 'name="kind"' not in page
    response = client.submit(f"/admin/cycles/{cycle.id}/ballot", _points(cycle.categories[0].id))
    assert response.status_code == 302 and response.location == f"/admin/cycles/{cycle.id}"
    assert any("froze when voting opened" in message for message in _flashes(client))
    district = cycle.districts[0]
    response = client.submit(f"/admin/districts/{district.id}/ballot", {"source": "cycle"})
    assert response.status_code == 302 and any("froze" in message for message in _flashes(client))
    stored = _cycle(cycle.id)
    assert stored.ballot_design == "knapsack" and stored.districts[0].ballot_settings is None


@pytest.mark.parametrize("role", ["anonymous", Role.RESIDENT, Role.MODERATOR])
def test_only_officials_reach_the_ballot_pages(client, make_user, make_cycle, role):
    cycle = make_cycle()
    if role != "anonymous":
        client.login(make_user(role))
    for path in (f"/admin/cycles/{cycle.id}/ballot", f"/admin/districts/{cycle.districts[0].id}/ballot"):
        response = client.submit(path, _points(cycle.categories[0].id))
        assert response.status_code == (302 if role == "anonymous" else 403)
    assert _cycle(cycle.id).ballot_design == "knapsack"


def test_a_district_gets_its_own_ballot_then_the_cycles_again(client, make_user, make_cycle):
    cycle = make_cycle()
    south = cycle.districts[1]
    client.login(make_user(Role.OFFICIAL))
    assert client.get(f"/admin/districts/{south.id}/ballot").status_code == 200
    response = client.submit(f"/admin/districts/{south.id}/ballot",
                             {"source": "own", "kind": "ranking", "min_projects": "1", "max_projects": "3"})
    assert response.status_code == 302
    db.session.expire_all()
    assert ballot_designs.district_design(db.session.get(District, south.id)).kind == RANKING
    public = _page(client.get(f"/cycles/{cycle.id}"))
    assert "Rank up to 3 projects" in public and "Choose projects costing up to 1,000 EUR in all." in public
    # Back to the cycle's ballot: the design's fields are not read, even left empty.
    response = client.submit(f"/admin/districts/{south.id}/ballot", {"source": "cycle", "min_projects": ""})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(District, south.id).ballot_settings is None
    actions = db.session.scalars(select(AuditEntry.action).where(AuditEntry.cycle_id == cycle.id)).all()
    assert actions == ["set-district-ballot-design", "set-district-ballot-design"]


def test_a_districts_own_ballot_with_bad_values_is_refused(client, make_user, make_cycle):
    cycle = make_cycle()
    south = cycle.districts[1]
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/admin/districts/{south.id}/ballot",
                             {"source": "own", "kind": "cumulative", "min_projects": "1", "points": "x"})
    assert response.status_code == 400 and "Enter a whole number from 1 to 1,000,000." in _page(response)
    assert db.session.get(District, south.id).ballot_settings is None


def test_the_settings_form_offers_only_the_rules_that_fit_and_refuses_another(client, make_user, make_cycle):
    cycle = make_cycle(ballot_design="ranking", max_projects=3)
    client.login(make_user(Role.OFFICIAL))
    form = client.get(f"/admin/cycles/{cycle.id}/settings").get_data(as_text=True)
    assert '<option disabled value="mes-add1">' in form
    response = client.submit(f"/admin/cycles/{cycle.id}/settings", {
        "name": cycle.name, "currency": "EUR", "total_budget": "1500", "rule": "mes-add1", "min_projects": "1",
        "max_projects": "3"})
    assert response.status_code == 400 and "cannot count a ballot of this design" in _page(response)
    assert _cycle(cycle.id).rule == "greedy"


# -- The public page and the frozen settings --------------------------------------------------------------------


def test_the_public_page_describes_each_districts_ballot(client, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS, ballot_design="cumulative",
                       ballot_settings='{"points": 10, "max_points_per_project": 5}')
    page = _page(client.get(f"/cycles/{cycle.id}"))
    assert page.count("Spread 10 points among the projects, at most 5 on one.") == 2
    assert "fingerprint" not in page  # nothing is frozen before voting opens
    assert "a project's score is the points it was given" in page
    assert client.get(f"/cycles/{cycle.id}/ballot-settings.json").status_code == 409


def _opened(official, make_cycle, make_project) -> Cycle:
    cycle = make_cycle(Phase.REVIEW, ballot_design="approval", max_projects=2)
    for district in cycle.districts:
        make_project(cycle, district, cost=30_000)
    cycles.advance_phase(official, cycle.id, Phase.REVIEW, "The review is done.")
    return _cycle(cycle.id)


def test_from_voting_on_the_page_shows_the_fingerprint_of_the_download(client, make_user, make_cycle, make_project):
    cycle = _opened(make_user(Role.OFFICIAL), make_cycle, make_project)
    page = _page(client.get(f"/cycles/{cycle.id}"))
    assert f"Ballot settings fingerprint (SHA-256): <code class=\"fingerprint\">{cycle.frozen_settings_sha256}" in page
    download = client.get(f"/cycles/{cycle.id}/ballot-settings.json")
    assert download.status_code == 200 and download.mimetype == "application/json"
    assert hashlib.sha256(download.get_data()).hexdigest() == cycle.frozen_settings_sha256
    document = json.loads(download.get_data())
    assert [d["ballot"]["kind"] for d in document["districts"]] == ["approval", "approval"]
    assert "have changed since voting opened" not in page
    assert "a project's score is the points it was given" not in page  # approvals are votes


def test_a_change_behind_the_apps_back_is_said_plainly(client, make_user, make_cycle, make_project):
    official = make_user(Role.OFFICIAL)
    cycle = _opened(official, make_cycle, make_project)
    project_id = db.session.scalar(select(Proposal.id).where(Proposal.cycle_id == cycle.id))
    db.session.execute(Proposal.__table__.update().where(Proposal.id == project_id).values(final_cost=31_000))
    db.session.commit()
    assert "have changed since voting opened" in _page(client.get(f"/cycles/{cycle.id}"))
    client.login(official)
    assert "have changed since voting opened" in _page(client.get(f"/admin/cycles/{cycle.id}"))
    download = client.get(f"/cycles/{cycle.id}/ballot-settings.json")
    assert hashlib.sha256(download.get_data()).hexdigest() != cycle.frozen_settings_sha256


def test_the_settings_download_of_a_draft_is_hidden(client, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    assert client.get(f"/cycles/{cycle.id}/ballot-settings.json").status_code == 404


@pytest.mark.parametrize(("rule", "words"), [
    ("greedy", "a project that no longer fits is skipped"),
    ("greedy-no-skip", "the count stops at the first project that no longer fits"),
    ("mes", "Money left over stays unspent."),
    ("mes-add1", "Money left over is used for the projects with most votes"),
])
def test_an_official_chooses_any_offered_rule_and_residents_read_how_it_counts(
        client, make_user, make_cycle, rule, words):
    cycle = make_cycle(ballot_design="cumulative", ballot_settings='{"points": 10}')
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/admin/cycles/{cycle.id}/settings", {
        "name": cycle.name, "currency": "EUR", "total_budget": "1500", "rule": rule, "min_projects": "1",
        "max_projects": ""})
    assert response.status_code == 302
    assert _cycle(cycle.id).rule == rule
    assert words in _page(client.get(f"/cycles/{cycle.id}"))


def test_a_category_name_is_shown_as_text_on_the_ballot_pages(client, make_user, make_cycle):
    cycle = make_cycle()
    cycle.categories[0].name = "<b>Streets</b>"
    db.session.commit()
    client.login(make_user(Role.OFFICIAL))
    for path in (f"/admin/cycles/{cycle.id}/ballot", f"/admin/districts/{cycle.districts[0].id}/ballot"):
        page = client.get(path).get_data(as_text=True)
        assert "Most projects in &lt;b&gt;Streets&lt;/b&gt;" in page and "<b>Streets" not in page
