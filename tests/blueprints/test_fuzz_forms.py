"""Random and hostile values in every form: never a 500, nothing changed on a refusal, nothing shown unescaped.

The forms come from the app's URL map (every POST route), so a new form is fuzzed as soon as worlds.FORMS knows
who uses it, in which phase and with which valid values; a POST route in neither FORMS nor NOT_FUZZED fails.
"""

import io
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict

from pb.domain.cycle import Phase
from pb.extensions import limiter
from pb.models import Role
from tests.blueprints.test_access import ROUTES
from tests.blueprints.test_bad_input import database_state
from tests.blueprints.worlds import FORMS, build_world, fill, log_in, url_values, valid_submission

SCRIPT = "<script>alert(1)</script>"

POST_ROUTES = {endpoint: rule for endpoint, method, rule in ROUTES if method == "POST"}
# Routes taking POST that are deliberately not fuzzed, with the reason. Empty: every form is.
NOT_FUZZED: dict[str, str] = {
    # Its only input is the signed token in the address (and RFC 8058's fixed one-click field); forged and broken
    # tokens are tried in tests/services/test_mail.py.
    "notifications.unsubscribe_confirmed": "input is the signed token only",
    # A button with no field whose answer is a PDF, not a page; its CSV twin (same view code) is fuzzed.
}
# A refused self-verification is stored before the refusal (it counts towards the lockout) and audited.
CHANGED_BY_DESIGN = {
    "verification.with_register": {"verification_attempts", "audit_entries"},
    "verification.with_code": {"verification_attempts", "audit_entries"},
}
# Every HTML page, read after the fuzzing; charts, downloads and the JSON API are not HTML.
_NOT_HTML = (".svg", ".csv", ".json", ".pb", ".pdf")
_FILES = ("media.photo", "media.document", "identity.logo", "identity.favicon")  # stored photos, documents, logo
SWEEP = sorted({rule for endpoint, method, rule in ROUTES
                if method == "GET" and not endpoint.startswith("api.") and not rule.endswith(_NOT_HTML)
                and endpoint not in _FILES})

HOSTILE = [
    SCRIPT, f'"><{SCRIPT[1:]}', "' OR 1=1 --", "1; DROP TABLE users; --", "12 500,50", "1.000.000,00", "-1",
    "-100,00", "0", "-0", "1e308", "NaN", "-inf", "9" * 40, str(2**63), str(-(2**63) - 1), "0x1F", "١٢٣",
    "\u202egnp.exe", "مرحبا بالعالم", "👩‍👩‍👧‍👦🔥", "e\u0301\u0301\u0301", "\x00", "a\x00b", "\x1b[2J\x07", "\r\n\t",
    " ", "", "x" * 5000, "%s%n%x", "../../../etc/passwd", "2030-02-30", "0000-00-00", "99999-01-01", "null",
    '{"a": 1}',
]
hostile_value = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.integers(min_value=-3, max_value=3).map(str),
    st.floats().map(repr),
    st.text(max_size=40),  # any code point but surrogates: RTL, emoji, combining marks, NUL and control characters
    st.text(min_size=1, max_size=3).map(lambda text: text * 3000),
)
file_value = st.tuples(st.binary(max_size=300) | st.sampled_from([b"", SCRIPT.encode(), b"\xff\xfe\x00", b"a,b\n1"]),
                       st.sampled_from(["register.csv", "register.exe", "", f"{SCRIPT}.csv", "../../x.csv"]))


def _field(name: str, valid):
    """A field as sent: mostly the valid value, else missing (None), hostile, or sent several times."""
    as_list = valid if isinstance(valid, list) else [valid]
    if name == "file":
        return st.one_of(st.just(valid), st.none(), file_value)
    return st.integers(min_value=0, max_value=9).flatmap(lambda mode: (
        st.just(valid) if mode < 5
        else st.none() if mode == 5
        else hostile_value if mode < 8
        else st.lists(hostile_value, min_size=2, max_size=3) if mode == 8
        else hostile_value.map(lambda value: [*as_list, value])
    ))


def submissions(valid: dict):
    """A whole submission: every field drawn as above, sometimes with a field no form has."""
    fields = st.fixed_dictionaries({name: _field(name, value) for name, value in valid.items()})
    return st.tuples(fields, st.none() | hostile_value)


def _multidict(fields: dict, extra, token: str) -> MultiDict:
    pairs = [("csrf_token", token)]
    for name, value in fields.items():
        if value is None:
            continue
        if name == "file":
            data, filename = (value.encode(), "register.csv") if isinstance(value, str) else value
            pairs.append((name, (io.BytesIO(data), filename)))
            continue
        pairs.extend((name, item) for item in (value if isinstance(value, list) else [value]))
    if extra is not None:
        pairs.append(("unexpected", extra))
    return MultiDict(pairs)


def _state_without(ignored: set[str]) -> dict:
    return {name: rows for name, rows in database_state().items() if name not in ignored}


def _assert_shown_escaped(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code}"
    if response.mimetype == "application/pdf":  # the letters: a document, not a page that could run a script
        assert response.get_data().startswith(b"%PDF"), f"{where} is not a PDF"
        return
    assert SCRIPT not in response.get_data(as_text=True), f"{where} shows the script unescaped"


def _send(app, w: dict, endpoint: str, fields: dict, extra=None) -> None:
    """Post one submission as the form's role; check the answer, the database and the page it leads to."""
    role = FORMS[endpoint][0]
    client = app.test_client()
    if role != "anonymous":
        log_in(client, w["users"][role])
    token = client.csrf_token()
    url = fill(POST_ROUTES[endpoint], url_values(endpoint, w))
    ignored = CHANGED_BY_DESIGN.get(endpoint, set())
    before = _state_without(ignored)
    response = client.post(url, data=_multidict(fields, extra, token))
    _assert_shown_escaped(response, f"POST {url}")
    with client.session_transaction() as session:
        categories = {category for category, _ in session.get("_flashes", [])}
    is_refused = response.status_code >= 300 and "success" not in categories
    if is_refused:
        assert _state_without(ignored) == before, f"a refused POST {url} ({response.status_code}) changed rows"
    location = response.location or ""
    if response.status_code in (301, 302, 303) and not urlsplit(location).netloc:
        _assert_shown_escaped(client.get(location), f"GET {location} after POST {url}")


def _sweep(app, w: dict) -> None:
    """Every HTML page, as an official and as the resident: whatever the forms stored is shown escaped."""
    for role in ("official", "resident"):
        client = app.test_client()
        log_in(client, w["users"][role])
        for rule in SWEEP:
            endpoint = next(e for e, m, r in ROUTES if r == rule and m == "GET")
            url = fill(rule, url_values(endpoint, w))
            _assert_shown_escaped(client.get(url), f"GET {url} as {role}")


@pytest.fixture
def unthrottled(app):
    """Throttling is tested in tests/test_security.py; here every submission must reach its form."""
    limiter.enabled = False
    yield app
    limiter.enabled = True


def test_every_post_route_is_fuzzed_or_excluded_with_a_reason():
    assert not set(FORMS) & set(NOT_FUZZED)
    assert set(POST_ROUTES) == set(FORMS) | set(NOT_FUZZED), (
        "add the new POST route to worlds.FORMS (role, phase, valid values) or to NOT_FUZZED with a reason"
    )


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_a_form_survives_random_and_hostile_values(unthrottled, engine_name, endpoint):
    app = unthrottled
    w = build_world(FORMS[endpoint][1])
    valid = valid_submission(endpoint, w)

    # First the script in each field of an otherwise valid submission, so that it is stored where it can be.
    for name in valid:
        if name != "file" and not isinstance(valid[name], list):
            _send(app, w, endpoint, {**valid, name: SCRIPT})

    @settings(max_examples=20 if engine_name == "sqlite" else 6, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(submissions(valid))
    def fuzz(submission):
        fields, extra = submission
        _send(app, w, endpoint, fields, extra)

    fuzz()
    _sweep(app, w)


# What the fuzzing found, kept as plain examples on both databases.


def test_removing_a_district_that_has_voting_codes_is_refused_and_changes_nothing(client, make_user, make_cycle):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.DRAFT)
    north = cycle.districts[0]
    client.login(official)
    assert client.submit(f"/admin/cycles/{cycle.id}/codes", {"district_id": str(north.id), "count": "1"}).status_code == 303
    before = database_state()
    response = client.submit(f"/admin/districts/{north.id}/remove", follow_redirects=True)
    assert response.status_code == 200
    assert "already has voting codes or register entries" in response.get_data(as_text=True)
    assert database_state() == before


def test_cycle_settings_sent_without_the_budget_are_refused_not_read_from_the_cycle(client, make_user, make_cycle):
    client.login(make_user(Role.OFFICIAL))
    cycle = make_cycle(Phase.DRAFT)
    before = database_state()
    response = client.submit(f"/admin/cycles/{cycle.id}/settings", {
        "name": "Renamed", "currency": "EUR", "rule": "greedy", "min_projects": "1",
    })
    assert response.status_code == 400
    assert "Enter the total budget." in response.get_data(as_text=True)
    assert database_state() == before
