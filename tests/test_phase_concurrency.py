"""Simultaneous phase changes against the real thing: gunicorn with several workers, on SQLite and PostgreSQL.

Issue 16: on PostgreSQL, four "Publish" clicks at once gave three 500s (two transactions both read "counting", both
recorded revision 1 of the results). Each click is an official's browser that opened the confirmation page and
sends its form at the same moment as the others: exactly one publishes, the others are told the cycle has already
moved on, and nothing answers 500.
"""

import re
import threading
import urllib.parse

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Cycle, ResultRevision, Role
from pb.services import publication, tallying, voting
from tests.conftest import PASSWORD, close_voting
from tests.live_server import LiveServer, live_server
from tests.test_server_concurrency import Voter as Browser

CLICKS = 4
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_EXPECTED = re.compile(r'name="expected_phase"[^>]*value="([^"]+)"')
_MESSAGE = re.compile(r'class="message (?:error|success)">([^<]*)<')


@pytest.fixture
def server(app, tmp_path):
    with live_server(app, tmp_path, workers=CLICKS) as served:
        yield served


def _log_in(server: LiveServer, browser: Browser) -> None:
    _, page = browser.request(server, "GET", "/login")
    status, _ = browser.request(server, "POST", "/login", [
        ("email", browser.email), ("password", PASSWORD), ("csrf_token", _TOKEN.search(page).group(1))])
    assert status == 302, f"login failed for {browser.email}"


def _fire_at_once(server: LiveServer, path: str, browsers: list[tuple[Browser, list[tuple[str, str]]]]):
    """Send every browser's form at the same moment; each answer is (status, location) and the browser keeps its cookie."""
    barrier = threading.Barrier(len(browsers))
    answers: list[tuple[int, str] | None] = [None] * len(browsers)

    def click(index: int, browser: Browser, form: list[tuple[str, str]]) -> None:
        connection = server.connection()
        try:
            connection.connect()
            barrier.wait(timeout=60)
            connection.request("POST", path, body=urllib.parse.urlencode(form), headers={
                "Cookie": browser.cookie, "Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            response.read()
            browser._keep_cookie(response)
            answers[index] = (response.status, response.getheader("Location") or "")
        except Exception as error:  # noqa: BLE001 - a failed request is reported as an answer, not lost in a thread
            answers[index] = (0, f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=click, args=(i, *pair)) for i, pair in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def test_four_simultaneous_publish_clicks_publish_once_and_refuse_the_rest_clearly(app, server, make_user, make_cycle,
                                                                                 make_project, verify):
    officials = [make_user(Role.OFFICIAL) for _ in range(CLICKS)]
    cycle = make_cycle(Phase.VOTING, districts=(("North", 100_000),))
    project = make_project(cycle, cost=40_000)
    for _ in range(3):  # a real count of real ballots: approval checks that they add up
        voter = make_user()
        verify(voter, cycle.districts[0])
        voting.cast_ballot(voter, cycle.id, cycle.districts[0].id, [project.id])
    close_voting(cycle)
    tallying.run_tally(officials[0], cycle.id)
    publication.approve_results(officials[0], cycle.id)
    publication.approve_results(officials[1], cycle.id)
    cycle_id = cycle.id
    path = f"/admin/cycles/{cycle_id}/advance"

    browsers = []
    for official in officials:
        browser = Browser(official.id, official.email)
        _log_in(server, browser)
        status, page = browser.request(server, "GET", path)
        assert status == 200 and "Publish the results now" in page, page
        form = [("csrf_token", _TOKEN.search(page).group(1)), ("expected_phase", _EXPECTED.search(page).group(1)),
                ("reason", "")]
        assert form[1] == ("expected_phase", "tallying")
        browsers.append((browser, form))

    answers = _fire_at_once(server, path, browsers)
    log = server.log_text()
    assert [status for status, _ in answers] == [302] * CLICKS, f"{answers}; server log: {log[-4000:]}"
    messages = []
    for (browser, _), (_, location) in zip(browsers, answers, strict=True):
        assert urllib.parse.urlsplit(location).path == f"/admin/cycles/{cycle_id}"
        _, page = browser.request(server, "GET", urllib.parse.urlsplit(location).path)
        messages.append(" ".join(_MESSAGE.findall(page)))
    published = [m for m in messages if "The cycle is now: results published." in m]
    refused = [m for m in messages if "Nothing was changed: the cycle is no longer “counting the votes” but "
                                      "“results published”" in m]
    assert (len(published), len(refused)) == (1, CLICKS - 1), messages
    assert "Traceback" not in log and "database is locked" not in log.lower(), log[-5000:]

    db.session.rollback()
    assert db.session.scalar(select(Cycle.phase).where(Cycle.id == cycle_id)) is Phase.RESULTS
    assert db.session.scalar(select(func.count()).select_from(ResultRevision)) == 1
    assert db.session.scalar(
        select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "advance-phase")) == 1
