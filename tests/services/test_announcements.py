"""What residents and authors hear as a cycle moves on, read back from a real SMTP server: voting opens in their
district, a reminder to those who have not voted, results are published and whether their project was funded."""

from datetime import datetime, timedelta

import pytest
from pb import worker
from pb.domain import timetable
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Cycle, Participation, Role, User, utcnow
from pb.services import announcements, cycles, publication, schedule, tallying, voting
from tests.conftest import close_voting, deliver_mail, html_of, links_in, text_of

CLOSE = datetime(2030, 12, 15, 19, 0)  # 20:00 in Madrid


def _user(user: User) -> User:
    return db.session.get(User, user.id)


def _recipients(smtp, subject_start: str) -> list[str]:
    """Who received a message whose subject starts so (voters also get a "ballot saved" security message)."""
    return sorted(str(message["To"]) for message in smtp.messages if str(message["Subject"]).startswith(subject_start))


def _unsubscribe(client, message) -> str:
    [link] = [link for link in links_in(message) if link.startswith("/unsubscribe/")]
    assert client.submit(link).status_code == 200
    return link


@pytest.fixture
def review_cycle(make_cycle, make_project):
    cycle = make_cycle(Phase.REVIEW, timezone="Europe/Madrid", voting_close_at=CLOSE)
    for district in cycle.districts:
        make_project(cycle, district)
    return cycle


def test_voting_opens_reaches_every_verified_resident_in_their_language_with_a_ballot_that_opens(
    app, smtp, client, make_user, verify, review_cycle
):
    official = make_user(Role.OFFICIAL)
    north, south = review_cycle.districts
    english, spanish, polish = make_user(), make_user(locale="es"), make_user(locale="pl")
    muted, unverified, unconfirmed = make_user(muted_notifications="voting_opens"), make_user(), make_user(email_confirmed_at=None)
    for resident, district in ((english, north), (spanish, south), (polish, north), (muted, north), (unconfirmed, north)):
        verify(resident, district)
    cycles.advance_phase(official, review_cycle.id, "review", "Opened early for the tests.")
    deliver_mail()
    assert sorted(str(m["To"]) for m in smtp.messages) == sorted([english.email, spanish.email, polish.email])
    assert unverified.email not in str([m["To"] for m in smtp.messages])

    message = smtp.last_to(english.email)
    assert message["Subject"] == f"Voting is open in North: {review_cycle.name}"
    body = text_of(message)
    assert "Voting closes at 15 December 2030, 20:00 (Europe/Madrid)." in body
    assert "15 December 2030, 20:00 (Europe/Madrid)" in html_of(message)
    assert "15 de diciembre de 2030, 20:00 (Europe/Madrid)" in text_of(smtp.last_to(spanish.email))
    assert "15 grudnia 2030, 20:00 (Europe/Madrid)" in text_of(smtp.last_to(polish.email))
    assert f"/cycles/{review_cycle.id}/vote/{south.id}" in links_in(smtp.last_to(spanish.email))

    ballot = f"/cycles/{review_cycle.id}/vote/{north.id}"
    assert ballot in links_in(message)
    client.login(english)
    page = client.get(ballot)
    assert page.status_code == 200 and "Cast my ballot" in page.get_data(as_text=True)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    _unsubscribe(client, message)
    assert _user(english).muted_notifications == "voting_opens"


def test_voting_opened_by_the_timetable_tells_the_residents_too(app, smtp, make_user, verify, review_cycle):
    resident = make_user()
    verify(resident, review_cycle.districts[0])
    review_cycle.voting_open_at = datetime(2030, 12, 1, 8, 0)
    db.session.commit()
    schedule.run_due(datetime(2030, 12, 1, 8, 0))
    assert db.session.get(Cycle, review_cycle.id).phase is Phase.VOTING
    deliver_mail()
    assert smtp.last_to(resident.email)["Subject"].startswith("Voting is open in North")


def test_the_reminder_goes_once_to_verified_residents_who_have_not_voted_online_or_on_paper(
    app, smtp, client, make_user, make_cycle, make_project, verify
):
    now = utcnow()
    cycle = make_cycle(Phase.VOTING, timezone="Europe/Warsaw", voting_close_at=now + timedelta(hours=30))
    north, south = cycle.districts
    project = make_project(cycle, north)
    online, on_paper, english, polish = make_user(), make_user(), make_user(), make_user(locale="pl")
    for resident, district in ((online, north), (on_paper, south), (english, north), (polish, south)):
        verify(resident, district)
    voting.cast_ballot(online, cycle.id, north.id, [project.id])
    db.session.add(Participation(user_id=on_paper.id, cycle_id=cycle.id, district_id=south.id, channel="paper"))
    db.session.commit()

    app.config["VOTING_REMINDER_HOURS"] = 24
    assert announcements.remind_due(now) == []  # 30 hours before the close: not yet
    app.config["VOTING_REMINDER_HOURS"] = 48
    lines = worker.run_round(app, now=now)
    assert f"cycle {cycle.id}: voting reminder to 2 residents who have not voted" in lines
    deliver_mail()  # the round's own delivery step ran at the frozen `now`, a moment before these were written
    assert _recipients(smtp, "Voting closes soon") == sorted([english.email, polish.email])
    assert db.session.get(Cycle, cycle.id).voting_reminder_sent_at == now
    assert announcements.remind_due(now + timedelta(hours=1)) == []  # once per cycle
    deliver_mail()
    assert _recipients(smtp, "Voting closes soon") == sorted([english.email, polish.email])

    message = smtp.last_to(english.email)
    assert message["Subject"] == f"Voting closes soon in North: {cycle.name}"
    wall = timetable.local(now + timedelta(hours=30), "Europe/Warsaw")
    assert (f"Voting closes at {wall.day} {wall:%B %Y, %H:%M} (Europe/Warsaw); after that no ballot is accepted."
            in text_of(message))
    [polish_message] = [m for m in smtp.to(polish.email) if m["Subject"] != "Your ballot was saved"]
    polish_text = text_of(polish_message)
    assert f"{wall:%H:%M} (Europe/Warsaw)" in polish_text and f"{wall.day} {wall:%B %Y}" not in polish_text
    client.login(english)
    assert client.get(f"/cycles/{cycle.id}/vote/{north.id}").status_code == 200
    assert f"/cycles/{cycle.id}/vote/{north.id}" in links_in(message)
    _unsubscribe(client, message)
    assert _user(english).muted_notifications == "voting_reminder"


def test_no_reminder_once_voting_has_closed(app, make_user, make_cycle, verify):
    now = utcnow()
    cycle = make_cycle(Phase.VOTING, voting_close_at=now - timedelta(seconds=1))
    verify(make_user(), cycle.districts[0])
    assert announcements.remind_due(now) == []
    assert db.session.get(Cycle, cycle.id).voting_reminder_sent_at is None


def test_publishing_the_results_tells_verified_residents_and_each_author_whether_their_project_was_funded(
    app, smtp, client, make_user, make_cycle, make_project, verify
):
    officials = [make_user(Role.OFFICIAL), make_user(Role.OFFICIAL)]
    cycle = make_cycle(Phase.VOTING, districts=(("North", 100_000),))
    [north] = cycle.districts
    funded_author, unfunded_author = make_user(), make_user(locale="en")
    parks = make_project(cycle, north, cost=60_000, title="Parks", author=funded_author)
    lights = make_project(cycle, north, cost=60_000, title="Lights", author=unfunded_author)
    english, polish = make_user(), make_user(locale="pl")
    for resident, choice in ((english, [parks.id]), (polish, [parks.id])):
        verify(resident, north)
        voting.cast_ballot(resident, cycle.id, north.id, choice)
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    for official in officials:
        publication.approve_results(official, cycle.id)
    cycles.advance_phase(officials[0], cycle.id, "tallying")
    deliver_mail()
    assert _recipients(smtp, "The results of") == sorted([english.email, polish.email])
    assert _recipients(smtp, "Your project") == sorted([funded_author.email, unfunded_author.email])

    results = smtp.last_to(english.email)
    assert results["Subject"] == f"The results of {cycle.name} are published"
    assert f"/cycles/{cycle.id}/results" in links_in(results)
    assert client.get(f"/cycles/{cycle.id}/results").status_code == 200
    assert f"/cycles/{cycle.id}/results" in links_in(smtp.last_to(polish.email))

    funded = smtp.last_to(funded_author.email)
    assert funded["Subject"] == "Your project is funded: Parks"
    assert f"/proposals/{parks.id}" in links_in(funded)
    assert client.get(f"/proposals/{parks.id}").status_code == 200
    unfunded = smtp.last_to(unfunded_author.email)
    assert "Lights" in unfunded["Subject"] and f"/proposals/{lights.id}" in links_in(unfunded)
    assert unfunded["Subject"] == "Your project was not funded: Lights"
    assert "was on the ballot but was not funded this time" in text_of(unfunded)

    _unsubscribe(client, results)
    assert _user(english).muted_notifications == "results"
    _unsubscribe(client, funded)
    assert _user(funded_author).muted_notifications == "proposals"


def test_an_english_reader_gets_english_and_the_cycle_is_named_in_every_message(app, smtp, make_user, verify, review_cycle):
    resident = make_user(locale="en")
    verify(resident, review_cycle.districts[0])
    cycles.advance_phase(make_user(Role.OFFICIAL), review_cycle.id, "review", "For the tests.")
    deliver_mail()
    body = text_of(smtp.last_to(resident.email))
    assert body.startswith(f"Hello {resident.name},") and review_cycle.name in body
    assert "Voting closes at 15 December 2030, 20:00 (Europe/Madrid)" in body
