"""Simultaneous ballots against the real thing: gunicorn with several worker processes, on SQLite (WAL) and PostgreSQL.

Both CONSUL and Decidim shipped a race in which two simultaneous requests of one voter both passed the checks and both
stored something. Here every round lines its requests up behind a barrier and fires them at once; afterwards exactly
one ballot per voter is stored, it is one of the ballots submitted, none is over budget, and every request got either
a success or a clear 409 ("already changed ... reload") — never a 500 and never "database is locked".
"""

import http.client
import pathlib
import random
import re
import threading
import urllib.parse
from dataclasses import dataclass, field

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Participation, SealedBallot, User
from pb.services import voting
from tests.conftest import PASSWORD
from tests.live_server import LiveServer, live_server

ROOT = pathlib.Path(__file__).resolve().parents[1]
WORKERS = 4
BUDGET, PROJECT_COST, PROJECT_COUNT = 100_000, 40_000, 6  # any two projects fit; any three are over budget
SAME_VOTER_PAIRS, PAIR_VOTERS = 200, 20  # 2 simultaneous submissions, 200 times, spread over 20 voters
SAME_VOTER_CROWDS, CROWD_SIZE, CROWD_VOTERS = 20, 50, 10  # 50 simultaneous submissions, 20 times
DISTINCT_VOTERS = 200  # 200 different voters at once
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_VERSION = re.compile(r'name="version" value="(\d+)"')


@pytest.fixture
def server(app, tmp_path):
    """The app served by gunicorn with several worker processes, on the test's own database."""
    with live_server(app, tmp_path, workers=WORKERS) as served:
        yield served


@dataclass
class Voter:
    """One resident's browser: a session cookie, and the ballot form's CSRF token and version."""

    user_id: int
    email: str
    cookie: str = ""
    csrf_token: str = ""
    version: int = 0
    submitted: list[tuple[int, list[int]]] = field(default_factory=list)

    def request(self, server: LiveServer, method: str, path: str, form: list[tuple[str, str]] | None = None):
        connection = server.connection()
        try:
            body = urllib.parse.urlencode(form) if form is not None else None
            headers = {"Cookie": self.cookie} if self.cookie else {}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            page = response.read().decode()
        finally:
            connection.close()
        self._keep_cookie(response)
        return response.status, page

    def _keep_cookie(self, response: http.client.HTTPResponse) -> None:
        for header in response.headers.get_all("Set-Cookie") or []:
            if header.startswith("session="):
                self.cookie = header.split(";", 1)[0]

    def log_in_and_open_ballot(self, server: LiveServer, ballot_path: str) -> None:
        _, page = self.request(server, "GET", "/login")
        token = _TOKEN.search(page).group(1)
        status, _ = self.request(server, "POST", "/login",
                                 [("email", self.email), ("password", PASSWORD), ("csrf_token", token)])
        assert status == 302, f"login failed for {self.email}"
        self.open_ballot(server, ballot_path)

    def open_ballot(self, server: LiveServer, ballot_path: str) -> None:
        status, page = self.request(server, "GET", ballot_path)
        assert status == 200, page
        self.csrf_token, self.version = _TOKEN.search(page).group(1), int(_VERSION.search(page).group(1))

    def ballot_form(self, choices: list[int]) -> list[tuple[str, str]]:
        return [("csrf_token", self.csrf_token), ("version", str(self.version))] + [("project", str(c)) for c in choices]


def _fire_at_once(server: LiveServer, path: str, submissions: list[tuple[Voter, list[int]]]) -> list[tuple[int, str]]:
    """Open one connection per submission, line them up behind a barrier, then send them all at the same moment."""
    barrier = threading.Barrier(len(submissions))
    results: list[tuple[int, str] | None] = [None] * len(submissions)

    def submit(index: int, voter: Voter, choices: list[int]) -> None:
        connection = server.connection()
        body = urllib.parse.urlencode(voter.ballot_form(choices))
        try:
            connection.connect()
            barrier.wait(timeout=60)
            connection.request("POST", path, body=body, headers={
                "Cookie": voter.cookie, "Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            results[index] = (response.status, response.read().decode())
        except Exception as error:  # noqa: BLE001 - a failed request is reported as a result, not lost in a thread
            results[index] = (0, f"{type(error).__name__}: {error}")
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i, voter, choices)) for i, (voter, choices) in enumerate(submissions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _stored(app, voter: Voter, cycle_id: int, district_id: int) -> tuple[list[int], int] | None:
    db.session.rollback()
    user = db.session.get(User, voter.user_id)
    own = voting.stored_ballot(user, cycle_id, district_id)
    return None if own is None else (sorted(own.choices), own.version)


def _check_round(server: LiveServer, results: list[tuple[int, str]], expected_successes: int) -> None:
    statuses = [status for status, _ in results]
    for status, page in results:
        assert "database is locked" not in page.lower()
        assert status in (302, 409), f"status {status}; server log: {server.log.read_text()[-4000:]}"
        if status == 409:
            assert "already changed" in page and "Reload the page" in page
    assert statuses.count(302) == expected_successes, statuses


def test_simultaneous_ballots_store_exactly_one_valid_ballot_per_voter(
    app, server, make_user, make_cycle, make_project, verify
):
    cycle = make_cycle(Phase.VOTING, districts=(("North", BUDGET),), max_projects=2)
    district = cycle.districts[0]
    projects = [make_project(cycle, district, cost=PROJECT_COST).id for _ in range(PROJECT_COUNT)]
    people = [make_user() for _ in range(PAIR_VOTERS + CROWD_VOTERS + DISTINCT_VOTERS)]
    for person in people:
        verify(person, district)
    voters = [Voter(person.id, person.email) for person in people]
    path = f"/cycles/{cycle.id}/vote/{district.id}"
    for voter in voters:
        voter.log_in_and_open_ballot(server, path)
    pair_voters = voters[:PAIR_VOTERS]
    crowd_voters = voters[PAIR_VOTERS : PAIR_VOTERS + CROWD_VOTERS]
    distinct_voters = voters[PAIR_VOTERS + CROWD_VOTERS :]
    rng = random.Random(20261123)

    def some_ballot() -> list[int]:
        return sorted(rng.sample(projects, rng.choice((1, 2))))

    def same_voter_round(voter: Voter, size: int) -> None:
        # Every submission carries the version the voter's page showed: exactly one may land, the others get 409.
        ballots = [some_ballot() for _ in range(size)]
        results = _fire_at_once(server, path, [(voter, ballot) for ballot in ballots])
        _check_round(server, results, expected_successes=1)
        winner = ballots[[status for status, _ in results].index(302)]
        assert _stored(app, voter, cycle.id, district.id) == (winner, voter.version + 1)
        voter.open_ballot(server, path)
        assert voter.version == len(voter.submitted) + 1
        voter.submitted.append((voter.version, winner))

    for round_number in range(SAME_VOTER_PAIRS):
        same_voter_round(pair_voters[round_number % PAIR_VOTERS], 2)
    for round_number in range(SAME_VOTER_CROWDS):
        same_voter_round(crowd_voters[round_number % CROWD_VOTERS], CROWD_SIZE)

    ballots = [some_ballot() for _ in distinct_voters]
    results = _fire_at_once(server, path, list(zip(distinct_voters, ballots, strict=True)))
    _check_round(server, results, expected_successes=DISTINCT_VOTERS)
    for voter, ballot in zip(distinct_voters, ballots, strict=True):
        assert _stored(app, voter, cycle.id, district.id) == (ballot, 1)

    db.session.rollback()
    voters_who_voted = len(voters)
    assert db.session.scalar(select(func.count()).select_from(SealedBallot)) == voters_who_voted
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0  # no row naming a voter
    for voter in voters:
        choices = voting.current_choices(db.session.get(User, voter.user_id), cycle.id, district.id)
        assert 1 <= len(choices) <= 2 and len(choices) * PROJECT_COST <= BUDGET
    log = server.log.read_text()
    assert "Traceback" not in log and "database is locked" not in log.lower(), log[-5000:]
