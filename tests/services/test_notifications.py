"""What the use cases tell people by email, read back from a real SMTP server: authors about decisions on their
proposals, a voter about their saved ballot (and nothing of what they chose), officials about paper sheets in
disagreement and counts waiting for their approval."""

import json

import pytest
from babel.dates import format_datetime
from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import OutboxMessage, Role, User
from pb.services import moderation, paper, publication, tallying, voting
from tests.conftest import close_voting, deliver_mail, html_of, links_in, text_of


def _outbox(**where) -> list[OutboxMessage]:
    db.session.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(db.session.scalars(query))


def _recipients(template: str) -> list[str]:
    return sorted(message.recipient for message in _outbox(template=template))


def _subject(message) -> str:
    # Flask-Mailman folds a non-ASCII subject onto a second line; Python's parser keeps the fold's space.
    return " ".join(str(message["Subject"]).split())


def _link(message, start: str) -> str:
    """The first link in the message that is `start`, or else the first that starts with it."""
    links = links_in(message)
    found = [link for link in links if link == start] or [link for link in links if link.startswith(start)]
    assert found, f"no link starting {start!r} in {links_in(message)}"
    return found[0]


def _follow(client, user: User, link: str) -> str:
    """Open a link from an email as its recipient would: logged in, the page must answer 200."""
    client.login(user)
    response = client.get(link)
    assert response.status_code == 200, (link, response.status_code, response.headers.get("Location"))
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    return response.get_data(as_text=True)


def _unsubscribe_works(client, message, user: User, kind: str) -> None:
    link = _link(message, "/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert client.submit(link).status_code == 200
    assert kind in db.session.get(User, user.id).muted_notifications.split()


# --------------------------------------------------------------------------------------------------------------------
# Authors: decisions on their proposals.
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture
def review(make_user, make_cycle):
    return make_user(Role.MODERATOR), make_cycle(Phase.REVIEW)


def test_an_accepted_proposals_author_gets_the_final_cost_in_the_cycles_currency_and_the_note(
    app, smtp, client, review, make_user, make_proposal
):
    moderator, cycle = review
    author = make_user(name="Ana")
    proposal = make_proposal(cycle, author=author, title="Benches by the pond", estimated_cost=10_000)
    moderation.accept(moderator, proposal.id, 12_550, "Includes the foundations.", version=1)
    assert deliver_mail().sent == 1
    received = smtp.last_to(author.email)
    assert _subject(received) == "Your proposal “Benches by the pond” is accepted"
    text = text_of(received)
    assert "Hello Ana," in text and "Final cost: 125.50 EUR" in text and "Includes the foundations." in text
    assert "125.50 EUR" in html_of(received) and '<html lang="en">' in html_of(received)
    page = _follow(client, author, _link(received, f"/proposals/{proposal.id}"))
    assert "Benches by the pond" in page
    _unsubscribe_works(client, received, author, "proposals")


def test_a_rejected_proposals_author_gets_the_reason_and_a_link(app, smtp, client, review, make_user, make_proposal):
    moderator, cycle = review
    author = make_user()
    proposal = make_proposal(cycle, author=author, title="A tram line")
    moderation.reject(moderator, proposal.id, "Far beyond the district's budget.", version=1)
    deliver_mail()
    received = smtp.last_to(author.email)
    assert _subject(received) == "Your proposal “A tram line” was not accepted"
    assert "Far beyond the district's budget." in text_of(received)
    assert "Far beyond the district&#39;s budget." in html_of(received)  # user text is escaped in HTML
    _follow(client, author, _link(received, f"/proposals/{proposal.id}"))
    _unsubscribe_works(client, received, author, "proposals")


def test_an_author_asked_for_changes_gets_what_to_change_and_a_link_to_edit_it(
    app, smtp, client, review, make_user, make_proposal
):
    moderator, cycle = review
    author = make_user()
    proposal = make_proposal(cycle, author=author, title="Trees on Elm Street")
    moderation.request_changes(moderator, proposal.id, "Say which side of the street.", version=1)
    deliver_mail()
    received = smtp.last_to(author.email)
    assert _subject(received) == "Your proposal “Trees on Elm Street” needs changes"
    assert "Say which side of the street." in text_of(received)
    page = _follow(client, author, _link(received, f"/proposals/{proposal.id}/edit"))
    assert "Trees on Elm Street" in page
    _follow(client, author, _link(received, f"/proposals/{proposal.id}"))


def test_a_merged_proposals_author_learns_into_which_proposal_with_a_link_to_it(
    app, smtp, client, review, make_user, make_proposal
):
    moderator, cycle = review
    author = make_user()
    duplicate = make_proposal(cycle, author=author, title="A playground")
    kept = make_proposal(cycle, title="Playground in the park")
    moderation.merge(moderator, duplicate.id, kept.id, version=1, into_version=1)
    deliver_mail()
    [received] = smtp.to(author.email)
    assert _subject(received) == "Your proposal “A playground” was merged into another"
    assert "“Playground in the park”" in text_of(received)
    page = _follow(client, author, _link(received, f"/proposals/{kept.id}"))
    assert "Playground in the park" in page
    _follow(client, author, _link(received, f"/proposals/{duplicate.id}"))
    assert smtp.to(kept.author.email) == []  # the kept proposal's author has nothing to do


def test_an_author_who_turned_decisions_off_gets_nothing_and_a_refused_decision_sends_nothing(
    app, review, make_user, make_proposal
):
    moderator, cycle = review
    muted = make_user(muted_notifications="proposals")
    moderation.accept(moderator, make_proposal(cycle, author=muted).id, 10_000, version=1)
    other = make_proposal(cycle)
    with pytest.raises(Exception, match="Give the author a reason"):
        moderation.reject(moderator, other.id, "  ", version=1)
    assert _outbox() == []


@pytest.mark.parametrize("locale", ["es", "pl"])
def test_an_authors_email_is_written_in_their_language(app, smtp, review, make_user, make_proposal, locale):
    moderator, cycle = review
    author = make_user(locale=locale)
    moderation.reject(moderator, make_proposal(cycle, author=author).id, "No.", version=1)
    [stored] = _outbox()
    assert stored.locale == locale
    deliver_mail()
    assert f'<html lang="{locale}">' in html_of(smtp.last_to(author.email))


# --------------------------------------------------------------------------------------------------------------------
# A voter, after saving or changing a ballot.
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture
def election(make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.VOTING, name="Budget 2027", districts=(("Riverside", 100_000),))
    district = cycle.districts[0]
    projects = [make_project(cycle, district, cost=cost, title=title)
                for cost, title in ((12_345, "Solar lamps on the quay"), (23_456, "A skate park"))]
    voter = make_user(name="Vera")
    verify(voter, district)
    return cycle, district, projects, voter


def test_a_voter_is_told_their_ballot_was_saved_with_the_time_and_what_to_do_if_it_was_not_them(
    app, smtp, client, election
):
    cycle, district, projects, voter = election
    voting.cast_ballot(voter, cycle.id, district.id, [projects[0].id])
    [stored] = _outbox()
    assert (stored.kind, stored.user_id, stored.template) == ("security", voter.id, "ballot_saved")
    deliver_mail()
    received = smtp.last_to(voter.email)
    assert _subject(received) == "Your ballot was saved"
    assert received["List-Unsubscribe"] is None  # a security message: it cannot be turned off
    text = text_of(received)
    assert "Your ballot for Riverside in Budget 2027 was saved on " in text
    assert stored.created_at.strftime("%Y-%m-%d %H:%M") in text and "(UTC)" in text
    assert "If this was not you" in text and "Change your password" in text and "town hall" in text
    ballot_page = _follow(client, voter, _link(received, f"/cycles/{cycle.id}/vote/{district.id}"))
    assert "Solar lamps on the quay" in ballot_page  # the page shows the ballot, to the voter only
    _follow(client, voter, _link(received, "/account/password"))

    voting.cast_ballot(voter, cycle.id, district.id, [projects[1].id])
    deliver_mail()
    changed = smtp.last_to(voter.email)
    assert _subject(changed) == "Your ballot was changed" and "Only your latest ballot counts." in text_of(changed)


def test_the_ballot_email_holds_no_choice_no_amount_and_no_receipt_in_either_part(app, smtp, election):
    """The mail provider reads every email: a receipt or a choice in it would tell the provider the vote."""
    cycle, district, projects, voter = election
    voting.cast_ballot(voter, cycle.id, district.id, [projects[0].id, projects[1].id])
    voting.cast_ballot(voter, cycle.id, district.id, [projects[1].id])
    receipts = [voting.current_receipt(voter, cycle.id, district.id)]
    deliver_mail()
    assert len(smtp.to(voter.email)) == 2
    stored = _outbox()
    forbidden = [projects[0].title, projects[1].title, "123.45", "234.56", "12345", "23456", "1,000", "1.000"]
    for message, row in zip(smtp.to(voter.email), stored, strict=True):
        version = 1 if _subject(message) == "Your ballot was saved" else 2
        receipt = voting._receipt_for(voting.ballot_token(voter.id, cycle.id, district.id), version)
        receipts.append(receipt)
        for part in (text_of(message), html_of(message), _subject(message), row.body_text, row.body_html, row.headers):
            for secret in forbidden + [receipt, voting.format_receipt(receipt)] + receipts:
                assert secret not in part, f"{secret!r} is in the email"


def test_a_voter_who_turned_every_kind_off_still_gets_the_ballot_confirmation(app, election, make_user):
    cycle, district, projects, voter = election
    voter.muted_notifications = "proposals voting_opens voting_reminder results"
    db.session.commit()
    voting.cast_ballot(voter, cycle.id, district.id, [projects[0].id])
    assert [message.recipient for message in _outbox()] == [voter.email]


def test_a_refused_ballot_sends_nothing(app, election):
    cycle, district, projects, voter = election
    with pytest.raises(Exception):
        voting.cast_ballot(voter, cycle.id, district.id, [projects[0].id, projects[1].id, 999_999])
    assert _outbox() == []


def test_paper_votes_send_the_resident_nothing(app, election, make_user):
    cycle, district, projects, voter = election
    officials = [make_user(Role.OFFICIAL, muted_notifications="official_alerts") for _ in range(2)]
    paper.record_paper_voter(officials[0], voter.id, district.id)
    for official in officials:
        paper.enter_sheet(official, district.id, "Library", 1, [projects[0].id])
    assert _outbox() == []


def test_a_spanish_voter_gets_the_confirmation_in_spanish(app, smtp, election):
    cycle, district, projects, voter = election
    voter.locale = "es"
    db.session.commit()
    voting.cast_ballot(voter, cycle.id, district.id, [projects[0].id])
    deliver_mail()
    received = smtp.last_to(voter.email)
    [stored] = _outbox()
    assert stored.locale == "es" and '<html lang="es">' in html_of(received)
    # The time in the voter's own style (Babel's Spanish medium form), not the English "2026-12-06 08:00:45".
    spanish_time = format_datetime(stored.created_at, "medium", locale="es", tzinfo=None)
    assert spanish_time[:8] in text_of(received) and stored.created_at.strftime("%Y-%m-%d") not in text_of(received)


# --------------------------------------------------------------------------------------------------------------------
# Officials: paper sheets in disagreement, counts waiting for approval.
# --------------------------------------------------------------------------------------------------------------------
@pytest.fixture
def polling(make_user, make_cycle, make_project):
    cycle = make_cycle(Phase.VOTING, name="Budget 2027", districts=(("Riverside", 100_000),))
    district = cycle.districts[0]
    projects = [make_project(cycle, district, cost=10_000) for _ in range(2)]
    first, second, third = (make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter", "Quinn"))
    make_user(Role.OFFICIAL, is_enabled=False)  # disabled: never mailed
    make_user(Role.OFFICIAL, muted_notifications="official_alerts")  # turned the alerts off
    make_user(Role.MODERATOR)
    return cycle, district, projects, (first, second, third)


def test_when_a_second_entry_disagrees_the_other_officials_are_told_once_with_links_to_act(
    app, smtp, client, polling
):
    cycle, district, projects, (olga, pieter, quinn) = polling
    paper.enter_sheet(olga, district.id, "Town hall", 7, [projects[0].id])
    assert _outbox() == []  # one entry: nothing to disagree with yet
    sheet = paper.enter_sheet(pieter, district.id, "Town hall", 7, [projects[1].id])
    assert sheet.status == paper.DISAGREED
    # Pieter saw it on the page as he saved; Olga (the other entry) and Quinn (who can enter it a third time) by email.
    assert _recipients("paper_disagreement") == sorted([olga.email, quinn.email])
    deliver_mail()
    to_olga, to_quinn = smtp.last_to(olga.email), smtp.last_to(quinn.email)
    assert _subject(to_olga) == "Paper sheet 7 from Town hall: the entries disagree"
    assert "Riverside" in text_of(to_olga) and "Budget 2027" in text_of(to_olga)
    assert "One of the entries is yours" in text_of(to_olga)
    _follow(client, olga, _link(to_olga, f"/paper/districts/{district.id}/sheets/correct"))
    assert "/sheets/correct" not in text_of(to_quinn)
    page = _follow(client, quinn, _link(to_quinn, f"/paper/cycles/{cycle.id}"))
    assert "Town hall" in page
    _unsubscribe_works(client, to_quinn, quinn, "official_alerts")
    # A third entry that still disagrees, and a correction that settles it, send nothing more.
    paper.enter_sheet(quinn, district.id, "Town hall", 7, [projects[0].id, projects[1].id])
    paper.correct_entry(pieter, district.id, "Town hall", 7, [projects[0].id])
    assert len(_outbox(template="paper_disagreement")) == 2


def test_every_disagreeing_sheet_of_a_burst_sends_one_email_per_sheet_and_agreeing_ones_none(app, polling):
    cycle, district, projects, (olga, pieter, quinn) = polling
    for number in range(1, 6):
        paper.enter_sheet(olga, district.id, "School", number, [projects[0].id])
        paper.enter_sheet(pieter, district.id, "School", number, [projects[number % 2].id])
    disagreeing = [number for number in range(1, 6) if number % 2 == 1]
    assert len(_outbox(recipient=quinn.email)) == len(disagreeing)
    assert len(_outbox(recipient=olga.email)) == len(disagreeing) and _outbox(recipient=pieter.email) == []


@pytest.fixture
def counted(polling, make_user, verify):
    cycle, district, projects, officials = polling
    voter = make_user()
    verify(voter, district)
    voting.cast_ballot(voter, cycle.id, district.id, [projects[0].id])
    close_voting(cycle)
    db.session.execute(OutboxMessage.__table__.delete())
    db.session.commit()
    return cycle, officials


def test_a_stored_count_asks_every_other_official_then_the_first_approval_asks_the_rest(app, smtp, client, counted):
    cycle, (olga, pieter, quinn) = counted
    tallying.run_tally(olga, cycle.id)
    assert _recipients("count_waiting") == sorted([pieter.email, quinn.email])
    deliver_mail()
    received = smtp.last_to(pieter.email)
    assert _subject(received) == "The count of Budget 2027 waits for your approval"
    assert "Olga counted the votes of Budget 2027" in text_of(received)
    page = _follow(client, pieter, _link(received, f"/admin/cycles/{cycle.id}/approve-results"))
    assert "Approve" in page
    _unsubscribe_works(client, received, pieter, "official_alerts")

    publication.approve_results(quinn, cycle.id)
    second_round = [m for m in _outbox(template="count_waiting") if "Quinn approved" in m.body_text]
    assert sorted(m.recipient for m in second_round) == [olga.email]  # Pieter turned these off; Quinn approved
    publication.approve_results(olga, cycle.id)
    assert len(_outbox(template="count_waiting")) == 3  # two approvals: nobody is waited for any more


def test_officials_are_mailed_in_their_language(app, counted):
    cycle, (olga, pieter, quinn) = counted
    pieter.locale = "es"
    db.session.commit()
    tallying.run_tally(olga, cycle.id)
    by_recipient = {m.recipient: m for m in _outbox(template="count_waiting")}
    assert by_recipient[pieter.email].locale == "es" and '<html lang="es">' in by_recipient[pieter.email].body_html
    assert by_recipient[quinn.email].locale == "en" and "Hello Quinn," in by_recipient[quinn.email].body_text
    assert json.loads(by_recipient[quinn.email].headers)["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
