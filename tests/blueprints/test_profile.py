"""The profile: name, language and email choices; downloading one's data; deleting the account; the privacy page."""

import json

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import DomainError
from pb.extensions import db
from pb.models import (
    AuditEntry,
    OutboxMessage,
    Participation,
    Proposal,
    ProposalStatus,
    Role,
    SiteText,
    User,
    Verification,
    VerificationAttempt,
    VerificationRequest,
)
from pb.domain.errors import PermissionDenied
from pb.services import accounts, mail, use_case, verification, voting
from tests.conftest import PASSWORD


def _fresh(user: User) -> User:
    db.session.expire_all()
    return db.session.get(User, user.id)


# --- the profile page ----------------------------------------------------------------------------------------------


def test_the_header_links_the_profile_which_shows_the_choices_of_the_persons_role(client, make_user):
    resident = make_user()
    client.login(resident)
    page = client.get("/").get_data(as_text=True)
    assert 'href="/profile"' in page
    page = client.get("/profile").get_data(as_text=True)
    assert "Account and security messages (always sent)" in page and "disabled" in page
    assert 'value="voting_opens"' in page and 'value="official_alerts"' not in page
    assert 'value="moderation_digest"' not in page
    assert 'href="/account/password"' in page and 'href="/profile/my-data.json"' in page
    official = make_user(Role.OFFICIAL)
    other = client.application.test_client()
    other.login(official)
    page = other.get("/profile").get_data(as_text=True)
    assert 'value="official_alerts"' in page and 'value="moderation_digest"' in page


def test_the_profile_needs_a_login(client):
    assert client.get("/profile").status_code == 302
    assert client.get("/profile/my-data.json").status_code == 302
    assert client.get("/profile/delete").status_code == 302


def test_saving_the_profile_stores_name_language_and_choices_and_keeps_hidden_kinds(client, make_user):
    resident = make_user(muted_notifications="official_alerts")  # from when they were an official, say
    client.login(resident)
    response = client.submit("/profile", {"name": "  Rita   Resident ", "locale": "es",
                                          "wanted": ["proposals", "results"]})
    assert response.status_code == 302
    stored = _fresh(resident)
    assert (stored.name, stored.locale) == ("Rita Resident", "es")
    assert stored.muted_notifications == "followed_proposals voting_opens voting_reminder official_alerts"
    assert 'lang="es"' in client.get("/profile").get_data(as_text=True)  # the page follows the profile's language
    client.set_cookie("pb_language", "pl", domain="pb.test")
    assert '<html lang="pl">' in client.get("/profile").get_data(as_text=True)  # the switch still wins
    audit = db.session.scalar(select(AuditEntry.after).where(AuditEntry.action == "update-profile"))
    assert "Rita" not in audit


def test_mail_follows_the_profile_choices(app, client, make_user):
    resident = make_user()
    client.login(resident)
    client.submit("/profile", {"name": resident.name, "locale": "pl", "wanted": ["results"]})

    @use_case
    def send(kind):
        return mail.notify(db.session.get(User, resident.id), kind, "test_message", where="the tests")

    assert send("voting_opens") is None
    message = send("results")
    assert message.locale == "pl"


@pytest.mark.parametrize("data", [
    {"name": "", "locale": "", "wanted": []},
    {"name": "x" * 121, "locale": ""},
    {"name": "Rita", "locale": "de"},
    {"name": "Rita", "locale": "", "wanted": ["nonsense"]},
    {"name": "Rita", "locale": "", "wanted": ["security"]},
    {"name": "   ", "locale": "en"},
])
def test_bad_profile_input_is_refused_and_changes_nothing(client, make_user, data):
    resident = make_user(name="Before")
    client.login(resident)
    response = client.submit("/profile", data)
    assert response.status_code == 400
    stored = _fresh(resident)
    assert (stored.name, stored.locale, stored.muted_notifications) == ("Before", None, "")


# --- download my data ----------------------------------------------------------------------------------------------


def test_download_my_data_is_a_json_attachment_of_everything_linked_to_the_person(client, make_user, make_cycle,
                                                                                  make_proposal, verify):
    cycle = make_cycle(Phase.VOTING)
    resident = make_user(locale="es")
    proposal = make_proposal(cycle, author=resident, title="Trees on Elm Street")
    verify(resident, cycle.districts[0])
    db.session.add(Participation(user_id=resident.id, cycle_id=cycle.id, district_id=cycle.districts[0].id))
    db.session.add(VerificationRequest(cycle_id=cycle.id, user_id=resident.id, district_id=cycle.districts[1].id,
                                       note="My lease is attached.", status="declined", reason="Unreadable scan."))
    db.session.commit()
    client.login(resident)
    response = client.get("/profile/my-data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    data = json.loads(response.get_data(as_text=True))
    assert data["account"]["email"] == resident.email and data["account"]["language"] == "es"
    assert "password_hash" not in json.dumps(data) and resident.password_hash not in json.dumps(data)
    assert "se sella" in data["ballot_choices"]  # the explanation, in the person's language
    assert [p["title"] for p in data["proposals"]] == ["Trees on Elm Street"]
    assert data["proposals"][0]["description"] == proposal.description
    [held] = data["verifications"]
    assert (held["district"], held["verified_by"]) == (cycle.districts[0].name, "official")
    assert len(data["paper_participation"]) == 1
    [asked] = data["verification_requests"]
    assert (asked["note"], asked["status"], asked["reason"]) == ("My lease is attached.", "declined", "Unreadable scan.")
    page = client.get("/profile").get_data(as_text=True)
    assert "no están incluidas, porque pb no puede conocerlas" in page  # the profile page, in Spanish


def test_download_my_data_covers_every_table_that_points_to_an_account():
    # Each users.id foreign key in the models must be read by personal_data: a new one fails this test until it is.
    import inspect

    from pb.extensions import db as database

    source = inspect.getsource(accounts.personal_data)
    for table in database.metadata.sorted_tables:
        for column in table.columns:
            if any(key.column.table.name == "users" for key in column.foreign_keys):
                model = next(mapper.class_ for mapper in database.Model.registry.mappers
                             if mapper.local_table is table)
                if column.name == "pending_user_id":
                    continue  # the same person as user_id while a request waits
                assert f"{model.__name__}.{column.name}" in source, f"{table.name}.{column.name} is not exported"


# --- delete my account ---------------------------------------------------------------------------------------------


def test_deleting_the_account_anonymises_it_keeps_what_cycles_need_and_frees_the_address(
        app, client, make_user, make_cycle, make_proposal, verify):
    running = make_cycle(Phase.REVIEW)
    finished = make_cycle(Phase.CLOSED)
    resident = make_user(email="rita@example.org", name="Rita", locale="pl", muted_notifications="results")
    on_ballot = make_proposal(finished, author=resident, status=ProposalStatus.ACCEPTED)
    waiting = make_proposal(running, author=resident, status=ProposalStatus.SUBMITTED)
    old_rejected = make_proposal(finished, author=resident, status=ProposalStatus.REJECTED)
    verified = verify(resident, running.districts[0])
    on_ballot_id, waiting_id, old_rejected_id, verified_id = on_ballot.id, waiting.id, old_rejected.id, verified.id
    db.session.add(VerificationAttempt(user_id=resident.id, cycle_id=running.id, address_hash="x", method="code"))
    db.session.add(VerificationRequest(cycle_id=running.id, user_id=resident.id, district_id=running.districts[0].id,
                                       note="I moved here in May; my lease is attached."))
    db.session.commit()

    @use_case
    def queue():
        mail.notify(db.session.get(User, resident.id), "security", "test_message", where="here")

    queue()
    client.login(resident)
    assert client.get("/profile/delete").status_code == 200
    refused = client.submit("/profile/delete", {"password": "wrong-password", "confirm": "y"})
    assert refused.status_code == 400 and _fresh(resident).deleted_at is None
    assert client.submit("/profile/delete", {"password": PASSWORD}).status_code == 400  # not ticked
    response = client.submit("/profile/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 302
    stored = _fresh(resident)
    assert stored.deleted_at is not None and stored.name == "a former resident"
    assert stored.email.startswith("deleted-") and stored.email.endswith("@invalid")
    assert (stored.locale, stored.muted_notifications, stored.is_enabled) == (None, "", False)
    assert db.session.get(Proposal, on_ballot_id).author_id == stored.id
    assert db.session.get(Proposal, waiting_id).status is ProposalStatus.WITHDRAWN
    assert db.session.get(Proposal, old_rejected_id) is None
    assert db.session.get(Verification, verified_id) is not None
    assert db.session.scalar(select(func.count()).select_from(VerificationAttempt)) == 0
    assert db.session.scalar(select(func.count()).select_from(VerificationRequest)) == 0  # the note went with them
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert client.get("/profile").status_code == 302  # logged out
    assert client.submit("/login", {"email": "rita@example.org", "password": PASSWORD}).status_code == 400
    page = client.get(f"/proposals/{on_ballot_id}").get_data(as_text=True)
    assert "a former resident" in page and "Rita" not in page
    delete_entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "delete-account"))
    assert "rita" not in (delete_entry.after + delete_entry.before).lower()
    # The address may register again, as a new account.
    again = client.submit("/register", {"name": "Rita", "email": "rita@example.org", "password": "long-enough-pw",
                                        "confirm": "long-enough-pw"})
    assert again.status_code == 200
    assert db.session.scalar(select(func.count()).select_from(User).where(User.email == "rita@example.org")) == 1


def test_an_official_cannot_delete_their_own_account_while_an_official(client, make_user):
    official = make_user(Role.OFFICIAL)
    client.login(official)
    response = client.submit("/profile/delete", {"password": PASSWORD, "confirm": "y"})
    assert response.status_code == 400 and "ask another official" in response.get_data(as_text=True)
    assert _fresh(official).deleted_at is None


def test_a_deleted_account_gets_no_mail_no_login_and_no_reset(app, client, make_user):
    resident = make_user(email="gone@example.org")
    accounts.delete_account(resident, PASSWORD)
    stored = _fresh(resident)
    assert client.submit("/forgot-password", {"email": "gone@example.org"}).status_code == 200
    assert client.submit("/forgot-password", {"email": stored.email}).status_code == 200
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    with pytest.raises(DomainError):
        accounts.reset_password(accounts.reset_token(stored), "a-brand-new-secret")


# --- confirmation gates on verification ----------------------------------------------------------------------------


def test_an_unconfirmed_resident_cannot_be_verified_by_a_moderator_or_verify_themself(app, make_user, make_cycle):
    cycle = make_cycle(Phase.PROPOSALS)
    moderator = make_user(Role.MODERATOR)
    resident = make_user(email_confirmed_at=None)
    with pytest.raises(PermissionDenied, match="has not confirmed their email address"):
        voting.verify_resident(moderator, resident.id, cycle.districts[0].id)
    with pytest.raises(PermissionDenied, match="Confirm your email address first"):
        verification.verify_with_code(resident, cycle.id, "ABCD-EFGH-JKMN", "203.0.113.9")
    assert db.session.scalar(select(func.count()).select_from(Verification)) == 0
    assert db.session.scalar(select(func.count()).select_from(VerificationAttempt)) == 0


# --- privacy page --------------------------------------------------------------------------------------------------


def test_the_privacy_page_shows_the_default_until_an_official_writes_one_which_is_audited(client, make_user):
    page = client.get("/privacy").get_data(as_text=True)
    assert "What pb stores" in page and "How you voted" in page
    assert 'href="/privacy"' in client.get("/").get_data(as_text=True)
    official = make_user(Role.OFFICIAL)
    client.login(official)
    assert client.get("/admin/privacy").status_code == 200
    response = client.submit("/admin/privacy", {"text": "First paragraph.\n\nSecond <b>paragraph</b>."})
    assert response.status_code == 302
    page = client.get("/privacy").get_data(as_text=True)
    assert "<p>First paragraph.</p>" in page and "&lt;b&gt;" in page and "What pb stores" not in page
    row = db.session.get(SiteText, "privacy")
    assert row.updated_by_id == official.id
    assert db.session.scalar(select(AuditEntry.action).where(AuditEntry.action == "set-site-text"))
    client.submit("/admin/privacy", {"text": "   "})
    assert "What pb stores" in client.get("/privacy").get_data(as_text=True)


@pytest.mark.parametrize("role", [None, Role.RESIDENT, Role.MODERATOR])
def test_only_officials_edit_the_privacy_page(client, make_user, role):
    if role is not None:
        client.login(make_user(role))
    assert client.get("/admin/privacy").status_code in (302, 403)
    assert client.submit("/admin/privacy", {"text": "Hijacked"}).status_code in (302, 403)
    assert db.session.get(SiteText, "privacy") is None


def test_a_privacy_text_too_long_is_refused(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    assert client.submit("/admin/privacy", {"text": "x" * 20_001}).status_code == 400
    assert db.session.get(SiteText, "privacy") is None

