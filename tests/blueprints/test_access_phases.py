"""Every route × every role × every phase gets its expected answer; the routes come from the app's URL map.

tests/blueprints/test_access.py checks who may use a route in one phase. This adds the phase and tells a verified
resident from one who is not: one world per phase (worlds.build_world), each role asks every page with GET, and
every POST that should be refused is sent with a valid submission and must change nothing.
"""

import io
import pathlib
import shutil
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import MultiDict

from pb import create_app
from pb.domain.cycle import Phase
from pb.extensions import db, limiter
from tests.blueprints.test_access import ROUTES
from tests.blueprints.test_bad_input import database_state
from tests.blueprints.worlds import ROLES, build_world, fill, log_in, url_values, valid_submission
from tests.conftest import _FAST_DISK, PbClient, _sqlite_template

P = Phase
# Who may use a route.
PUBLIC, ANONYMOUS, LOGIN, AUTHOR, VERIFIED, MODERATOR, OFFICIAL = (
    "public", "anonymous only", "logged in", "the proposal's author", "verified in the district", "moderator",
    "official",
)
# The proposal's author while it may be edited, or a moderator at any time (a proposal's photos and documents).
EDITOR = "the proposal's author or a moderator"
# The answers, as read from a response: a page, a redirect to the login, a refusal (redirect with an error
# message), another redirect, or an error status.
OK, TO_LOGIN, REFUSED, REDIRECT = "page", "login", "refused", "redirect"
# How a draft cycle shows: visible_cycle() hides it from all but officials; the open-data API from everyone.
HIDDEN, HIDDEN_FROM_ALL = "hidden", "hidden from all"

ALL = frozenset(Phase)
PROPOSING = frozenset({P.PROPOSALS})
SUPPORTING = frozenset({P.SUPPORTS})
REVIEWING = frozenset({P.REVIEW})
VOTING = frozenset({P.VOTING})
PAPER = frozenset({P.VOTING, P.TALLYING})  # paper sheets and voters are typed in until the count
SELF_VERIFYING = frozenset({P.PROPOSALS, P.SUPPORTS, P.REVIEW, P.VOTING})
REGISTER = frozenset({P.DRAFT, P.PROPOSALS, P.SUPPORTS, P.REVIEW, P.VOTING})  # register and codes change until voting closes
SETUP = frozenset({P.DRAFT})
COUNTING = frozenset({P.TALLYING})
TURNOUT = frozenset({P.VOTING, P.TALLYING, P.RESULTS, P.CLOSED})
PUBLISHED = frozenset({P.RESULTS, P.CLOSED})
COMMENTING = ALL - {P.DRAFT, P.CLOSED}  # the worlds' cycles keep comments open after the proposal phase
PUBLIC_PHASES = ALL - {P.DRAFT}


@dataclass(frozen=True)
class Rule:
    who: str
    phases: frozenset = ALL  # where the route does its work
    outside: object = REFUSED  # the answer in the other phases
    draft: str | None = None
    ok: object = OK  # the answer where it does its work (for a POST: where it is not sent)


R = Rule
RULES = {
    "public.home": R(PUBLIC),
    "identity.edit": R(OFFICIAL),
    "identity.logo": R(PUBLIC, ok=404),  # the worlds have no logo
    "identity.favicon": R(PUBLIC),
    "identity.stylesheet": R(PUBLIC),
    "public.cycle": R(PUBLIC, draft=HIDDEN),
    "public.proposal_list": R(PUBLIC, draft=HIDDEN),
    "public.proposal": R(PUBLIC, draft=HIDDEN),
    "public.accessibility": R(PUBLIC),
    "public.how_voting_works": R(PUBLIC),
    "language.choose": R(PUBLIC, ok=REDIRECT),
    "auth.login": R(PUBLIC),
    "auth.register": R(ANONYMOUS),
    "auth.logout": R(LOGIN),
    "auth.change_password": R(LOGIN),
    "auth.confirm_email": R(PUBLIC, ok=400),  # the worlds hold no valid confirmation link
    "auth.forgot_password": R(PUBLIC),
    "auth.resend_confirmation": R(LOGIN),
    "auth.reset_password": R(PUBLIC),
    "profile.show": R(LOGIN),
    "profile.change_email": R(LOGIN),
    "profile.confirm_email_change": R(PUBLIC, ok=400),  # nor a valid address change link
    "profile.download": R(LOGIN),
    "profile.delete": R(LOGIN),
    "privacy.show": R(PUBLIC),
    "privacy.edit": R(OFFICIAL),
    "notifications.unsubscribe": R(PUBLIC, ok=400),
    "notifications.unsubscribe_confirmed": R(PUBLIC),
    "admin.mail": R(OFFICIAL),
    "admin.retry_mail": R(OFFICIAL),
    "admin.retry_all_mail": R(OFFICIAL),
    "proposals.new": R(LOGIN, PROPOSING, draft=HIDDEN),
    "proposals.edit": R(AUTHOR, PROPOSING),
    "proposals.withdraw": R(AUTHOR, PROPOSING | SUPPORTING | REVIEWING),
    "proposals.mine": R(LOGIN),
    "voting.districts": R(LOGIN, VOTING, draft=HIDDEN),
    "voting.ballot": R(VERIFIED, VOTING, draft=HIDDEN),
    "verification.status": R(LOGIN, draft=HIDDEN),
    "verification.with_register": R(LOGIN, SELF_VERIFYING, draft=HIDDEN),
    "verification.with_code": R(LOGIN, SELF_VERIFYING, draft=HIDDEN),
    "verification.register": R(OFFICIAL),
    "verification.upload_register": R(OFFICIAL, REGISTER, outside=400),  # the upload form again, with the reason
    "verification.confirm_register": R(OFFICIAL, REGISTER),
    "verification.discard_upload": R(OFFICIAL, REGISTER),
    "verification.lockouts": R(OFFICIAL),
    "verification.lift_lockout": R(OFFICIAL, ok=REFUSED),  # the world's newcomer is not locked out
    "verification.codes": R(OFFICIAL),
    "verification.generate_codes": R(OFFICIAL, REGISTER),
    "verification.void_code": R(OFFICIAL, REGISTER),
    # A batch's codes are shown and printed while codes can be made; after voting closes they verify no one.
    "verification.code_batch": R(OFFICIAL, REGISTER),
    "verification.code_batch_csv": R(OFFICIAL, REGISTER),
    "verification.code_batch_letters": R(OFFICIAL, REGISTER),
    "verification.forget_code_batch": R(OFFICIAL, REGISTER),
    "paper.overview": R(OFFICIAL, PAPER),
    "paper.enter_sheet": R(OFFICIAL, PAPER),
    "paper.correct_sheet": R(OFFICIAL, PAPER, ok=REFUSED),  # GET: the official has no entry of the sheet yet
    "paper.voters": R(OFFICIAL, PAPER),
    "paper.undo_voter": R(OFFICIAL, PAPER),
    "results.show": R(PUBLIC, PUBLISHED, draft=HIDDEN),
    "results.district": R(PUBLIC, PUBLISHED, draft=HIDDEN),
    "results.revisions_list": R(PUBLIC, PUBLISHED, draft=HIDDEN),
    "results.revision": R(PUBLIC, PUBLISHED, draft=HIDDEN),
    "results.chart": R(PUBLIC, TURNOUT, outside=409, draft=HIDDEN),  # the turnout chart
    "results.votes_chart": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN),
    "results.ballot_list": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN),
    "results.ballot_list_pabulib": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN),
    "results.receipt": R(PUBLIC, draft=HIDDEN),  # the empty look-up form
    "results.export_csv": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN),  # anyone, once published
    "results.export_json": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN),
    "results.export_pabulib": R(OFFICIAL, PUBLISHED, outside=409),
    "results.export_pdf": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN),
    "moderation.index": R(MODERATOR),
    "moderation.queue": R(MODERATOR, draft=HIDDEN),
    "moderation.review": R(MODERATOR),
    "moderation.accept": R(MODERATOR, REVIEWING),
    "moderation.reject": R(MODERATOR, REVIEWING),
    "moderation.request_changes": R(MODERATOR, REVIEWING),
    "moderation.merge": R(MODERATOR, REVIEWING),
    "moderation.residents": R(MODERATOR, draft=HIDDEN),
    "moderation.revoke": R(MODERATOR, SELF_VERIFYING, draft=HIDDEN),
    # Undo only while the review lasts; the world's pending proposal has no decision to undo, so it is refused then too.
    "moderation.undo": R(MODERATOR, REVIEWING, ok=REFUSED),
    "verification_requests.ask": R(LOGIN, draft=HIDDEN),  # the page says what became of one's request in any phase
    "verification_requests.cancel": R(AUTHOR, draft=HIDDEN),  # the world's open request is the resident's
    "verification_requests.queue": R(MODERATOR, draft=HIDDEN),
    # The world's requester is verified already, so verifying them is refused, and outside the phases too.
    "verification_requests.verify": R(MODERATOR, ok=REFUSED),
    "verification_requests.decline": R(MODERATOR),  # a request can be declined at any time, to clear the queue
    "admin.index": R(OFFICIAL),
    "admin.new_cycle": R(OFFICIAL),
    "admin.cycle": R(OFFICIAL),
    "admin.settings": R(OFFICIAL, SETUP),
    "admin.add_district": R(OFFICIAL, SETUP),
    "admin.remove_district": R(OFFICIAL, SETUP),
    "admin.add_category": R(OFFICIAL, SETUP),
    "admin.advance": R(OFFICIAL, ALL - {P.CLOSED}),
    "admin.tally": R(OFFICIAL, COUNTING),
    "admin.audit_log": R(OFFICIAL),
    "admin.audit_all": R(OFFICIAL),
    "admin.audit_csv": R(OFFICIAL),
    "admin.audit_all_csv": R(OFFICIAL),
    "admin.proposals_csv": R(OFFICIAL),
    "admin.change_district_budget": R(OFFICIAL, SETUP),
    "admin.remove_category": R(OFFICIAL, SETUP, ok=REFUSED),  # the worlds' proposals use their one category
    "admin.user_list": R(OFFICIAL),
    "admin.change_role": R(OFFICIAL),
    "admin.disable_user": R(OFFICIAL),
    "admin.enable_user": R(OFFICIAL),
    "admin.approve_role_change": R(OFFICIAL, ok=REFUSED),  # no change is waiting in the worlds
    "admin.cancel_role_change": R(OFFICIAL, ok=REFUSED),
    "publication.review_count": R(OFFICIAL, COUNTING),
    "dashboard.show": R(OFFICIAL),
    "publication.approve": R(OFFICIAL, COUNTING),
    "publication.propose_correction": R(OFFICIAL, PUBLISHED),
    "publication.approve_correction": R(OFFICIAL, ok=REFUSED),  # revision 1 is published, not waiting
    "publication.cancel_correction": R(OFFICIAL, ok=REFUSED),
    "implementation.overview": R(PUBLIC, PUBLISHED, draft=HIDDEN),
    "implementation.edit": R(OFFICIAL, PUBLISHED),
    "implementation.post_update": R(OFFICIAL, PUBLISHED),
    "api.index": R(PUBLIC),
    "api.openapi": R(PUBLIC),
    "api.cycles": R(PUBLIC),
    "api.cycle": R(PUBLIC, draft=HIDDEN_FROM_ALL),
    "api.projects": R(PUBLIC, draft=HIDDEN_FROM_ALL),
    "api.project": R(PUBLIC, draft=HIDDEN_FROM_ALL),
    "api.results": R(PUBLIC, PUBLISHED, outside=409, draft=HIDDEN_FROM_ALL),
    "api.unknown": R(PUBLIC, ok=404),
    "media.manage": R(EDITOR, PROPOSING, draft=HIDDEN),
    "media.add_photo": R(EDITOR, PROPOSING, draft=HIDDEN),
    "media.add_document": R(EDITOR, PROPOSING, draft=HIDDEN),
    # The worlds hold no photo or document: "there is no such photo" for everyone allowed to ask.
    "media.remove_photo": R(LOGIN, ok=REFUSED),
    "media.move_photo": R(LOGIN, ok=REFUSED),
    "media.remove_document": R(LOGIN, ok=REFUSED),
    "media.photo": R(PUBLIC, ok=404),
    "media.document": R(PUBLIC, ok=404),
    "places.ballot_map": R(PUBLIC, draft=HIDDEN),
    "places.results_map": R(PUBLIC, PUBLISHED, draft=HIDDEN),
    "places.boundaries": R(OFFICIAL),  # boundaries help in every phase (maps of results too); each upload is audited
    "places.remove_boundary": R(OFFICIAL, ok=REFUSED),  # the worlds' districts have no boundary to remove
    "comments.post": R(LOGIN, COMMENTING, draft=HIDDEN),
    "comments.edit": R(AUTHOR, COMMENTING),  # the world's comment is the resident's
    "comments.delete": R(AUTHOR),  # at any time
    "comments.flag": R(LOGIN, PUBLIC_PHASES),
    "comments.queue": R(MODERATOR),
    "comments.hide": R(MODERATOR),
    "comments.dismiss": R(MODERATOR, ok=REFUSED),  # the world's comment has no open flag
    "comments.follow": R(LOGIN, PUBLIC_PHASES),
    "comments.unfollow": R(LOGIN),
    # The world's cycle has the supports phase; only a resident verified in the proposal's district may support.
    "supports.support": R(VERIFIED, SUPPORTING),
    "supports.unsupport": R(LOGIN, SUPPORTING, ok=REFUSED),  # nobody in the worlds supports the pending proposal
    "supports.ranking": R(MODERATOR, draft=HIDDEN),
    # Ballot designs (issue 20): the officials' pages read in every phase; the settings freeze when voting opens,
    # and from then on anyone may download them.
    "ballot_settings.cycle_ballot": R(OFFICIAL),
    "ballot_settings.district_ballot": R(OFFICIAL),
    "ballot_settings.settings_json": R(PUBLIC, TURNOUT, outside=409, draft=HIDDEN),
    # Paper ballots of every design (issue 20, paper): a PDF once the project list is final, while paper is typed in.
    "paper.blank_ballot": R(OFFICIAL, PAPER),
}
# Where a route's POST differs from its GET.
POST_RULES = {
    "paper.correct_sheet": R(OFFICIAL, PAPER),
    "moderation.residents": R(MODERATOR, SELF_VERIFYING, draft=HIDDEN),
    "verification_requests.ask": R(LOGIN, SELF_VERIFYING, draft=HIDDEN),
    # Ballot designs (issue 20): saved until voting opens.
    "ballot_settings.cycle_ballot": R(OFFICIAL, SETUP | PROPOSING | SUPPORTING | REVIEWING),
    "ballot_settings.district_ballot": R(OFFICIAL, SETUP | PROPOSING | SUPPORTING | REVIEWING),
}


def expected(rule: Rule, role: str, phase: Phase):
    """The answer a role gets in a phase, in the order the guards ask: login, role, visibility, author, phase."""
    if role == "anonymous" and rule.who not in (PUBLIC, ANONYMOUS):
        return TO_LOGIN
    if rule.who == ANONYMOUS and role != "anonymous":
        return REDIRECT  # a logged-in user is sent home
    if (rule.who == MODERATOR and role not in ("moderator", "official")) or (rule.who == OFFICIAL and role != "official"):
        return 403
    if phase is P.DRAFT and (rule.draft == HIDDEN_FROM_ALL or (rule.draft == HIDDEN and role != "official")):
        return 404
    if rule.who == EDITOR and role in ("moderator", "official"):
        return rule.ok
    if rule.who in (AUTHOR, EDITOR) and role != "resident":
        return REFUSED
    if phase not in rule.phases:
        return rule.outside
    if rule.who == VERIFIED and role != "resident":
        return REFUSED  # "you are not verified to vote in North yet"
    return rule.ok


def _rule(endpoint: str, method: str) -> Rule:
    return POST_RULES.get(endpoint, RULES[endpoint]) if method == "POST" else RULES[endpoint]


def _cases():
    cases = []
    for endpoint, method, rule in ROUTES:
        if endpoint not in RULES:
            continue  # test_every_route_is_in_the_table fails instead
        for phase in Phase:
            for role in ROLES:
                answer = expected(_rule(endpoint, method), role, phase)
                # A POST that would do its work is not sent: the world is shared by every case of its phase.
                if method == "GET" or answer != OK:
                    cases.append(pytest.param(endpoint, method, rule, phase, role, answer,
                                              id=f"{phase.value}-{role}-{method} {rule}"))
    return cases


CASES = _cases()


def test_every_route_is_in_the_table():
    assert {endpoint for endpoint, _, _ in ROUTES} == set(RULES), "classify the new route in RULES"
    assert set(POST_RULES) <= {endpoint for endpoint, method, _ in ROUTES if method == "POST"}


@pytest.fixture(scope="module")
def worlds():
    """One SQLite database holding a world per phase, shared by every case (GETs change nothing; refusals neither)."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="pb-test-", dir=_FAST_DISK))
    shutil.copyfile(_sqlite_template(), directory / "pb.sqlite3")
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "SERVER_NAME": "pb.test",
                      "DATABASE_URL": f"sqlite:///{directory / 'pb.sqlite3'}",
                      "UPLOAD_FOLDER": str(directory / "uploads")})
    app.test_client_class = PbClient
    with app.app_context():
        limiter.enabled = False  # every role logs in from one address; throttling is tested in test_security.py
        try:
            built = {phase: build_world(phase) for phase in Phase}
            yield app, built, database_state()
        finally:
            limiter.enabled = True
            db.session.remove()
            db.engine.dispose()
    shutil.rmtree(directory, ignore_errors=True)


def _answer(client, response) -> tuple[object, list[str]]:
    """What the response amounts to, and the messages it left for the next page."""
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    if response.status_code in (301, 302, 303):
        if urlsplit(response.location).path == "/login":
            return TO_LOGIN, []
        errors = [message for category, message in flashes if category == "error"]
        return (REFUSED if errors else REDIRECT), errors
    return (OK if response.status_code < 300 else response.status_code), []


def _form_data(endpoint: str, w: dict, token: str) -> MultiDict:
    """The form's valid submission: a refusal must come from the role or the phase, not from bad values."""
    pairs = [("csrf_token", token)]
    for name, value in valid_submission(endpoint, w).items():
        if name == "file":
            data, filename = (value.encode(), "register.csv") if isinstance(value, str) else value
            pairs.append((name, (io.BytesIO(data), filename)))
        else:
            pairs.extend((name, item) for item in (value if isinstance(value, list) else [value]))
    return MultiDict(pairs)


@pytest.mark.parametrize(("endpoint", "method", "rule", "phase", "role", "answer"), CASES)
def test_route_answers_each_role_in_each_phase(worlds, endpoint, method, rule, phase, role, answer):
    app, built, _ = worlds
    w = built[phase]
    client = app.test_client()
    if role != "anonymous":
        log_in(client, w["users"][role])
    url = fill(rule, url_values(endpoint, w))
    if method == "GET":
        response = client.get(url)
        got, errors = _answer(client, response)
    else:
        token = client.csrf_token()
        before = database_state()
        response = client.post(url, data=_form_data(endpoint, w, token))
        got, errors = _answer(client, response)
        assert database_state() == before, f"a refused POST {url} changed rows"
    assert response.status_code < 500
    assert got == answer, f"{method} {url} as {role} in {phase.value}: {got} {errors}, expected {answer}"
    if got == REFUSED:
        assert errors and all(message.strip() for message in errors)
    if _rule(endpoint, method).who == VERIFIED and role == "unverified" and phase in _rule(endpoint, method).phases:
        assert any("verif" in message for message in errors), errors  # the "verify first" answer


def test_reading_every_page_in_every_phase_changed_nothing(worlds):
    """Runs after the matrix (pytest keeps the file's order): no GET, and no refused POST, wrote anything."""
    assert database_state() == worlds[2]
