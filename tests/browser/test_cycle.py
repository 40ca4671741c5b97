"""A whole cycle in a real browser: a resident registers, proposes, is verified, votes, changes the vote and checks the
receipt; a moderator reviews; two officials take the count to published results and download the exports.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight, no foreign request).
"""

import csv
import io
import json
import pathlib
import re

from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Cycle, OutboxMessage, Proposal, ProposalStatus, Role, SealedBallot
from tests.conftest import PASSWORD

_RECEIPT = re.compile(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}")


def _download(tab, link_name: str) -> tuple[str, bytes]:
    with tab.page.expect_download() as event:
        tab.page.get_by_role("link", name=link_name).click()
    download = event.value
    return download.suggested_filename, pathlib.Path(download.path()).read_bytes()


_CONFIRM = {Phase.REVIEW: "Close proposals now", Phase.VOTING: "Open voting now", Phase.TALLYING: "Close voting now",
            Phase.RESULTS: "Publish the results now"}


def _open_confirmation(tab, cycle_id: int, phase: Phase) -> None:
    tab.goto(f"/admin/cycles/{cycle_id}")
    label = "Publish the results…" if phase is Phase.RESULTS else f"Move to: {phase.label.lower()}…"
    tab.click(tab.page.get_by_role("link", name=label))


def _advance(tab, cycle_id: int, phase: Phase, reason: str = "") -> None:
    """Open the step's confirmation page, give the reason it asks for (no dates are published here), confirm."""
    _open_confirmation(tab, cycle_id, phase)
    if reason:
        tab.page.get_by_label("Reason (kept in the audit log and shown on the cycle's public page)").fill(reason)
    tab.click(tab.page.get_by_role("button", name=_CONFIRM[phase]))


def test_a_cycle_from_registration_to_checked_receipt(visit, make_user, make_cycle, make_project):
    official = make_user(Role.OFFICIAL, name="Olga Official")
    second_official = make_user(Role.OFFICIAL, name="Otto Official")
    moderator = make_user(Role.MODERATOR, name="Mona Moderator")
    cycle = make_cycle(Phase.PROPOSALS, districts=(("Northside", 100_000),), name="Riverside 2027")
    make_project(cycle, cost=40_000, title="Plant street trees")
    make_project(cycle, cost=70_000, title="Library garden")
    cycle_id = cycle.id

    # A resident creates an account and proposes a project.
    rita = visit("resident")
    rita.goto("/")
    rita.click(rita.page.get_by_role("link", name="Create an account"))
    rita.page.get_by_label("Your name").fill("Rita Resident")
    rita.page.get_by_label("Email").fill("rita@city.example")
    rita.page.get_by_label("Password (at least 10 characters)").fill("a-long-password")
    rita.page.get_by_label("Repeat the password").fill("a-long-password")
    rita.click(rita.page.get_by_role("button", name="Create the account"))
    assert "We sent an email to rita@city.example" in rita.page.get_by_role("main").inner_text()
    # She follows the link in the confirmation email (read from the outbox here; tests/browser/test_accounts.py
    # sends it through SMTP), then logs in.
    db.session.rollback()
    body = db.session.scalar(select(OutboxMessage.body_text).where(OutboxMessage.recipient == "rita@city.example"))
    rita.goto(re.search(r"https?://[^/\s]+(/confirm/\S+)", body).group(1))
    rita.login("rita@city.example", "a-long-password")
    assert "rita@city.example" in rita.page.get_by_role("navigation", name="Main").inner_text()
    rita.click(rita.page.get_by_role("link", name="Budget cycles"))
    rita.click(rita.page.get_by_role("link", name="Riverside 2027", exact=True))
    rita.click(rita.page.get_by_role("link", name="Propose a project"))
    rita.page.get_by_label("Title").fill("Benches by the river")
    rita.page.get_by_label("Summary (one or two sentences)").fill("Ten benches along the river path.")
    rita.page.get_by_label("Description").fill("Oak benches, every 100 metres.")
    rita.page.get_by_label("Estimated cost").fill("300")
    rita.click(rita.page.get_by_role("button", name="Submit the proposal"))
    benches = db.session.scalar(select(Proposal).where(Proposal.title == "Benches by the river"))
    assert benches.status is ProposalStatus.SUBMITTED and benches.author.email == "rita@city.example"
    rita.click(rita.page.get_by_role("link", name="My proposals"))
    assert "Benches by the river" in rita.page.get_by_role("main").inner_text()

    # An official opens the review; a moderator accepts the proposal at its final cost.
    olga = visit("official")
    olga.login(official.email, PASSWORD)
    _advance(olga, cycle_id, Phase.REVIEW)
    mona = visit("moderator")
    mona.login(moderator.email, PASSWORD)
    mona.click(mona.page.get_by_role("link", name="Moderation", exact=True))
    mona.click(mona.page.get_by_role("link", name="Riverside 2027", exact=True))
    mona.click(mona.page.get_by_role("link", name="Benches by the river"))
    mona.page.get_by_label("Final cost").fill("300")
    mona.click(mona.page.get_by_role("button", name="Accept onto the ballot"))
    db.session.refresh(benches)
    assert benches.status is ProposalStatus.ACCEPTED and benches.final_cost == 30_000

    # Voting opens; the moderator verifies Rita for Northside after checking her documents.
    _advance(olga, cycle_id, Phase.VOTING, reason="This pilot publishes no dates.")
    mona.click(mona.page.get_by_role("link", name="Moderation", exact=True))
    mona.click(mona.page.get_by_role("link", name="Verify residents"))
    mona.page.get_by_label("Name or email").fill("Rita")
    mona.click(mona.page.get_by_role("button", name="Search"))
    mona.page.get_by_label("District for Rita Resident").select_option(label="Northside")
    mona.click(mona.page.get_by_role("button", name="Verify"))
    assert "Northside" in mona.page.get_by_role("table").inner_text()

    # Rita sees she may vote now; she votes, then changes her ballot, getting a new receipt that replaces the first.
    rita.goto(f"/cycles/{cycle_id}/verify")
    assert "Northside" in rita.page.get_by_role("main").inner_text()
    rita.goto(f"/cycles/{cycle_id}")
    rita.click(rita.page.get_by_role("link", name="Vote", exact=True))
    rita.click(rita.page.get_by_role("link", name="Vote", exact=True))
    rita.page.get_by_label("Benches by the river").check()
    rita.page.get_by_label("Plant street trees").check()
    assert "Left: 300 EUR" in rita.page.locator("#running-total").inner_text().replace("\xa0", " ")
    rita.click(rita.page.get_by_role("button", name="Cast my ballot"))
    assert "Your ballot is saved" in rita.messages()
    first_receipt = rita.page.locator(".receipt-code").inner_text()
    assert _RECEIPT.fullmatch(first_receipt)
    rita.page.get_by_label("Plant street trees").uncheck()
    rita.page.get_by_label("Library garden").check()
    rita.click(rita.page.get_by_role("button", name="Change my ballot"))
    assert "Only this new ballot counts" in rita.messages()
    receipt = rita.page.locator(".receipt-code").inner_text()
    assert _RECEIPT.fullmatch(receipt) and receipt != first_receipt
    assert rita.page.get_by_label("Library garden").is_checked()
    assert not rita.page.get_by_label("Plant street trees").is_checked()
    assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == 1  # sealed until voting closes

    # The officials count, approve with four eyes, and publish.
    _advance(olga, cycle_id, Phase.TALLYING, reason="This pilot publishes no dates.")
    olga.click(olga.page.get_by_role("button", name="Count the votes"))
    olga.click(olga.page.get_by_role("link", name="Check the totals and approve the count"))
    olga.click(olga.page.get_by_role("button", name="I have checked these figures: approve the count"))
    _open_confirmation(olga, cycle_id, Phase.RESULTS)
    assert "1 of 2 have approved it" in olga.page.content()
    db.session.rollback()  # read what the server stored, not what this session loaded earlier
    assert db.session.get(Cycle, cycle_id).phase is Phase.TALLYING
    otto = visit("second-official")
    otto.login(second_official.email, PASSWORD)
    otto.goto(f"/admin/cycles/{cycle_id}")
    otto.click(otto.page.get_by_role("link", name="Check the totals and approve the count"))
    otto.click(otto.page.get_by_role("button", name="I have checked these figures: approve the count"))
    assert "Two officials have approved it" in otto.messages()
    _advance(olga, cycle_id, Phase.RESULTS)
    db.session.rollback()
    assert db.session.get(Cycle, cycle_id).phase is Phase.RESULTS

    # The official reads the results and the audit log, and downloads the exports.
    olga.goto(f"/admin/cycles/{cycle_id}/audit")
    olga.goto("/admin/audit?event=advance-phase")  # every cycle's log, filtered: the entries read as sentences
    assert "moved the cycle" in olga.page.content()
    olga.goto("/admin/")
    olga.goto(f"/cycles/{cycle_id}")
    olga.click(olga.page.get_by_role("link", name="See the results"))
    filename, body = _download(olga, "Download the results (CSV)")
    assert filename.endswith(".csv")
    funded = {row["title"]: row["funded"] for row in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert funded == {"Benches by the river": "yes", "Library garden": "yes", "Plant street trees": "no"}
    olga.page.locator("details.cycle-charts > summary").click()  # the exact figures sit with the re-count details
    filename, body = _download(olga, "Download the results with the exact figures (JSON)")
    assert filename.endswith(".json") and "Library garden" in json.dumps(json.loads(body), ensure_ascii=False)
    filename, body = _download(olga, "Printable report (PDF)")
    assert filename.endswith(".pdf") and body.startswith(b"%PDF")
    olga.page.locator("details.check-count > summary").first.click()  # "Check the count yourself"
    filename, body = _download(olga, "Download Northside as a pabulib file (.pb)")
    assert filename.endswith(".pb") and body.decode().startswith("META")

    # Rita checks her receipt: the new one shows her choices, the replaced one is not among the counted ballots.
    rita.goto(f"/cycles/{cycle_id}/results/{benches.district_id}")
    rita.goto(f"/cycles/{cycle_id}/results")
    rita.click(rita.page.get_by_role("link", name="Check your receipt"))
    rita.page.get_by_label("Receipt code").fill(receipt)
    rita.click(rita.page.get_by_role("button", name="Check"))
    counted = rita.page.locator("section", has=rita.page.get_by_role("heading", name="This ballot was counted"))
    assert sorted(counted.get_by_role("listitem").all_inner_texts()) == ["Benches by the river", "Library garden"]
    rita.page.get_by_label("Receipt code").fill(first_receipt)
    rita.click(rita.page.get_by_role("button", name="Check"))
    assert rita.page.get_by_role("alert").is_visible()
    assert not rita.page.get_by_role("heading", name="This ballot was counted").count()
