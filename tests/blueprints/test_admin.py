"""Officials' administration: set-up in draft, phases with blockers, the count, roles, the audit log."""

import csv
import html
import io

import pytest
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Cycle, District, Role, RoleChange, TallyRun, User


def test_settings_districts_and_categories_change_only_in_draft(client, make_user, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/admin/cycles/{cycle.id}/settings", {
        "name": "Renamed", "currency": "PLN", "total_budget": "2 000 000", "rule": "mes-add1",
        "min_projects": "1", "max_projects": "5",
    })
    assert response.status_code == 302
    db.session.refresh(cycle)
    assert (cycle.name, cycle.currency, cycle.total_budget, cycle.rule, cycle.max_projects) == (
        "Renamed", "PLN", 200_000_000, "mes-add1", 5)
    assert client.submit(f"/admin/cycles/{cycle.id}/districts",
                         {"district-name": "Old Town", "district-budget": "500"}).status_code == 302
    assert client.submit(f"/admin/cycles/{cycle.id}/categories", {"category-name": "Culture"}).status_code == 302
    db.session.refresh(cycle)
    old_town = next(d for d in cycle.districts if d.name == "Old Town")
    assert old_town.budget == 50_000 and "Culture" in [c.name for c in cycle.categories]
    old_town_id = old_town.id
    assert client.submit(f"/admin/districts/{old_town_id}/remove").status_code == 302
    assert db.session.get(District, old_town_id) is None


def test_set_up_is_refused_once_the_cycle_has_opened(client, make_user, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    client.login(make_user(Role.OFFICIAL))
    response = client.get(f"/admin/cycles/{cycle.id}/settings", follow_redirects=True)
    assert "can only be changed while it is being prepared" in response.get_data(as_text=True)
    client.submit(f"/admin/cycles/{cycle.id}/districts", {"district-name": "Late", "district-budget": "5"})
    db.session.refresh(cycle)
    assert [d.name for d in cycle.districts] == ["North", "South"]


def test_a_duplicate_district_name_is_refused(client, make_user, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    client.login(make_user(Role.OFFICIAL))
    response = client.submit(f"/admin/cycles/{cycle.id}/districts",
                             {"district-name": "north", "district-budget": "5"}, follow_redirects=True)
    assert "already has a district called" in response.get_data(as_text=True)


def test_the_control_page_shows_why_the_cycle_cannot_move_on(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    make_proposal(cycle)
    make_proposal(cycle)
    client.login(make_user(Role.OFFICIAL))
    page = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert "2 proposals are still waiting for review." in page
    assert "No project is on the ballot in: North, South." in page
    response = client.submit(f"/admin/cycles/{cycle.id}/advance", {"expected_phase": "review"}, follow_redirects=True)
    assert "2 proposals are still waiting for review." in response.get_data(as_text=True)
    db.session.refresh(cycle)
    assert cycle.phase is Phase.REVIEW


def test_the_count_is_visible_to_officials_only_until_published(client, app, make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.TALLYING, districts=(("North", 30_000),))
    project = make_project(cycle, cost=10_000, title="Swings")
    official = make_user(Role.OFFICIAL)
    client.login(official)
    client.submit(f"/admin/cycles/{cycle.id}/tally")
    run = db.session.scalars(select(TallyRun)).one()
    assert run.run_by_id == official.id and run.ballot_count == 0
    assert "Provisional" in client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    public = app.test_client()
    assert public.get(f"/cycles/{cycle.id}/results").status_code == 302
    assert "Swings" in public.get(f"/proposals/{project.id}").get_data(as_text=True)
    assert "votes" not in public.get(f"/proposals/{project.id}").get_data(as_text=True)
    client.submit(f"/admin/cycles/{cycle.id}/tally")  # counting again replaces the count
    assert len(db.session.scalars(select(TallyRun)).all()) == 1


def test_an_official_changes_a_role_but_not_their_own(client, make_user):
    official = make_user(Role.OFFICIAL)
    resident = make_user()
    client.login(official)
    assert client.submit(f"/admin/users/{resident.id}/role", {"role": "moderator"}).status_code == 302
    assert db.session.get(User, resident.id).role is Role.MODERATOR
    response = client.submit(f"/admin/users/{official.id}/role", {"role": "resident"}, follow_redirects=True)
    assert "You cannot remove your own official role" in response.get_data(as_text=True)
    assert db.session.get(User, official.id).role is Role.OFFICIAL
    response = client.submit(f"/admin/users/{resident.id}/role", {"role": "emperor"}, follow_redirects=True)
    assert "Choose one of the listed options." in response.get_data(as_text=True)
    assert db.session.get(User, resident.id).role is Role.MODERATOR


def test_the_audit_log_shows_who_did_what(client, make_user, make_cycle):
    cycle = make_cycle(Phase.DRAFT)
    official = make_user(Role.OFFICIAL, email="boss@city.example", name="Boss")
    client.login(official)
    client.submit(f"/admin/cycles/{cycle.id}/advance", {"expected_phase": "draft"})
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "advance-phase")).one()
    assert entry.cycle_id == cycle.id and entry.actor_id == official.id
    page = client.get(f"/admin/cycles/{cycle.id}/audit").get_data(as_text=True)
    assert f"Boss (official) moved the cycle “{cycle.name}” to the phase “Proposals open”" in html.unescape(page)
    assert "Phase: Being prepared → Proposals open" in html.unescape(page)
    # The stored data stays readable for auditors, behind a disclosure.
    assert "<summary>Recorded data</summary>" in page and "advance-phase" in page


def test_drafts_are_listed_for_officials_and_hidden_from_everyone_else(client, app, make_user, make_cycle):
    draft = make_cycle(Phase.DRAFT, name="Secret plans")
    make_cycle(Phase.PROPOSALS, name="Open cycle")
    public_page = app.test_client().get("/").get_data(as_text=True)
    assert "Open cycle" in public_page and "Secret plans" not in public_page
    assert app.test_client().get(f"/cycles/{draft.id}").status_code == 404
    client.login(make_user(Role.OFFICIAL))
    assert "Secret plans" in client.get("/").get_data(as_text=True)
    assert db.session.scalar(select(Cycle.name).where(Cycle.id == draft.id)) == "Secret plans"


def test_granting_the_official_role_on_the_web_waits_for_a_second_official(app, client, make_user):
    olga, pieter = make_user(Role.OFFICIAL, name="Olga"), make_user(Role.OFFICIAL, name="Pieter")
    newcomer = make_user(name="Nadia")
    client.login(olga)
    response = client.submit(f"/admin/users/{newcomer.id}/role", {"role": "official"}, follow_redirects=True)
    assert "Say why this person should gain or lose the official role" in response.get_data(as_text=True)
    assert db.session.scalar(select(RoleChange)) is None
    response = client.submit(f"/admin/users/{newcomer.id}/role", {"role": "official", "reason": "Runs the count."},
                             follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "It takes effect once a different official approves it." in page
    assert "Runs the count." in page and "A different official must approve it." in page
    change = db.session.scalar(select(RoleChange))
    assert db.session.get(User, newcomer.id).role is Role.RESIDENT
    response = client.submit(f"/admin/role-changes/{change.id}/approve", follow_redirects=True)
    assert "a different official must approve it" in response.get_data(as_text=True)
    assert db.session.get(User, newcomer.id).role is Role.RESIDENT
    second = app.test_client()
    second.login(pieter)
    response = second.submit(f"/admin/role-changes/{change.id}/approve", follow_redirects=True)
    assert "Nadia is now a official." in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, newcomer.id).role is Role.OFFICIAL


def test_a_requested_role_change_can_be_cancelled_on_the_web(client, make_user):
    olga, pieter = make_user(Role.OFFICIAL), make_user(Role.OFFICIAL, name="Pieter")
    client.login(olga)
    client.submit(f"/admin/users/{pieter.id}/role", {"role": "resident", "reason": "Left the city."})
    change = db.session.scalar(select(RoleChange))
    response = client.submit(f"/admin/role-changes/{change.id}/cancel", follow_redirects=True)
    assert "The request is cancelled; Pieter&#39;s role is unchanged." in response.get_data(as_text=True)
    db.session.expire_all()
    assert (db.session.get(User, pieter.id).role, db.session.get(RoleChange, change.id).status) == (
        Role.OFFICIAL, "cancelled")


def test_disabling_an_official_on_the_web_is_refused_with_the_way_forward(client, make_user):
    olga, pieter = make_user(Role.OFFICIAL), make_user(Role.OFFICIAL, name="Pieter")
    client.login(olga)
    response = client.submit(f"/admin/users/{pieter.id}/disable", follow_redirects=True)
    assert "request the change of role first" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, pieter.id).is_enabled is True


def test_the_timetable_is_entered_and_shown_in_the_cycles_time_zone(client, app, make_user):
    from datetime import datetime

    app.config["TIMEZONE"] = "Europe/Warsaw"
    client.login(make_user(Role.OFFICIAL))
    assert 'value="Europe/Warsaw"' in client.get("/admin/cycles/new").get_data(as_text=True)  # the site's default
    response = client.submit("/admin/cycles/new", {
        "name": "Zoned", "currency": "EUR", "total_budget": "1000", "rule": "greedy", "min_projects": "1",
        "timezone": "Europe/Madrid", "voting_open_at": "2030-06-01T09:00", "voting_close_at": "2030-12-15T20:00",
    })
    assert response.status_code == 302
    cycle = db.session.scalars(select(Cycle).where(Cycle.name == "Zoned")).one()
    # Stored in UTC: Madrid is UTC+2 in summer and UTC+1 in winter.
    assert (cycle.timezone, cycle.voting_open_at, cycle.voting_close_at) == (
        "Europe/Madrid", datetime(2030, 6, 1, 7, 0), datetime(2030, 12, 15, 19, 0))
    settings = client.get(f"/admin/cycles/{cycle.id}/settings").get_data(as_text=True)
    assert 'type="datetime-local"' in settings and 'value="2030-12-15T20:00"' in settings
    cycle.phase = Phase.PROPOSALS
    db.session.commit()
    page = client.get(f"/cycles/{cycle.id}").get_data(as_text=True)
    assert "15 December 2030, 20:00 (Europe/Madrid)" in page and "1 June 2030, 09:00 (Europe/Madrid)" in page
    assert client.get(f"/cycles/{cycle.id}", headers={"Accept-Language": "es"}).status_code == 200


def test_the_log_of_every_cycle_filters_and_downloads_what_it_shows(client, make_user, make_cycle):
    first, second = make_cycle(Phase.DRAFT, name="First"), make_cycle(Phase.DRAFT, name="Second")
    official = make_user(Role.OFFICIAL, name="Ana")
    client.login(official)
    client.submit(f"/admin/cycles/{first.id}/categories", {"category-name": "Trees"})
    client.submit(f"/admin/cycles/{second.id}/districts", {"district-name": "Port", "district-budget": "1200"})
    page = html.unescape(client.get("/admin/audit").get_data(as_text=True))
    assert "Ana (official) added the category “Trees”" in page
    assert "Ana (official) added the district “Port” with a budget of 1,200 EUR" in page
    assert "Audit log" in client.get("/admin/").get_data(as_text=True)
    only = html.unescape(client.get("/admin/audit?event=add-category").get_data(as_text=True))
    assert "“Trees”" in only and "“Port”" not in only
    assert "“Port”" not in html.unescape(client.get(f"/admin/cycles/{first.id}/audit").get_data(as_text=True))
    assert client.get("/admin/audit.csv").status_code == 405  # reading never writes; the download is recorded
    response = client.submit("/admin/audit.csv?event=add-district")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row[3] for row in rows[1:]] == ["add-district"]
    download = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "export-audit-log")).one()
    assert download.actor_id == official.id and download.cycle_id is None
    assert client.submit(f"/admin/cycles/{first.id}/audit.csv").status_code == 200
    expired = client.post(f"/admin/cycles/{first.id}/audit.csv?event=add-category")
    assert expired.status_code in (302, 400) and "text/csv" not in expired.content_type


@pytest.mark.parametrize("query", ["page=0", "page=-3", "page=abc", "page=99999999999", "since=yesterday",
                                   "until=2026-13-01", "event=%00", "person=" + "x" * 5000, "event[]=1"])
def test_bad_audit_filters_are_ignored_with_a_word_never_a_500(client, make_user, make_cycle, query):
    cycle = make_cycle()
    client.login(make_user(Role.OFFICIAL))
    for url in (f"/admin/audit?{query}", f"/admin/cycles/{cycle.id}/audit?{query}"):
        assert client.get(url).status_code in (200, 400)  # 400: a NUL byte, refused site-wide before any view
    assert client.submit(f"/admin/audit.csv?{query}").status_code in (200, 400)


def test_the_count_speaks_in_plurals_and_names_the_rule_in_words(client, make_user, make_cycle, make_project):
    cycle = make_cycle(Phase.TALLYING, districts=(("North", 30_000), ("South", 30_000)), rule="mes-add1")
    make_project(cycle, cost=10_000, title="Swings")
    client.login(make_user(Role.OFFICIAL))
    flashed = client.submit(f"/admin/cycles/{cycle.id}/tally", follow_redirects=True).get_data(as_text=True)
    assert "The votes are counted in 2 districts." in flashed and "district(s)" not in flashed
    run = db.session.scalars(select(TallyRun).order_by(TallyRun.id)).first()
    run.ballot_count = 1
    for result in run.results:
        result.votes, result.is_funded = 1, True
    db.session.commit()
    page = html.unescape(client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True))
    assert "North: 1 ballot, " in page and "1 ballots" not in page
    assert "Swings (1 vote, " in page and "1 votes" not in page
    assert "South: 0 ballots, " in page
    # The rule in words on the control room's settings and count, never its id.
    assert "Method of Equal Shares" in page and "mes-add1" not in page


def test_the_new_cycle_form_reports_every_problem_at_once(client, make_user, make_cycle):
    make_cycle(name="Taken")
    client.login(make_user(Role.OFFICIAL))
    response = client.submit("/admin/cycles/new", {
        "name": "Taken", "currency": "EUR", "total_budget": "nothing", "rule": "greedy",
        "min_projects": "3", "max_projects": "2", "timezone": "UTC",
        "proposals_open_at": "2026-06-01T09:00", "review_at": "2026-05-01T09:00",
        "supports_at": "2026-05-15T09:00",
    })
    page = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    # The form's own check (the amount) and the cycle's rules (the rest) together, each at its field.
    for problem in ("Another cycle already has this name.", "The most projects per ballot cannot be fewer than the least.",
                    "The phase dates must be in order", "A date for the supports is only kept for a cycle with the supports phase"):
        assert problem in page
    assert 'id="total_budget-error-1"' in page and 'id="supports_at-error-2"' in page and 'id="name-error-1"' in page
    assert "There is a problem" in page
    assert db.session.scalar(select(Cycle.id).where(Cycle.name != "Taken")) is None


def test_a_draft_districts_budget_and_categories_are_edited_on_the_control_room(client, make_user, make_cycle,
                                                                               make_proposal):
    cycle = make_cycle(Phase.DRAFT)
    client.login(make_user(Role.OFFICIAL))
    north, south = cycle.districts
    page = client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    assert f'id="budget-{north.id}"' in page and 'value="1000"' in page
    response = client.submit(f"/admin/districts/{north.id}/budget", {"budget-budget": "1 250.50"},
                             follow_redirects=True)
    assert "The budget of “North” is now 1,250.50 EUR." in html.unescape(response.get_data(as_text=True))
    assert db.session.get(District, north.id).budget == 125_050
    refused = client.submit(f"/admin/districts/{north.id}/budget", {"budget-budget": "-4"},
                            follow_redirects=True)
    assert refused.status_code == 200 and db.session.get(District, north.id).budget == 125_050
    make_proposal(cycle, title="Benches")
    kept = client.submit(f"/admin/categories/{cycle.categories[0].id}/remove", follow_redirects=True)
    assert "is used by the proposal “Benches”" in html.unescape(kept.get_data(as_text=True))
    added = client.submit(f"/admin/cycles/{cycle.id}/categories", {"category-name": "Culture"})
    assert added.status_code == 302
    culture = next(c for c in db.session.get(Cycle, cycle.id).categories if c.name == "Culture")
    removed = client.submit(f"/admin/categories/{culture.id}/remove", follow_redirects=True)
    assert "Category “Culture” is removed." in html.unescape(removed.get_data(as_text=True))
    db.session.expire_all()
    assert [c.name for c in db.session.get(Cycle, cycle.id).categories] == ["Green spaces"]


def test_the_users_list_shows_roles_confirmation_and_verification_and_filters(client, make_user, make_cycle, verify):
    cycle = make_cycle(Phase.PROPOSALS, name="Budget 2027")
    official = make_user(Role.OFFICIAL, name="Olga")
    verified = make_user(name="Vera Verified", email="vera@example.org")
    make_user(name="Ned New", email="ned@example.org", email_confirmed_at=None)
    verify(verified, cycle.districts[1])
    client.login(official)
    assert 'href="/admin/users"' in client.get("/admin/").get_data(as_text=True)
    page = html.unescape(client.get("/admin/users?q=vera").get_data(as_text=True))
    assert "vera@example.org" in page and "South (Budget 2027)" in page and "ned@example.org" not in page
    assert "1 user found; 1 to 1 shown." in page
    unconfirmed = html.unescape(client.get("/admin/users?q=ned").get_data(as_text=True))
    assert "not yet" in unconfirmed and "not verified" in unconfirmed
    officials = client.get("/admin/users?role=official").get_data(as_text=True)
    assert "Olga" in officials and "vera@example.org" not in officials
    for query in ("role=emperor", "page=-1", "page=zz", "q=" + "%" * 300):
        assert client.get(f"/admin/users?{query}").status_code == 200


def test_the_proposals_download_is_for_officials_and_a_csv(client, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.REVIEW)
    make_proposal(cycle, title="Benches")
    client.login(make_user(Role.OFFICIAL))
    assert "proposals (CSV)" in client.get(f"/admin/cycles/{cycle.id}").get_data(as_text=True)
    response = client.get(f"/admin/cycles/{cycle.id}/proposals.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "Benches" in response.get_data(as_text=True)
    assert client.get("/admin/cycles/99999/proposals.csv").status_code == 404
