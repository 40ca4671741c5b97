"""Published results and the officials' CSV."""

import csv
import io

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role
from pb.services import tallying


def test_results_page_and_csv(client, app, make_user, make_cycle, make_project, verify):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.VOTING, districts=(("North", 30_000),))
    swings = make_project(cycle, cost=20_000, title="Swings")
    formula = make_project(cycle, cost=15_000, title='=HYPERLINK("x")')
    for n in range(3):
        voter = make_user()
        verify(voter, cycle.districts[0])
        voter_client = app.test_client()
        voter_client.login(voter)
        choice = [swings.id] if n < 2 else [formula.id]
        assert voter_client.submit(f"/cycles/{cycle.id}/vote/{cycle.districts[0].id}",
                                   {"project": [str(c) for c in choice]}).status_code == 302
    cycle.phase = Phase.TALLYING
    db.session.commit()
    tallying.run_tally(official, cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()

    page = client.get(f"/cycles/{cycle.id}/results").get_data(as_text=True)
    assert "Swings" in page and "3 voters" in page and "Used: 200 EUR; left: 100 EUR" in page
    assert "Download the results" not in page
    assert client.get(f"/cycles/{cycle.id}/results.csv").status_code == 302  # anonymous: log in first

    client.login(official)
    response = client.get(f"/cycles/{cycle.id}/results.csv")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:6] == ["district", "project_id", "title", "category", "cost_EUR", "votes"]
    assert rows[1][2:7] == ["Swings", "Green spaces", "200", "2", "yes"]
    assert rows[2][2] == "'=HYPERLINK(\"x\")"  # a formula is neutralised, never run by a spreadsheet
    assert rows[2][6] == "no"
