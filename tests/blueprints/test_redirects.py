"""Every `next` pb follows stays on this site: the language switch, the login, and a refused form's way back."""

from urllib.parse import quote

import pytest

from pb.blueprints.guards import safe_target
from pb.models import Role

# Where to send the browser reads no database, so SQLite alone is enough here.
pytestmark = pytest.mark.parametrize("engine_name", ["sqlite"])

HOST = "pb.test"  # the host the test client asks for

HOSTILE = [
    f"http://{HOST}//evil.com/x",  # the reported one: this host, but a path that reads as another host
    f"https://{HOST}//evil.com/x",
    f"http://{HOST}/\\evil.com",
    "//evil.com/x",
    "///evil.com/x",
    "////evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "/\t/evil.com",
    "/\n/evil.com",
    "/\r\n/evil.com",
    "/\x00/evil.com",
    "/\x7f/evil.com",
    " //evil.com",
    "/x ",
    "http://evil.com/",
    "https://evil.com/",
    "http://evil.com@localhost.evil.com/",
    f"http://{HOST}.evil.com/",
    f"http://{HOST}:8443/elsewhere",
    "ftp://evil.com/",
    "javascript:alert(1)",
    "JavaScript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http:evil.com",
    "https:/evil.com",
    "evil.com",
    "cycles/1",
]
# A header cannot carry a line break or a NUL at all (HTTP refuses them before pb sees the request).
HOSTILE_HEADERS = [target for target in HOSTILE if not any(character in target for character in "\r\n\x00")]
SAFE = [
    ("/", "/"),
    ("/cycles/1", "/cycles/1"),
    ("/cycles/1?district=2&x=%2F%2Fy", "/cycles/1?district=2&x=%2F%2Fy"),
    ("/proposals/%2F%2Fevil.com", "/proposals/%2F%2Fevil.com"),
    (f"http://{HOST}/cycles/1?a=b", "/cycles/1?a=b"),
    (f"https://{HOST}/cycles/1#part", "/cycles/1"),
]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_helper_refuses_every_hostile_target(app, target):
    with app.test_request_context("/", base_url=f"http://{HOST}"):
        assert safe_target(target, "/fallback") == "/fallback"


@pytest.mark.parametrize(("target", "expected"), SAFE)
def test_the_helper_keeps_paths_on_this_site(app, target, expected):
    with app.test_request_context("/", base_url=f"http://{HOST}"):
        assert safe_target(target, "/fallback") == expected


def _location(response) -> str:
    if response.status_code == 400:  # a NUL byte in the query string is refused before any view runs
        return "refused"
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


@pytest.mark.parametrize("target", HOSTILE)
def test_the_language_switch_never_leaves_the_site(client, target):
    response = client.get(f"/language/en?next={quote(target, safe='')}")
    assert _location(response) in ("/", "refused")


@pytest.mark.parametrize("target", HOSTILE)
def test_logging_in_never_leaves_the_site(client, make_user, target):
    user = make_user()
    response = client.submit(f"/login?next={quote(target, safe='')}",
                             {"email": user.email, "password": "correct-horse-battery"})
    assert _location(response) in ("/", "refused")


@pytest.mark.parametrize("target", HOSTILE_HEADERS)
def test_a_refused_post_goes_back_only_to_a_page_of_this_site(client, make_user, target):
    """A refusal raised outside any form (here: no such cycle) sends the browser back to its Referer, checked alike."""
    client.login(make_user(Role.OFFICIAL))
    response = client.submit("/paper/cycles/999999/voters", {"user_id": 1, "district_id": 1}, headers={"Referer": target})
    assert _location(response) in ("/", "refused")


def test_a_refused_post_goes_back_to_the_local_page_it_came_from(client, make_user):
    client.login(make_user(Role.OFFICIAL))
    response = client.submit("/paper/cycles/999999/voters", {"user_id": 1, "district_id": 1},
                             headers={"Referer": f"http://{HOST}/admin/?page=2"})
    assert _location(response) == "/admin/?page=2"


@pytest.mark.parametrize(("target", "expected"), SAFE[:4])
def test_the_language_switch_and_login_go_back_to_a_local_page(client, make_user, target, expected):
    assert _location(client.get(f"/language/en?next={quote(target, safe='')}")) == expected
    user = make_user()
    response = client.submit(f"/login?next={quote(target, safe='')}", {"email": user.email, "password": "correct-horse-battery"})
    assert _location(response) == expected
