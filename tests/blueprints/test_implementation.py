"""Implementation pages: officials recording progress and updates, residents reading them, bad input refused."""

import html
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.implementation import ImplementationStatus as S
from pb.extensions import db
from pb.models import AuditEntry, Implementation, ImplementationUpdate, Role, utcnow
from tests.conftest import store_count


@pytest.fixture
def world(make_user, make_cycle, make_project):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.TALLYING, districts=(("North", 100_000), ("South", 50_000)))
    north, south = cycle.districts
    park = make_project(cycle, north, cost=60_000, title="Pocket park")
    swings = make_project(cycle, south, cost=20_000, title="New swings")
    lamps = make_project(cycle, north, cost=70_000, title="Street lamps")
    store_count(cycle, official, funded=[park, swings], unfunded=[lamps])
    return {"official": official, "cycle": cycle, "park": park, "swings": swings, "lamps": lamps}


def _edit(project) -> str:
    return f"/implementation/projects/{project.id}"


def _form(**changes) -> dict:
    values = {"status": "in_progress", "progress": "40", "spent": "250.50", "cancel_reason": "", "version": "0"}
    values.update(changes)
    return values


def _record():
    return db.session.scalars(select(Implementation)).one_or_none()


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def _followed(client, response) -> str:
    return html.unescape(client.get(response.location).get_data(as_text=True))


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_an_official_records_progress_and_residents_see_it(client, app, world):
    client.login(world["official"])
    page = _text(client.get(_edit(world["park"])))
    assert "Implementation: Pocket park" in page and "nothing recorded yet" in page
    response = client.submit(_edit(world["park"]), _form())
    assert response.status_code == 302 and response.location == _edit(world["park"])
    assert "is saved" in _followed(client, response)
    record = _record()
    assert (record.project_id, record.status, record.progress, record.spent, record.version) == (
        world["park"].id, S.IN_PROGRESS, 40, 25_050, 1)
    assert db.session.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc()).limit(1)) == "record-implementation"

    resident = app.test_client()
    page = _text(resident.get(f"/proposals/{world['park'].id}"))
    assert "After the vote: how the project is going" in page
    assert "In progress" in page and "40 %" in page and "250.50 EUR" in page and "600 EUR" in page
    assert "Record progress" not in page  # officials only


def test_done_and_then_a_stale_second_save_is_refused_without_change(client, world):
    client.login(world["official"])
    client.submit(_edit(world["park"]), _form())
    response = client.submit(_edit(world["park"]), _form(status="done", progress="100", spent="610", version="1"))
    assert response.status_code == 302
    assert (_record().status, _record().spent, _record().version) == (S.DONE, 61_000, 2)
    # A second official's tab still shows version 1.
    stale = client.submit(_edit(world["park"]), _form(status="in_progress", progress="80", version="1"))
    assert stale.status_code == 302 and stale.location == _edit(world["park"])
    assert "Another official changed" in _followed(client, stale)
    assert (_record().status, _record().progress, _record().version) == (S.DONE, 100, 2)


@pytest.mark.parametrize(("changes", "message"), [
    ({"progress": "150"}, "Enter a whole percentage from 0 to 100."),
    ({"progress": "-1"}, "Enter a whole percentage from 0 to 100."),
    ({"progress": "lots"}, "Not a valid integer value."),
    ({"spent": "-5"}, "The amount cannot be negative."),
    ({"spent": "12abc"}, "is not an amount"),
    ({"spent": "1.234"}, "decimal places"),
    ({"spent": ""}, "Enter the money spent so far"),
    ({"status": "demolished"}, "Choose one of the listed options."),
    ({"status": "cancelled"}, "Say why the project is cancelled"),
    ({"status": "done", "progress": "60"}, "100 % complete"),
    ({"version": "x"}, "Nothing was saved"),
])
def test_bad_input_is_refused_with_a_clear_message_and_saves_nothing(client, world, changes, message):
    client.login(world["official"])
    response = client.submit(_edit(world["park"]), _form(**changes))
    assert response.status_code == 400
    assert message in _text(response)
    assert _record() is None and _count(AuditEntry) == 0


def test_a_post_without_the_csrf_token_is_refused(client, world):
    client.login(world["official"])
    response = client.post(_edit(world["park"]), data=_form())
    assert response.status_code == 400 and "The form has expired" in _text(response)
    response = client.post(f"{_edit(world['park'])}/updates", data={"update-posted_on": "2026-01-01", "update-text": "x"})
    assert response.status_code == 400
    assert _record() is None and _count(ImplementationUpdate) == 0


def test_an_unfunded_project_is_refused_back_to_the_cycle(client, world):
    client.login(world["official"])
    cycle_page = f"/admin/cycles/{world['cycle'].id}"
    requests = [
        lambda: client.get(_edit(world["lamps"])),
        lambda: client.submit(_edit(world["lamps"]), _form()),
        lambda: client.submit(f"{_edit(world['lamps'])}/updates", {"update-posted_on": "2026-01-01",
                                                                   "update-text": "Hello"}),
    ]
    for send in requests:
        response = send()
        assert response.status_code == 302 and response.location == cycle_page
        assert "was not funded" in _followed(client, response)
    assert _record() is None and _count(ImplementationUpdate) == 0


def test_an_unknown_project_is_a_404_and_changes_nothing(client, world):
    client.login(world["official"])
    assert client.get("/implementation/projects/999999").status_code == 404
    response = client.submit("/implementation/projects/999999", _form())
    assert response.status_code == 302 and "There is no such proposal" in _followed(client, response)
    assert client.get("/cycles/999999/implementation").status_code == 404
    assert _record() is None


@pytest.mark.parametrize("phase", [Phase.PROPOSALS, Phase.VOTING, Phase.TALLYING], ids=lambda p: p.value)
def test_before_publication_nothing_is_tracked_or_shown(client, world, phase):
    world["cycle"].phase = phase
    db.session.commit()
    assert "After the vote" not in _text(client.get(f"/proposals/{world['park'].id}"))
    response = client.get(f"/cycles/{world['cycle'].id}/implementation")
    assert response.status_code == 302 and response.location == f"/cycles/{world['cycle'].id}"
    assert "once the results are published" in _followed(client, response)
    client.login(world["official"])
    response = client.submit(_edit(world["park"]), _form())
    assert response.status_code == 302 and response.location == f"/admin/cycles/{world['cycle'].id}"
    assert "once the results are published" in _followed(client, response)
    assert _record() is None


def test_a_draft_cycle_s_overview_does_not_exist_for_the_public(client, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    assert client.get(f"/cycles/{cycle.id}/implementation").status_code == 404


def test_a_cancelled_project_shows_its_reason_to_residents(client, app, world):
    client.login(world["official"])
    response = client.submit(_edit(world["swings"]), _form(status="cancelled", progress="0", spent="0",
                                                            cancel_reason="The playground was sold."))
    assert response.status_code == 302 and _record().status is S.CANCELLED
    page = _text(app.test_client().get(f"/proposals/{world['swings'].id}"))
    assert "Cancelled" in page and "Why it was cancelled" in page and "The playground was sold." in page


def test_dated_updates_are_posted_and_shown_newest_first(client, app, world):
    client.login(world["official"])
    url = f"{_edit(world['park'])}/updates"
    today = utcnow().date()
    first = client.submit(url, {"update-posted_on": (today - timedelta(days=5)).isoformat(),
                                "update-text": "The design is approved."})
    assert first.status_code == 302 and first.location == _edit(world["park"])
    client.submit(url, {"update-posted_on": today.isoformat(), "update-text": "Planting has started."})
    assert _count(ImplementationUpdate) == 2
    page = _text(app.test_client().get(f"/proposals/{world['park'].id}"))
    assert page.index("Planting has started.") < page.index("The design is approved.")


@pytest.mark.parametrize(("data", "message"), [
    ({"update-posted_on": "2026-01-01", "update-text": "  "}, "Write what happened."),
    ({"update-posted_on": "tomorrow", "update-text": "Hello"}, "Not a valid date value."),
    ({"update-posted_on": "", "update-text": "Hello"}, "Give the update a date."),
    ({"update-posted_on": "2999-01-01", "update-text": "Hello"}, "cannot be in the future"),
])
def test_a_bad_update_is_refused_and_posts_nothing(client, world, data, message):
    client.login(world["official"])
    response = client.submit(f"{_edit(world['park'])}/updates", data)
    assert response.status_code == 302 and response.location == _edit(world["park"])
    assert message in _followed(client, response)
    assert _count(ImplementationUpdate) == 0


def test_residents_cannot_record_anything(client, world, make_user):
    for role in (Role.RESIDENT, Role.MODERATOR):
        client.login(make_user(role))
        assert client.submit(_edit(world["park"]), _form()).status_code == 403
        assert client.submit(f"{_edit(world['park'])}/updates", {"update-posted_on": "2026-01-01",
                                                                  "update-text": "x"}).status_code == 403
    assert _record() is None and _count(ImplementationUpdate) == 0


def test_where_did_our_budget_go(client, world):
    client.login(world["official"])
    client.submit(_edit(world["park"]), _form(progress="50", spent="700"))  # over its 600 EUR
    client.submit("/logout")
    public = client.get(f"/cycles/{world['cycle'].id}")
    assert f"/cycles/{world['cycle'].id}/implementation" in _text(public)
    page = _text(client.get(f"/cycles/{world['cycle'].id}/implementation"))
    assert "Where did our budget go?" in page
    assert "Pocket park" in page and "New swings" in page and "Street lamps" not in page
    assert "800 EUR" in page  # budgeted: 600 + 200
    assert "700 EUR" in page and '<span class="over-budget">over</span>' in page
    assert "1 project in progress, 1 project planned" in page or "1 project planned, 1 project in progress" in page
    assert "Record progress" not in page
    client.login(world["official"])
    assert "Record progress" in _text(client.get(f"/cycles/{world['cycle'].id}/implementation"))


def test_the_overview_counts_each_status_as_a_phrase_with_its_own_plural(client, app, world):
    # Regression: "2 (2 planned)", which translated as "2 (2 previsto)" and "2 (2 zaplanowany)".
    page = _text(client.get(f"/cycles/{world['cycle'].id}/implementation"))
    assert "(2 planned)" not in page and "2 (" not in page
    assert "<dt>Funded projects</dt><dd>2</dd>" in page
    assert "<dt>Where they stand</dt><dd>2 projects planned</dd>" in page
    assert "North: 1 project planned" in page and "South: 1 project planned" in page
    client.login(world["official"])
    client.submit(_edit(world["park"]), _form())
    page = _text(client.get(f"/cycles/{world['cycle'].id}/implementation"))
    assert "1 project planned, 1 project in progress" in page or "1 project in progress, 1 project planned" in page
