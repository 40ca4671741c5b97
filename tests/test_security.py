"""Hardening: argon2id hashing, throttling with a clear 429, security headers on every page, request size limits."""

import pathlib
import re

import pytest
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from pb import security
from pb.config import STRONG_PASSWORD_HASH_COST
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Role, User, VerificationAttempt

from tests.blueprints.test_access import ROUTES
from tests.conftest import PASSWORD

TEMPLATES = pathlib.Path(__file__).resolve().parents[1] / "pb" / "templates"


def database_state() -> dict[str, list[tuple]]:
    db.session.expire_all()
    return {
        table.name: sorted(map(tuple, db.session.execute(table.select()).all()), key=repr)
        for table in db.metadata.sorted_tables
    }


# --- password hashing ----------------------------------------------------------------------------------------------


@pytest.fixture
def strong_hashing(app):
    app.config["PASSWORD_HASH_COST"] = STRONG_PASSWORD_HASH_COST


def test_passwords_are_hashed_with_argon2id_at_the_owasp_cost(strong_hashing):
    hashed = security.hash_password("a-long-password")
    assert hashed.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert security.password_matches(hashed, "a-long-password")
    assert not security.password_matches(hashed, "a-long-passwore")
    assert not security.needs_new_hash(hashed)


@pytest.mark.parametrize("method", ["scrypt", "pbkdf2:sha256:1000"])
def test_older_werkzeug_hashes_still_match_and_ask_for_a_new_hash(strong_hashing, method):
    hashed = generate_password_hash("a-long-password", method=method)
    assert security.password_matches(hashed, "a-long-password")
    assert not security.password_matches(hashed, "wrong")
    assert security.needs_new_hash(hashed)


def test_a_cheaper_argon2_hash_asks_for_a_new_hash(app):
    cheap = security.hash_password("a-long-password")  # the test suite's cost
    app.config["PASSWORD_HASH_COST"] = STRONG_PASSWORD_HASH_COST
    assert security.password_matches(cheap, "a-long-password") and security.needs_new_hash(cheap)


@pytest.mark.parametrize("damaged", ["", "$argon2id$nonsense", "plain-text", "pbkdf2:sha256:1000$salt"])
def test_a_damaged_hash_matches_nothing(app, damaged):
    assert not security.password_matches(damaged, "a-long-password")


# --- throttling ----------------------------------------------------------------------------------------------------


def _log_in(client, email, password=PASSWORD):
    return client.submit("/login", {"email": email, "password": password})


def test_the_sixth_login_attempt_in_a_minute_is_refused_with_429_and_does_not_log_in(client, make_user):
    user = make_user()
    for _ in range(5):
        assert _log_in(client, user.email, "wrong-password").status_code == 400
    before = database_state()
    response = _log_in(client, user.email)  # even the right password
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and "nothing was changed" in page and "Traceback" not in page
    assert response.headers["Retry-After"] == "60"
    assert client.get("/my/proposals").status_code == 302  # not logged in
    assert database_state() == before


def test_login_limit_counts_per_account_as_typed(client, make_user):
    user, other = make_user(), make_user()
    for _ in range(5):
        _log_in(client, user.email.upper(), "wrong-password")  # the same account, however it is written
    assert _log_in(client, f"  {user.email} ").status_code == 429
    assert _log_in(client, other.email).status_code == 302


def test_login_limit_counts_per_address_across_accounts(app, client, make_user):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    accounts = [make_user() for _ in range(4)]
    for user in accounts[:3]:
        assert _log_in(client, user.email, "wrong-password").status_code == 400
    assert _log_in(client, accounts[3].email).status_code == 429
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert _log_in(elsewhere, accounts[3].email).status_code == 302


def test_showing_the_login_form_is_not_throttled(client):
    assert all(client.get("/login").status_code == 200 for _ in range(12))


def test_the_limits_can_be_turned_off(app, client, make_user):
    app.config["RATELIMIT_ENABLED"] = False
    from pb.extensions import limiter

    limiter.enabled = False
    try:
        user = make_user()
        for _ in range(7):
            _log_in(client, user.email, "wrong-password")
        assert _log_in(client, user.email).status_code == 302
    finally:
        limiter.enabled = True


# --- lock-outs: device cookies (OWASP) -------------------------------------------------------------------------------


def _stranger(app, address="203.0.113.9"):
    browser = app.test_client()
    browser.environ_base["REMOTE_ADDR"] = address
    return browser


@pytest.fixture
def official_browser(app, make_user):
    """An official's own browser: it logged in once (so holds the device cookie) and logged out again."""
    official = make_user(Role.OFFICIAL)
    browser = app.test_client()
    browser.login(official)
    assert browser.submit("/logout").status_code == 302
    return official, browser


def test_a_strangers_wrong_passwords_no_longer_lock_the_official_out_of_their_own_browser(app, official_browser):
    official, own = official_browser
    stranger = _stranger(app)
    statuses = [_log_in(stranger, official.email, "guess-%d" % number).status_code for number in range(10)]
    assert statuses == [400] * 5 + [429] * 5  # the stranger is slowed down ...
    assert _log_in(own, official.email).status_code == 302  # ... but the official's own browser still logs in
    assert own.get("/admin/users").status_code == 200


def test_a_fresh_browser_with_the_right_password_stays_limited_while_the_account_is_attacked(app, official_browser):
    official, _ = official_browser
    stranger = _stranger(app)
    for _ in range(5):
        _log_in(stranger, official.email, "wrong-password")
    fresh = _stranger(app, "198.51.100.20")  # no device cookie: an untrusted client, limited per account
    assert _log_in(fresh, official.email).status_code == 429


def test_a_device_cookie_for_another_account_gives_a_guesser_nothing(app, make_user, official_browser):
    official, _ = official_browser
    guesser = _stranger(app)
    guesser.login(make_user())  # the guesser's own account: the cookie names that account only
    guesser.submit("/logout")
    assert [_log_in(guesser, official.email, "wrong").status_code for _ in range(6)] == [400] * 5 + [429]


def test_guessing_from_one_address_is_still_throttled_across_accounts(app, make_user, official_browser):
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "3 per minute"
    official, own = official_browser
    stranger = _stranger(app)
    targets = [make_user() for _ in range(3)] + [official]
    assert [_log_in(stranger, user.email, "wrong").status_code for user in targets] == [400, 400, 400, 429]
    assert _log_in(own, official.email).status_code == 302  # the official's browser is limited per device instead


def test_the_device_cookie_has_its_own_limit_so_a_stolen_one_buys_few_guesses(app, official_browser):
    official, own = official_browser
    assert [_log_in(own, official.email, "wrong").status_code for _ in range(6)] == [400] * 5 + [429]
    assert _log_in(_stranger(app, "198.51.100.30"), official.email).status_code == 302  # not an account lock-out


@pytest.mark.parametrize("cookie", ["garbage", "W10.forged.signature"])
def test_a_forged_device_cookie_counts_as_untrusted(app, make_user, cookie):
    user = make_user()
    browser = _stranger(app)
    browser.set_cookie(security.DEVICE_COOKIE, cookie, path="/login")
    assert [_log_in(browser, user.email, "wrong").status_code for _ in range(6)] == [400] * 5 + [429]


def test_successful_logins_are_not_counted(app, make_user):
    app.config["LOGIN_LIMIT_PER_ACCOUNT"] = "2 per minute"
    app.config["LOGIN_LIMIT_PER_ADDRESS"] = "2 per minute"
    user = make_user()
    assert [_log_in(_stranger(app), user.email).status_code for _ in range(5)] == [302] * 5


def test_the_device_cookie_is_http_only_same_site_and_sent_to_the_login_page_only(client, make_user):
    response = client.login(make_user())
    header = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("pb_device="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/login" in header and "Max-Age=" in header


@pytest.fixture
def verifying(app, client, make_user, make_cycle):
    app.config["VERIFICATION_LIMIT_PER_ACCOUNT"] = "3 per minute"
    resident = make_user()
    cycle = make_cycle(Phase.VOTING)
    client.login(resident)
    return cycle


@pytest.mark.parametrize("form", [
    {"code-code": "WRONG-CODE"},
    {"register-document": "X123", "register-birth_date": "1990-01-01", "register-postcode": "1000"},
])
def test_verification_attempts_are_throttled_per_account_and_the_refused_one_is_not_counted(
    client, verifying, form
):
    cycle = verifying
    paths = [f"/cycles/{cycle.id}/verify/code", f"/cycles/{cycle.id}/verify/register"]
    for number in range(3):  # the two forms share one budget: alternating gains nothing
        assert client.submit(paths[number % 2], form if number % 2 == 0 else _other(form)).status_code == 302
    before = database_state()
    for path in paths:
        response = client.submit(path, form)
        assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    assert database_state() == before
    assert db.session.scalar(select(func.count()).select_from(VerificationAttempt)) <= 3


def _other(form):
    if "code-code" in form:
        return {"register-document": "X123", "register-birth_date": "1990-01-01", "register-postcode": "1000"}
    return {"code-code": "WRONG-CODE"}


def test_verification_is_throttled_per_address_across_accounts(app, make_user, make_cycle):
    app.config["VERIFICATION_LIMIT_PER_ADDRESS"] = "2 per minute"
    cycle = make_cycle(Phase.VOTING)
    statuses = []
    for _ in range(3):
        browser = app.test_client()
        browser.login(make_user())
        statuses.append(browser.submit(f"/cycles/{cycle.id}/verify/code", {"code-code": "WRONG"}).status_code)
    assert statuses == [302, 302, 429]


def test_registering_accounts_is_throttled_per_address(app, client):
    app.config["REGISTER_LIMIT_PER_ADDRESS"] = "2 per hour"
    for number in range(3):
        other = app.test_client()
        response = other.submit("/register", {"name": "N", "email": f"n{number}@example.org",
                                               "password": "long-enough-pw", "confirm": "long-enough-pw"})
    assert response.status_code == 429
    assert db.session.scalar(select(func.count()).select_from(User)) == 2


def test_password_changes_are_throttled_per_account(client, make_user):
    user = make_user()
    client.login(user)
    wrong = {"current_password": "not-it-at-all", "new_password": "a-new-password", "confirm": "a-new-password"}
    assert [client.submit("/account/password", wrong).status_code for _ in range(6)] == [400] * 5 + [429]


# --- security headers ----------------------------------------------------------------------------------------------

EXPECTED_HEADERS = {
    "Content-Security-Policy": security.CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}
GET_RULES = sorted({rule for _, method, rule in ROUTES if method == "GET"})


def test_the_policy_is_strict():
    policy = dict(part.strip().split(" ", 1) for part in security.CONTENT_SECURITY_POLICY.split(";"))
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in security.CONTENT_SECURITY_POLICY


@pytest.mark.parametrize("role", ["anonymous", Role.OFFICIAL])
def test_every_page_in_the_url_map_carries_the_security_headers(client, make_user, make_cycle, make_project, role):
    cycle = make_cycle(Phase.RESULTS)
    project = make_project(cycle)
    values = {"cycle_id": cycle.id, "district_id": cycle.districts[0].id, "proposal_id": project.id,
              "user_id": project.author_id}
    if role != "anonymous":
        client.login(make_user(role))
    urls = [re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values.get(m.group(1), 1)), rule) for rule in GET_RULES]
    urls += ["/static/pb.css", "/no-such-page"]
    for url in urls:
        response = client.get(url)
        assert response.status_code < 500, url
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value, f"{url}: {name}"
        assert "Strict-Transport-Security" not in response.headers  # development: plain HTTP on the loopback


def test_refusals_carry_the_headers_too(client, make_user):
    user = make_user()
    responses = [client.post("/login", data={})]  # no CSRF token: 400
    for _ in range(6):
        responses.append(_log_in(client, user.email, "wrong-password"))
    assert responses[0].status_code == 400 and responses[-1].status_code == 429
    for response in responses:
        assert response.headers["Content-Security-Policy"] == security.CONTENT_SECURITY_POLICY


def test_no_template_has_inline_script_or_style():
    """Pages are served under a CSP without 'unsafe-inline'. Emails (templates/mail) are not pages: mail readers
    ignore stylesheets, so emails style inline, but never carry a script or an event handler."""
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle\s*=|\son[a-z]+\s*=|javascript:", re.IGNORECASE)
    active = re.compile(r"<script\b|\son[a-z]+\s*=|javascript:|<iframe\b|<form\b", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in (active if path.parent.name == "mail" else inline).finditer(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []


# --- request size ----------------------------------------------------------------------------------------------------


def test_a_request_over_the_size_limit_gets_a_clear_413_and_changes_nothing(client, make_user):
    user = make_user()
    before = database_state()
    response = client.submit("/login", {"email": user.email, "password": PASSWORD, "padding": "x" * (3 * 1024 * 1024)})
    assert response.status_code == 413 and "too large" in response.get_data(as_text=True)
    assert database_state() == before
