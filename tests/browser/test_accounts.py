"""Accounts in a real browser, with the mail going through a real SMTP server: forgetting the password and resetting
it; registering, confirming and proposing; downloading one's data and deleting the account.

The server (gunicorn) writes each email to the outbox; the test delivers it as the worker does (`deliver_due`) to an
aiosmtpd server it started, reads the link in it, and follows it in the browser. Every page on the way is checked by
`Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

import json
import pathlib

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Proposal, User
from tests.conftest import PASSWORD, deliver_mail, links_in


def _delivered_link(smtp, address: str, start: str) -> str:
    db.session.rollback()  # see what the server wrote
    report = deliver_mail()
    assert report.sent >= 1, report
    found = [link for link in links_in(smtp.last_to(address)) if link.startswith(start)]
    assert found, links_in(smtp.last_to(address))
    return found[0]


def test_forgot_password_reset_it_and_log_in(visit, smtp, make_user):
    rita = make_user(email="rita@city.example", name="Rita Resident")
    tab = visit("resident")
    page = tab.page
    tab.goto("/login")
    tab.click(page.get_by_role("link", name="Forgot your password?"))
    page.get_by_label("Email").fill("rita@city.example")
    tab.click(page.get_by_role("button", name="Send the link"))
    assert "If rita@city.example belongs to an account" in page.get_by_role("main").inner_text()

    tab.goto(_delivered_link(smtp, rita.email, "/reset-password/"))
    page.get_by_label("New password (at least 10 characters)").fill("a-fresh-long-secret")
    page.get_by_label("Repeat the new password").fill("a-fresh-long-secret")
    tab.click(page.get_by_role("button", name="Save the new password"))
    assert "Your password is changed" in tab.messages()

    tab.page.get_by_label("Email").fill("rita@city.example")
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.click(page.get_by_role("button", name="Log in"))
    assert "/login" in page.url  # the old password no longer works
    tab.login("rita@city.example", "a-fresh-long-secret")
    assert "rita@city.example" in page.get_by_role("navigation", name="Main").inner_text()
    deliver_mail()
    assert smtp.last_to(rita.email)["Subject"] == "Your pb password was changed"


def test_register_confirm_and_propose(visit, smtp, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS, districts=(("Northside", 100_000),), name="Riverside 2027")
    cycle_id = cycle.id
    tab = visit("newcomer")
    page = tab.page
    tab.goto("/")
    tab.click(page.get_by_role("link", name="Create an account"))
    page.get_by_label("Your name").fill("Nora Newcomer")
    page.get_by_label("Email").fill("nora@city.example")
    page.get_by_label("Password (at least 10 characters)").fill("a-long-password")
    page.get_by_label("Repeat the password").fill("a-long-password")
    tab.click(page.get_by_role("button", name="Create the account"))
    assert "We sent an email to nora@city.example" in page.get_by_role("main").inner_text()

    # Logged in before confirming, she is told why she cannot propose yet, and how to get the email again.
    tab.login("nora@city.example", "a-long-password")
    assert "Send the confirmation email again" in page.get_by_role("main").inner_text()
    tab.click(page.get_by_role("button", name="Send the confirmation email again"))
    assert "We sent the confirmation email again" in tab.messages()

    tab.goto(_delivered_link(smtp, "nora@city.example", "/confirm/"))
    assert "your email address is confirmed" in tab.messages()
    tab.goto(f"/cycles/{cycle_id}/proposals/new")
    page.get_by_label("Title").fill("Benches by the river")
    page.get_by_label("Summary (one or two sentences)").fill("Ten benches along the river path.")
    page.get_by_label("Description").fill("Oak benches, every 100 metres.")
    page.get_by_label("Estimated cost").fill("300")
    tab.click(page.get_by_role("button", name="Submit the proposal"))
    db.session.rollback()
    proposal = db.session.scalar(select(Proposal).where(Proposal.title == "Benches by the river"))
    assert proposal is not None and proposal.author.email == "nora@city.example"


def test_download_my_data_then_delete_my_account(visit, smtp, make_user, make_cycle, make_proposal):
    cycle = make_cycle(Phase.PROPOSALS, name="Riverside 2027")
    rita = make_user(email="rita@city.example", name="Rita Resident")
    make_proposal(cycle, author=rita, title="Street trees")
    rita_id = rita.id
    tab = visit("resident")
    page = tab.page
    tab.login("rita@city.example", PASSWORD)
    tab.click(page.get_by_role("link", name="Profile"))
    with page.expect_download() as event:
        page.get_by_role("link", name="Download my data").click()
    data = json.loads(pathlib.Path(event.value.path()).read_text())
    assert data["account"]["email"] == "rita@city.example"
    assert [p["title"] for p in data["proposals"]] == ["Street trees"]
    assert "ballot_choices" in data

    tab.click(page.get_by_role("link", name="Delete my account"))
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("I understand").check()
    tab.click(page.get_by_role("button", name="Delete my account"))
    assert "Your account is deleted" in tab.messages()
    db.session.rollback()
    assert db.session.get(User, rita_id).deleted_at is not None

    tab.goto("/login")
    page.get_by_label("Email").fill("rita@city.example")
    page.get_by_label("Password").fill(PASSWORD)
    tab.click(page.get_by_role("button", name="Log in"))
    assert "The email address or the password is not right." in tab.messages()
    tab.goto("/privacy")
