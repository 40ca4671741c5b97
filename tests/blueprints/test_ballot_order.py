"""The ballot's order: each voter's own, the same on every visit, stated on the page, and the choices still right."""

import re

from pb.domain.cycle import Phase
from tests.conftest import sealed_ballots


def ballot_ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<input type="checkbox" name="project" value="(\d+)"', page)]


def test_each_voter_has_an_order_of_their_own_kept_across_visits(app, make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.VOTING, districts=(("North", 10_000_000),))
    district = cycle.districts[0]
    projects = [make_project(cycle, cost=1_000, title=f"Project {number:02}") for number in range(12)]
    orders = []
    for _ in range(4):
        voter = make_user()
        verify(voter, district)
        client = app.test_client()
        client.login(voter)
        url = f"/cycles/{cycle.id}/vote/{district.id}"
        first = client.get(url).get_data(as_text=True)
        assert "so that no project is favoured by its place on the ballot" in first
        assert ballot_ids(first) == ballot_ids(client.get(url).get_data(as_text=True))
        assert sorted(ballot_ids(first)) == sorted(project.id for project in projects)
        orders.append(tuple(ballot_ids(first)))
    assert len(set(orders)) > 1
    assert orders[0] != tuple(project.id for project in projects) or orders[1] != orders[0]


def test_the_ballot_records_the_choices_whatever_the_order(client, make_user, make_cycle, make_project, verify):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 100_000),))
    district = cycle.districts[0]
    projects = [make_project(cycle, cost=1_000, title=f"Project {number}") for number in range(6)]
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    shown = ballot_ids(client.get(url).get_data(as_text=True))
    chosen = [shown[0], shown[3]]
    assert client.submit(url, {"project": [str(project_id) for project_id in chosen]}).status_code == 302
    assert sealed_ballots() == [(sorted(chosen), 1)]
    page = client.get(url).get_data(as_text=True)
    assert ballot_ids(page) == shown
    assert {int(found) for found in re.findall(r'value="(\d+)"[^>]*checked', page)} == set(chosen)
    assert set(shown) == {project.id for project in projects}
