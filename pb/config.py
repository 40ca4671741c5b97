"""Configuration layering: defaults, then instance/config.py, then PB_* environment variables, then test overrides."""

import hashlib
import hmac
import os

from flask import Flask

DEVELOPMENT_SECRET_KEY = "dev-only-secret-key-change-me"

DEFAULTS = {
    "SECRET_KEY": DEVELOPMENT_SECRET_KEY,
    "DATABASE_URL": None,  # None: SQLite in the instance folder
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session; a resident may take time over a ballot
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
}


def load(app: Flask, test_config: dict | None) -> None:
    """Fill app.config in the agreed order; read the environment only now, never at import time."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("PB")
    if test_config:
        app.config.from_mapping(test_config)
    url = app.config.get("DATABASE_URL") or "sqlite:///" + os.path.join(app.instance_path, "pb.sqlite3")
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config.setdefault("BALLOT_KEY", app.config["SECRET_KEY"])
    # A key of its own, derived so that knowing one hashed register tells nothing about the other keys.
    app.config.setdefault(
        "REGISTER_KEY", hmac.new(str(app.config["SECRET_KEY"]).encode(), b"pb register key", hashlib.sha256).hexdigest()
    )
