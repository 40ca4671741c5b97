"""Numbers in requests: superscripts, other scripts' digits, signs, exponents and huge numbers get a clear 4xx and
change nothing, on every entry point that reads a number (the API's paging and district, ballots, paper sheets)."""

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot, PaperSheet, Role, Verification

from tests.blueprints.test_bad_input import database_state

HOSTILE = ["²", "١٢", "１２", "-1", "1e3", "9" * 12, "9" * 400, "1_0", "0x1", "½"]


@pytest.fixture
def voting_world(client, make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.VOTING)
    north = cycle.districts[0]
    project = make_project(cycle, north, cost=1_000)
    resident = make_user()
    verify(resident, north)
    return {"cycle": cycle, "north": north, "project": project, "resident": resident}


def _ids(value):
    return str(value).encode("unicode_escape").decode()


@pytest.mark.parametrize("name", ["page", "per_page"])
@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
def test_the_apis_paging_refuses_what_is_not_a_whole_number(client, voting_world, name, value):
    for url in ("/api/v1/cycles", f"/api/v1/cycles/{voting_world['cycle'].id}/projects"):
        response = client.get(url, query_string={name: value})
        assert response.status_code == 400, (url, response.status_code)
        assert response.get_json()["error"] == f"{name} must be a whole number, like {name}=2."


@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
def test_the_apis_district_filter_refuses_what_is_not_a_whole_number(client, voting_world, value):
    response = client.get(f"/api/v1/cycles/{voting_world['cycle'].id}/projects", query_string={"district": value})
    assert response.status_code == 400
    assert "district must be a whole number" in response.get_json()["error"]


@pytest.mark.parametrize("field", ["project", "version"])
@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
def test_a_ballot_with_a_number_that_is_no_number_is_refused_and_stores_nothing(client, voting_world, field, value):
    world = voting_world
    client.login(world["resident"])
    data = {"project": str(world["project"].id), "version": "0", field: value}
    before = database_state()
    response = client.submit(f"/cycles/{world['cycle'].id}/vote/{world['north'].id}", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "not projects on this ballot" in page or "The ballot form was damaged" in page
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
    assert database_state() == before


@pytest.mark.parametrize("field", ["project", "number"])
@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
def test_a_paper_sheet_with_a_number_that_is_no_number_is_refused_and_stores_nothing(
    client, voting_world, make_user, field, value
):
    world = voting_world
    client.login(make_user(Role.OFFICIAL))
    data = {"polling_station": "Town hall", "number": "1", "project": str(world["project"].id), field: value}
    before = database_state()
    response = client.submit(f"/paper/districts/{world['north'].id}/sheets", data)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert any(words in page for words in ("not projects on this ballot", "Not a valid integer value", "Enter 1 to 1,000,000"))
    assert db.session.scalar(select(func.count()).select_from(PaperSheet)) == 0
    assert database_state() == before


@pytest.mark.parametrize("value", HOSTILE, ids=_ids)
def test_forms_and_query_strings_with_ids_refuse_what_is_not_a_whole_number(client, voting_world, make_user, value):
    """A form's id fields and the ?district= and ?number= filters: refused or ignored, never read as another number."""
    world = voting_world
    newcomer = make_user(name="Nina Newcomer")
    client.login(make_user(Role.OFFICIAL))
    before = database_state()
    for data in ({"user_id": value, "district_id": str(world["north"].id)},
                 {"user_id": str(newcomer.id), "district_id": value}):
        response = client.submit(f"/moderation/cycles/{world['cycle'].id}/residents", data)
        assert response.status_code == 302
    assert database_state() == before
    assert db.session.scalar(select(Verification.id).where(Verification.user_id == newcomer.id)) is None
    for url in (f"/moderation/cycles/{world['cycle'].id}?district={value}", f"/cycles/{world['cycle'].id}?district={value}",
                f"/paper/districts/{world['north'].id}/sheets?station=A&number={value}"):
        assert client.get(url).status_code in (200, 302, 400, 404), url


@pytest.mark.parametrize("value", ["١", "１", "¹"])
def test_a_district_written_in_other_digits_is_not_taken_for_district_one(client, voting_world, make_user, value):
    """int("١") is 1: without the ASCII rule the form would verify the resident for district 1 after all."""
    world = voting_world
    newcomer = make_user(name="Nina Newcomer")
    client.login(make_user(Role.OFFICIAL))
    assert world["north"].id == 1
    client.submit(f"/moderation/cycles/{world['cycle'].id}/residents", {"user_id": str(newcomer.id), "district_id": value})
    assert db.session.scalar(select(Verification.id).where(Verification.user_id == newcomer.id)) is None
