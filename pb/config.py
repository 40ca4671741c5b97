"""Configuration layering: defaults, then instance/config.py, then PB_* environment variables, then test overrides."""

import hashlib
import hmac
import os
from urllib.parse import urlsplit

from flask import Flask

DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-change-me"
MIN_SECRET_KEY_LENGTH = 32

# argon2id cost: OWASP's first recommended setting (19 MiB, 2 passes, 1 lane), at or above ASVS 5.0's minimum.
STRONG_PASSWORD_HASH_COST = {"memory_cost": 19 * 1024, "time_cost": 2, "parallelism": 1}
# OWASP lists equivalent trade-offs (47 MiB × 1 … 7 MiB × 5); each keeps memory × passes at or above this.
MIN_PASSWORD_HASH_MEMORY_KIB = 7 * 1024
MIN_PASSWORD_HASH_WORK = 7 * 1024 * 5
# Tests log in thousands of times and never test hashing strength through the app; tests/test_security.py does.
TESTING_PASSWORD_HASH_COST = {"memory_cost": 8, "time_cost": 1, "parallelism": 1}

DEFAULTS = {
    "ENV": "development",  # PB_ENV=production turns on the checks in check_production()
    "SECRET_KEY": DEVELOPMENT_SECRET_KEY,
    "DATABASE_URL": None,  # None: SQLite in the instance folder
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SQLITE_SYNCHRONOUS": "NORMAL",  # see pb/database.py: FULL also survives a power cut, at a flush per commit
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session; a resident may take time over a ballot
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_SECURE": False,  # must be true in production (HTTPS only); check_production() insists
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "PASSWORD_HASH_COST": STRONG_PASSWORD_HASH_COST,
    # How many reverse proxies in front of pb set X-Forwarded-For/-Proto; 0 trusts none (direct exposure).
    "TRUSTED_PROXY_COUNT": 0,
    "HSTS_MAX_AGE": 365 * 24 * 3600,
    # Flask-Limiter. Every key is set here because the one limiter object keeps what the first app told it.
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_STORAGE_URI": "memory://",  # one process only; production needs redis://host:6379
    "RATELIMIT_STRATEGY": "fixed-window",
    "RATELIMIT_HEADERS_ENABLED": False,
    "RATELIMIT_SWALLOW_ERRORS": True,  # Redis down: count in memory for a while rather than refuse every login
    "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
    "RATELIMIT_KEY_PREFIX": "pb",
    # Limits per account (email typed, or the logged-in user) and per address, in Flask-Limiter's notation.
    # Logins count failures only; a browser holding the account's device cookie (set at its last successful login)
    # is limited per device instead, so a stranger's failures cannot lock the owner out (pb/security.py).
    "LOGIN_LIMIT_PER_ACCOUNT": "5 per minute; 30 per hour",
    "LOGIN_LIMIT_PER_ADDRESS": "60 per minute; 600 per hour",  # generous: many voters share one address (NAT)
    "LOGIN_LIMIT_PER_DEVICE": "5 per minute; 30 per hour",
    "DEVICE_COOKIE_DAYS": 180,
    # Sessions end after this long without a request (idle) or since the login (lifetime), whatever happens in between:
    # officials and moderators as ASVS 3.3 asks at level 2, residents (who may take their time over a ballot) later.
    "SESSION_IDLE_MINUTES_OFFICIALS": 30,
    "SESSION_LIFETIME_HOURS_OFFICIALS": 12,
    "SESSION_IDLE_MINUTES_RESIDENTS": 120,
    "SESSION_LIFETIME_HOURS_RESIDENTS": 24,
    "REGISTER_LIMIT_PER_ADDRESS": "20 per hour",
    "PASSWORD_CHANGE_LIMIT_PER_ACCOUNT": "5 per minute; 20 per hour",
    # Forms that send an email (password reset, confirmation again, address change): per address typed and per
    # client address, so nobody can fill a stranger's mailbox or pb's outbox through them.
    "ACCOUNT_MAIL_LIMIT_PER_ACCOUNT": "3 per minute; 10 per hour",
    "ACCOUNT_MAIL_LIMIT_PER_ADDRESS": "20 per minute; 100 per hour",
    "CONFIRM_LINK_HOURS": 48,  # a link confirming an address (at registration or a change) works this long
    "RESET_LINK_MINUTES": 60,  # a password reset link works this long, and once
    # Above the stored lockout (5 failures per cycle, pb/services/verification.py), whose message says what to do.
    "VERIFICATION_LIMIT_PER_ACCOUNT": "10 per minute; 60 per hour",
    "VERIFICATION_LIMIT_PER_ADDRESS": "30 per minute; 300 per hour",
    # Comments: a limit per account in the limiter (per worker with memory://), and the same per minute counted in
    # the database by the service, so it holds across workers; an author may edit a comment for this long.
    "COMMENT_LIMIT_PER_ACCOUNT": "5 per minute; 50 per day",
    "COMMENTS_PER_MINUTE": 5,
    "COMMENT_EDIT_MINUTES": 15,
    # The address residents reach pb at: links in emails start with it (the worker has no request to read it from).
    "BASE_URL": "http://127.0.0.1:5000",
    # Mail (Flask-Mailman's settings under the PB_ prefix). Without PB_MAIL_SERVER, development mail is written to
    # files in instance/mail/ instead of being sent; production refuses to start without a server.
    "MAIL_SERVER": None,
    "MAIL_PORT": 25,
    "MAIL_USERNAME": None,
    "MAIL_PASSWORD": None,
    "MAIL_USE_TLS": False,
    "MAIL_USE_SSL": False,
    "MAIL_TIMEOUT": 30,
    "MAIL_DEFAULT_SENDER": "pb <pb@localhost>",
    "MAIL_MESSAGE_ID_DOMAIN": None,  # None: the host of BASE_URL
    "MAIL_BATCH_SIZE": 200,  # messages one worker claims at a time
    "MAIL_CLAIM_SECONDS": 300,  # a claimed message is another worker's to send again after this (its worker died)
    "MAIL_MAX_ATTEMPTS": 10,  # then the message is marked failed and shown to officials
    "MAIL_RETRY_FIRST_SECONDS": 60,  # waits double after each failure, up to the longest
    "MAIL_RETRY_LONGEST_SECONDS": 3600,
    "MAIL_MAX_PER_SECOND": 0,  # at most this many messages per second per worker (0: as fast as the server takes them)
    "MAIL_KEEP_DAYS": 30,  # sent (and finally failed) messages are deleted after this: they hold addresses
    "MAIL_WARN_PENDING_MINUTES": 30,  # the administration page warns when pending mail is older than this
    "MAIL_ALERT_PENDING_MINUTES": 60,  # officials are emailed when pending mail is older than this, or mail failed
    "MAIL_ALERT_EVERY_HOURS": 6,  # ... at most once in this many hours
    "WORKER_INTERVAL_SECONDS": 5,  # how often the worker looks for due mail and scheduled work
    # The time zone a new cycle's timetable is entered and shown in (an IANA name); each cycle may choose another.
    "TIMEZONE": "UTC",
    # Hours before voting closes that residents who have not voted yet are reminded (once per cycle, by the worker).
    "VOTING_REMINDER_HOURS": 48,
    "MODERATION_DIGEST_HOUR": 7,
    # Photos and documents of proposals (pb/storage.py): files in UPLOAD_FOLDER (None: instance/uploads/), or, when
    # S3_BUCKET is set, in that bucket of an S3-compatible store (AWS, MinIO, ...; S3_ENDPOINT_URL for a non-AWS one).
    "UPLOAD_FOLDER": None,
    "S3_BUCKET": None,
    "S3_ENDPOINT_URL": None,
    "S3_ACCESS_KEY_ID": None,
    "S3_SECRET_ACCESS_KEY": None,
    "S3_REGION": None,
    "MAX_UPLOAD_BYTES": 10 * 1024 * 1024,  # one photo or document; only the upload forms take more than MAX_CONTENT_LENGTH  # the moderators' daily digest goes out at the first worker round from this UTC hour
}


class ConfigurationError(RuntimeError):
    """The settings are not safe to serve with; the message says what to change."""


def load(app: Flask, test_config: dict | None) -> None:
    """Fill app.config in the agreed order; read the environment only now, never at import time."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PB")
    if test_config:
        app.config.from_mapping(test_config)
    if app.config.get("TESTING") and "PASSWORD_HASH_COST" not in (test_config or {}):
        app.config["PASSWORD_HASH_COST"] = TESTING_PASSWORD_HASH_COST
    app.config["REMEMBER_COOKIE_SECURE"] = bool(app.config["SESSION_COOKIE_SECURE"])
    # Engine options given anywhere add to the defaults rather than replace them (pool_pre_ping must stay).
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **DEFAULTS["SQLALCHEMY_ENGINE_OPTIONS"], **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    }
    url = app.config.get("DATABASE_URL") or "sqlite:///" + os.path.join(app.instance_path, "pb.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["BASE_URL"] = str(app.config["BASE_URL"]).rstrip("/") + "/"
    if not app.config.get("MAIL_MESSAGE_ID_DOMAIN"):
        app.config["MAIL_MESSAGE_ID_DOMAIN"] = urlsplit(app.config["BASE_URL"]).hostname or "localhost"
    app.config.setdefault("BALLOT_KEY", app.config["SECRET_KEY"])
    if not is_production(app.config):
        # Development only: production must be given a key of its own (production_problems says so).
        app.config.setdefault("AUDIT_KEY", _derived_key(app.config["SECRET_KEY"], b"pb audit key"))
    # A key of its own, derived so that knowing one hashed register tells nothing about the other keys.
    app.config.setdefault(
        "REGISTER_KEY", hmac.new(str(app.config["SECRET_KEY"]).encode(), b"pb register key", hashlib.sha256).hexdigest()
    )
    if is_production(app.config):
        check_production(app.config)


def _derived_key(secret: object, purpose: bytes) -> str:
    return hmac.new(str(secret).encode(), purpose, hashlib.sha256).hexdigest()


def is_production(config) -> bool:
    return str(config.get("ENV", "")).strip().lower() == "production"


def production_problems(config) -> list[str]:
    """Why these settings are not fit to serve the public, one readable reason each (empty: fit)."""
    problems = []
    secret = str(config.get("SECRET_KEY") or "")
    if not secret or secret == DEVELOPMENT_SECRET_KEY:
        problems.append(
            "PB_SECRET_KEY is not set (the development key is in use); set it to a long random value, "
            "for example the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'."
        )
    elif len(secret) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"PB_SECRET_KEY is too short ({len(secret)} characters); use at least {MIN_SECRET_KEY_LENGTH}.")
    if config.get("SESSION_COOKIE_SECURE") is not True:
        problems.append(
            "PB_SESSION_COOKIE_SECURE is not true; serve pb over HTTPS and set PB_SESSION_COOKIE_SECURE=true "
            "so the session cookie never travels unencrypted."
        )
    problems += _key_problems(config, secret)
    problems += _mail_problems(config)
    idle, lifetime = config.get("SESSION_IDLE_MINUTES_OFFICIALS"), config.get("SESSION_LIFETIME_HOURS_OFFICIALS")
    if not (isinstance(idle, int) and 0 < idle <= 30 and isinstance(lifetime, int) and 0 < lifetime <= 12):
        problems.append(
            f"PB_SESSION_IDLE_MINUTES_OFFICIALS ({idle!r}) must be 1 to 30 and PB_SESSION_LIFETIME_HOURS_OFFICIALS "
            f"({lifetime!r}) 1 to 12, so that an official's forgotten session ends (OWASP ASVS 3.3, level 2)."
        )
    if config.get("TESTING"):
        problems.append("TESTING is on; it weakens password hashing and error pages and is for the test suite only.")
    cost = config.get("PASSWORD_HASH_COST") or {}
    memory, passes = int(cost.get("memory_cost", 0)), int(cost.get("time_cost", 0))
    if memory < MIN_PASSWORD_HASH_MEMORY_KIB or memory * passes < MIN_PASSWORD_HASH_WORK:
        problems.append(
            f"PB_PASSWORD_HASH_COST {cost} is below the OWASP minimum for argon2id "
            f"(for example memory_cost=19456 KiB with time_cost=2)."
        )
    if not config.get("RATELIMIT_ENABLED"):
        problems.append("PB_RATELIMIT_ENABLED is false; login and verification would not be throttled.")
    elif str(config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        problems.append(
            "PB_RATELIMIT_STORAGE_URI is memory://, which counts per worker process and forgets on restart; "
            "set it to a shared store, for example redis://127.0.0.1:6379."
        )
    return problems


def _key_problems(config, secret: str) -> list[str]:
    """The ballot and audit keys: each set, long, random and different from the other keys."""
    problems = []
    how = "for example the output of: python3 -c 'import secrets; print(secrets.token_hex(32))'"
    ballot_key = str(config.get("BALLOT_KEY") or "")
    if not ballot_key or ballot_key == secret:
        problems.append(
            "PB_BALLOT_KEY is not set, or is the same as PB_SECRET_KEY; give it a long random value of its own, "
            f"{how}. Keep it safe and never change it during a vote."
        )
    elif len(ballot_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"PB_BALLOT_KEY is too short ({len(ballot_key)} characters); use at least {MIN_SECRET_KEY_LENGTH}.")
    audit_key = str(config.get("AUDIT_KEY") or "")
    if not audit_key:
        problems.append(f"PB_AUDIT_KEY is not set; give it a long random value of its own, {how}.")
    elif audit_key in (secret, ballot_key):
        problems.append("PB_AUDIT_KEY is the same as PB_SECRET_KEY or PB_BALLOT_KEY; give it a value of its own.")
    elif len(audit_key) < MIN_SECRET_KEY_LENGTH:
        problems.append(f"PB_AUDIT_KEY is too short ({len(audit_key)} characters); use at least {MIN_SECRET_KEY_LENGTH}.")
    return problems


def _mail_problems(config) -> list[str]:
    """Mail must reach residents (a real server) and its links must reach pb (the public HTTPS address)."""
    problems = []
    if not config.get("MAIL_SERVER") or config.get("MAIL_BACKEND") not in (None, "", "smtp"):
        problems.append(
            "PB_MAIL_SERVER is not set: pb could not send password resets or notifications. Set PB_MAIL_SERVER, "
            "PB_MAIL_PORT, PB_MAIL_USERNAME, PB_MAIL_PASSWORD, PB_MAIL_USE_TLS and PB_MAIL_DEFAULT_SENDER."
        )
    if not str(config.get("BASE_URL", "")).startswith("https://"):
        problems.append(
            f"PB_BASE_URL is {config.get('BASE_URL')!r}; set it to the public https:// address residents use, "
            "so that links in emails reach pb."
        )
    return problems


def check_production(config) -> None:
    """Refuse to build a production app with unsafe settings, saying every reason at once."""
    problems = production_problems(config)
    if problems:
        raise ConfigurationError(
            "pb will not start with PB_ENV=production:\n" + "\n".join(f"- {problem}" for problem in problems)
        )
