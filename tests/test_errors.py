"""A database that is away: a clear "try again" page with 503 and Retry-After, nothing changed, and recovery after."""

import os
import re
import socket
import time

import pytest
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import NullPool

from pb import create_app
from pb.domain.cycle import Phase
from pb.errors import DATABASE_RETRY_AFTER_SECONDS
from pb.extensions import db
from pb.models import Ballot, BallotChoice, Participation
from tests.conftest import POSTGRES_HELP, PbClient, sealed_ballots

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def _free_port() -> int:
    """A loopback port where nothing listens (free a moment ago)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _unreachable_url(kind: str, tmp_path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'pb.sqlite3'}"
    return f"postgresql://postgres@127.0.0.1:{_free_port()}/pb"  # nothing listens there


def _assert_try_again_page(response) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert "try again" in page and "nothing was changed" in page
    assert "Traceback" not in page and "OperationalError" not in page and "sqlite" not in page.lower()
    return page


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
@pytest.mark.parametrize("testing", [True, False])
def test_an_unreachable_database_gets_a_try_again_page(kind, testing, tmp_path):
    url = _unreachable_url(kind, tmp_path)
    app = create_app({"TESTING": testing, "SECRET_KEY": "test-secret", "DATABASE_URL": url})
    response = app.test_client().get("/")
    page = _assert_try_again_page(response)
    assert response.mimetype == "text/html" and "<h1>Please try again in a moment</h1>" in page


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_api_answers_an_outage_in_json(kind, tmp_path):
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": _unreachable_url(kind, tmp_path)})
    response = app.test_client().get("/api/v1/cycles")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(DATABASE_RETRY_AFTER_SECONDS)
    assert response.is_json and "try again" in response.get_json()["error"]


def test_a_database_bug_is_not_passed_off_as_an_outage(tmp_path):
    app = create_app({"SECRET_KEY": "test-secret", "DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}"})

    def broken():
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    app.add_url_rule("/broken", view_func=broken)
    response = app.test_client().get("/broken")
    assert response.status_code == 500
    assert "Retry-After" not in response.headers and "Traceback" not in response.get_data(as_text=True)


@pytest.fixture
def outage(app, engine_name, tmp_path):
    """Start (and always end) an outage: every new connection fails as a stopped server's would, pooled ones go."""
    dead = str(tmp_path / "away" / "pb.sqlite3")
    dead_port = _free_port()

    def refuse(dialect, connection_record, cargs, cparams):
        if engine_name == "sqlite":
            cargs[:] = [dead]
        else:
            cparams.update(host="127.0.0.1", port=dead_port)

    def start() -> None:
        db.session.remove()
        event.listen(db.engine, "do_connect", refuse)
        db.engine.dispose()

    def end() -> None:
        if event.contains(db.engine, "do_connect", refuse):
            event.remove(db.engine, "do_connect", refuse)

    yield start, end
    end()


def test_a_ballot_sent_during_an_outage_changes_nothing_and_goes_through_once_the_database_is_back(
    client, outage, make_user, make_cycle, make_project, verify
):
    start_outage, end_outage = outage
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),))
    district = cycle.districts[0]
    swings = make_project(cycle, cost=20_000, title="Swings")
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    token = _TOKEN.search(client.get(url).get_data(as_text=True)).group(1)
    form = {"csrf_token": token, "version": "0", "project": [str(swings.id)]}

    start_outage()
    _assert_try_again_page(client.post(url, data=form))  # a logged-in page: the user cannot even be loaded
    _assert_try_again_page(client.get("/"))
    end_outage()

    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0
    assert db.session.scalar(select(func.count()).select_from(BallotChoice)) == 0
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0
    response = client.post(url, data=form)  # sent again, as the page asks
    assert response.status_code == 302
    assert sealed_ballots() == [([swings.id], 1)]


def test_a_pooled_connection_broken_while_idle_is_replaced_before_use(engine_name, tmp_path):
    """A database restart breaks every idle connection in the pool; pool_pre_ping finds out before a request uses one.

    The app is built with the default engine options, as deployed (the shared fixtures set options of their own).
    """
    if engine_name == "sqlite":
        url = f"sqlite:///{tmp_path / 'pb.sqlite3'}"
    else:
        url = os.environ.get("PB_TEST_POSTGRES_URL") or pytest.skip(POSTGRES_HELP)
    app = create_app({"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": url})
    with app.app_context():
        with db.engine.connect() as connection:  # the pool now holds exactly this connection
            broken = connection.connection.driver_connection
        if engine_name == "sqlite":
            broken.close()
        else:
            _terminate_backend(db.engine, broken.info.backend_pid)
        with db.engine.connect() as connection:
            assert connection.execute(text("SELECT 1")).scalar() == 1
            assert connection.connection.driver_connection is not broken
        db.engine.dispose()


def _terminate_backend(engine, pid: int) -> None:
    other_engine = create_engine(engine.url, poolclass=NullPool)
    with other_engine.connect() as other:
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        for _ in range(100):  # termination is asynchronous
            alive = other.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid})
            if alive.scalar() == 0:
                break
            time.sleep(0.05)
    other_engine.dispose()


class _KillAfter:
    """Terminate the request's own PostgreSQL connection right after its n-th statement, as a restart would."""

    def __init__(self, engine, statement_number: int | None):
        self.engine, self.target, self.count = engine, statement_number, 0

    def __call__(self, connection, cursor, statement, parameters, context, executemany) -> None:
        self.count += 1
        if self.count == self.target:
            _terminate_backend(self.engine, connection.connection.driver_connection.info.backend_pid)


@pytest.fixture
def postgres_app(request):
    url = os.environ.get("PB_TEST_POSTGRES_URL") or pytest.skip(POSTGRES_HELP)
    from tests.conftest import _postgres_config

    testing = getattr(request, "param", True)
    app = create_app({"TESTING": testing, "SECRET_KEY": "test-secret", "SERVER_NAME": "pb.test",
                      **_postgres_config(), "DATABASE_URL": url})
    app.test_client_class = PbClient  # each request in its own app context, so clean-up runs as in a server
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def _page_with_the_database_killed(app, path: str, statement_number: int | None):
    """GET the page, killing the connection after its n-th statement; returns (response, statements run)."""
    killer = _KillAfter(db.engine, statement_number)
    event.listen(db.engine, "after_cursor_execute", killer)
    try:
        response = app.test_client().get(path)  # raises if clean-up ends the request with an exception (a raw 500)
    finally:
        event.remove(db.engine, "after_cursor_execute", killer)
    return response, killer.count


@pytest.mark.postgres
@pytest.mark.parametrize("postgres_app", [True, False], indirect=True, ids=["testing", "deployed"])
def test_a_connection_killed_at_any_point_of_a_request_never_gives_a_raw_500(postgres_app, engine_name):
    """pg_terminate_backend on the request's own connection after each of its statements in turn.

    Killed before its last statement, the request meets the outage itself: the 503 page. Killed after it, while the
    page is finished and only clean-up is left (rolling back the read transaction): before, that clean-up raised
    OperationalError out of Flask's teardown and the server answered a raw 500; now the finished page is served,
    and the connection is thrown away, not given to the next request.
    """
    if engine_name != "postgresql":
        pytest.skip("pg_terminate_backend is PostgreSQL's")
    from tests.conftest import _reset_postgres

    _reset_postgres()
    from pb.models import Cycle, District

    cycle = Cycle(name="Killed mid-request", currency="EUR", phase=Phase.VOTING, rule="greedy", total_budget=1000)
    db.session.add_all([cycle, District(cycle=cycle, name="North", budget=1000)])
    db.session.commit()
    path = f"/cycles/{cycle.id}"
    response, statements = _page_with_the_database_killed(postgres_app, path, None)
    assert response.status_code == 200 and statements >= 2
    for number in range(1, statements + 1):
        response, _ = _page_with_the_database_killed(postgres_app, path, number)
        if number < statements:
            _assert_try_again_page(response)
        else:
            assert response.status_code == 200 and "Killed mid-request" in response.get_data(as_text=True)
    assert postgres_app.test_client().get(path).status_code == 200  # and the next request finds a working connection
