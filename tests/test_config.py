"""Configuration: the layering order, and a production app that refuses unsafe settings and says why."""

import secrets
import socket
import uuid

import pytest

from pb import create_app
from pb.config import DEVELOPMENT_SECRET_KEY, ConfigurationError
from pb.database import create_schema
from pb.extensions import db

from tests.conftest import PASSWORD, PbClient, password_hash

SAFE = {
    "ENV": "production",
    "SECRET_KEY": "k" * 48,
    "SESSION_COOKIE_SECURE": True,
    "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
    "BALLOT_KEY": "b" * 48,
    "AUDIT_KEY": "a" * 48,
    "MAIL_SERVER": "smtp.example.org",
    "BASE_URL": "https://pb.example.org",
}


_SAME_SITE = {"Referer": "https://localhost/login"}  # over HTTPS, Flask-WTF also checks where a form came from


def production_app(tmp_path, **overrides):
    return create_app({**SAFE, "DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}", **overrides})


def test_a_production_app_with_safe_settings_starts(tmp_path):
    app = production_app(tmp_path)
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


@pytest.mark.parametrize(("overrides", "reason"), [
    ({"SECRET_KEY": DEVELOPMENT_SECRET_KEY}, "the development key is in use"),
    ({"SECRET_KEY": ""}, "PB_SECRET_KEY is not set"),
    ({"SECRET_KEY": "short-secret"}, "PB_SECRET_KEY is too short (12 characters)"),
    ({"SESSION_COOKIE_SECURE": False}, "PB_SESSION_COOKIE_SECURE is not true"),
    ({"MAIL_SERVER": None}, "PB_MAIL_SERVER is not set"),
    ({"MAIL_BACKEND": "file"}, "PB_MAIL_SERVER is not set"),
    ({"BASE_URL": "http://pb.example.org"}, "PB_BASE_URL is 'http://pb.example.org/'"),
    ({"RATELIMIT_STORAGE_URI": "memory://"}, "PB_RATELIMIT_STORAGE_URI is memory://"),
    ({"RATELIMIT_ENABLED": False}, "PB_RATELIMIT_ENABLED is false"),
    ({"PASSWORD_HASH_COST": {"memory_cost": 4096, "time_cost": 2, "parallelism": 1}}, "below the OWASP minimum"),
    ({"TESTING": True}, "TESTING is on"),
    ({"BALLOT_KEY": None}, "PB_BALLOT_KEY is not set, or is the same as PB_SECRET_KEY"),
    ({"BALLOT_KEY": "k" * 48}, "PB_BALLOT_KEY is not set, or is the same as PB_SECRET_KEY"),
    ({"BALLOT_KEY": "short-ballot-key"}, "PB_BALLOT_KEY is too short (16 characters)"),
    ({"AUDIT_KEY": None}, "PB_AUDIT_KEY is not set"),
    ({"AUDIT_KEY": "k" * 48}, "PB_AUDIT_KEY is the same as PB_SECRET_KEY or PB_BALLOT_KEY"),
    ({"AUDIT_KEY": "b" * 48}, "PB_AUDIT_KEY is the same as PB_SECRET_KEY or PB_BALLOT_KEY"),
    ({"AUDIT_KEY": "short-audit-key"}, "PB_AUDIT_KEY is too short (15 characters)"),
    ({"SESSION_IDLE_MINUTES_OFFICIALS": 60}, "PB_SESSION_IDLE_MINUTES_OFFICIALS (60) must be 1 to 30"),
    ({"SESSION_LIFETIME_HOURS_OFFICIALS": 24}, "PB_SESSION_LIFETIME_HOURS_OFFICIALS (24) 1 to 12"),
])
def test_production_refuses_unsafe_settings_and_says_why(tmp_path, overrides, reason):
    with pytest.raises(ConfigurationError) as refusal:
        production_app(tmp_path, **overrides)
    assert "pb will not start with PB_ENV=production" in str(refusal.value)
    assert reason in str(refusal.value)


def test_production_names_every_problem_at_once(tmp_path):
    with pytest.raises(ConfigurationError) as refusal:
        production_app(tmp_path, SECRET_KEY=DEVELOPMENT_SECRET_KEY, SESSION_COOKIE_SECURE=False)
    assert "PB_SECRET_KEY" in str(refusal.value) and "PB_SESSION_COOKIE_SECURE" in str(refusal.value)


def test_production_is_chosen_by_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("PB_ENV", "production")
    monkeypatch.delenv("PB_SECRET_KEY", raising=False)
    with pytest.raises(ConfigurationError, match="development key"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}"})
    monkeypatch.setenv("PB_SECRET_KEY", "e" * 64)
    monkeypatch.setenv("PB_SESSION_COOKIE_SECURE", "true")
    monkeypatch.setenv("PB_RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379")
    monkeypatch.setenv("PB_BALLOT_KEY", "f" * 64)
    monkeypatch.setenv("PB_AUDIT_KEY", "d" * 64)
    monkeypatch.setenv("PB_MAIL_SERVER", "smtp.example.org")
    monkeypatch.setenv("PB_BASE_URL", "https://pb.example.org")
    assert create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}"}).config["SESSION_COOKIE_SECURE"] is True


def test_development_starts_with_the_development_key():
    assert create_app({"DATABASE_URL": "sqlite://"}).config["SECRET_KEY"] == DEVELOPMENT_SECRET_KEY


def test_development_derives_an_audit_key_of_its_own_from_the_secret_key():
    config = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "s" * 40}).config
    other = create_app({"DATABASE_URL": "sqlite://", "SECRET_KEY": "t" * 40}).config
    assert len(config["AUDIT_KEY"]) == 64 and config["AUDIT_KEY"] not in (config["SECRET_KEY"], config["BALLOT_KEY"])
    assert config["AUDIT_KEY"] != other["AUDIT_KEY"]
    assert create_app({"DATABASE_URL": "sqlite://", "AUDIT_KEY": "given"}).config["AUDIT_KEY"] == "given"


def test_the_suite_hashes_cheaply_but_the_default_is_the_owasp_cost():
    assert create_app({"TESTING": True, "DATABASE_URL": "sqlite://"}).config["PASSWORD_HASH_COST"]["memory_cost"] == 8
    assert create_app({"DATABASE_URL": "sqlite://"}).config["PASSWORD_HASH_COST"] == {
        "memory_cost": 19456, "time_cost": 2, "parallelism": 1}


def _redis_is_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture
def production_client(tmp_path):
    app = production_app(tmp_path)
    app.test_client_class = PbClient
    with app.app_context():
        create_schema()
        client = app.test_client()
        # Redis keeps counting between test runs: a fresh address each time keeps runs from adding up.
        client.environ_base["REMOTE_ADDR"] = f"198.18.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
        yield client
        db.session.remove()
        db.engine.dispose()


def test_production_cookies_are_secure_and_answers_carry_hsts(production_client):
    from pb.models import User

    user = User(email=f"{uuid.uuid4().hex}@example.org", name="P", password_hash=password_hash())
    db.session.add(user)
    db.session.commit()
    page = production_client.get("/login", base_url="https://localhost")
    assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    response = production_client.post("/login", base_url="https://localhost", headers=_SAME_SITE, data={
        "email": user.email, "password": PASSWORD, "csrf_token": _token(page)})
    assert response.status_code == 302, response.get_data(as_text=True)
    cookie = next(value for value in response.headers.getlist("Set-Cookie") if value.startswith("session="))
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.skipif(not _redis_is_up(), reason="needs Redis at 127.0.0.1:6379")
def test_production_counts_attempts_in_redis(production_client):
    email = f"{uuid.uuid4().hex}@example.org"  # a fresh account name: Redis outlives the test
    page = production_client.get("/login", base_url="https://localhost")
    statuses = [
        production_client.post("/login", base_url="https://localhost", headers=_SAME_SITE,
                               data={"email": email, "password": "wrong", "csrf_token": _token(page)}).status_code
        for _ in range(6)
    ]
    assert statuses == [400] * 5 + [429]
    from pb.extensions import limiter

    assert type(limiter.storage).__name__ == "RedisStorage"


def _token(page) -> str:
    import re

    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def test_a_trusted_proxy_gives_the_client_address_for_the_limits(tmp_path):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}",
                      "TRUSTED_PROXY_COUNT": 1, "LOGIN_LIMIT_PER_ADDRESS": "2 per minute"})
    app.test_client_class = PbClient
    with app.app_context():
        create_schema()
        client = app.test_client()

        def attempt(address: str) -> int:
            return client.submit("/login", {"email": f"{uuid.uuid4().hex}@example.org", "password": "x"},
                                 headers={"X-Forwarded-For": address}).status_code

        assert [attempt("198.51.100.1") for _ in range(3)] == [400, 400, 429]
        assert attempt("198.51.100.2") == 400  # another resident behind the same proxy
        db.session.remove()
        db.engine.dispose()


def test_with_redis_down_logins_still_work_and_are_still_counted(tmp_path):
    app = production_app(tmp_path, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1")  # nothing listens on port 1
    app.test_client_class = PbClient
    with app.app_context():
        create_schema()
        client = app.test_client()
        page = client.get("/login", base_url="https://localhost")
        statuses = [
            client.post("/login", base_url="https://localhost", headers=_SAME_SITE,
                        data={"email": "x@example.org", "password": "wrong", "csrf_token": _token(page)}).status_code
            for _ in range(6)
        ]
        db.session.remove()
        db.engine.dispose()
    assert statuses == [400] * 5 + [429]  # counted in memory meanwhile, never a 500


def test_engine_options_given_in_the_environment_add_to_the_defaults(monkeypatch):
    monkeypatch.setenv("PB_SQLALCHEMY_ENGINE_OPTIONS", '{"echo": false}')
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://"})
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True, "echo": False}


def _pragmas(app) -> tuple[int, int, str]:
    from sqlalchemy import text

    with app.app_context():
        return tuple(db.session.execute(text(f"PRAGMA {name}")).scalar() for name in ("synchronous", "foreign_keys",
                                                                                         "journal_mode"))


def test_sqlite_runs_in_wal_with_foreign_keys_and_normal_sync_unless_told_full(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'pb.sqlite3'}"
    assert _pragmas(create_app({"TESTING": True, "DATABASE_URL": url})) == (1, 1, "wal")  # 1 = NORMAL
    monkeypatch.setenv("PB_SQLITE_SYNCHRONOUS", "full")
    assert _pragmas(create_app({"TESTING": True, "DATABASE_URL": url})) == (2, 1, "wal")  # 2 = FULL


@pytest.mark.parametrize("value", ["OFF", "0", "fast", ""])
def test_an_unsafe_or_unknown_sqlite_sync_mode_is_refused_with_the_choices(tmp_path, value):
    with pytest.raises(ConfigurationError, match="PB_SQLITE_SYNCHRONOUS .* use one of NORMAL, FULL, EXTRA"):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'pb.sqlite3'}",
                    "SQLITE_SYNCHRONOUS": value})
