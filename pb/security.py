"""Who is logged in and how safely: password hashing, session cookies that can be revoked, throttling, headers."""

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.security import check_password_hash

from pb.config import is_production
from pb.domain.messages import N_
from pb.extensions import csrf, db, limiter, login_manager

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


# --- passwords -----------------------------------------------------------------------------------------------------


def _hasher() -> PasswordHasher:
    return PasswordHasher(type=Type.ID, **current_app.config["PASSWORD_HASH_COST"])


def generate_password_hash(password: str) -> str:
    """An argon2id hash at the configured cost (the name is the one the use-case tests swap for a cheap hash)."""
    return _hasher().hash(password)


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Check a password against an argon2 hash or an older Werkzeug (scrypt, pbkdf2) one."""
    if password_hash.startswith("$argon2"):
        try:
            return _hasher().verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
    try:
        return check_password_hash(password_hash, password)
    except ValueError:  # an unknown or damaged hash matches nothing
        return False


def needs_new_hash(password_hash: str) -> bool:
    """Whether a matching password should be hashed again: an older method, or argon2 at another cost."""
    if not password_hash.startswith("$argon2id$"):
        return True
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


# --- sessions ------------------------------------------------------------------------------------------------------


def _load_user(session_id: str):
    """The user a session cookie names, only while its session version is current and the account enabled."""
    from pb.models import User

    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()) or len(user_id) > 10:
        return None  # includes cookies from before session versions: those log in again
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_enabled or user.session_version != int(version):
        return None
    return user


# Both times live in the signed session cookie, so the server needs no state of its own and a copied cookie expires
# on the same schedule as the original: seconds since the epoch, set at login and (the second) at each request.
SESSION_STARTED, SESSION_SEEN = "pb_started", "pb_seen"
_SEEN_RESOLUTION = 60  # refresh "seen" at most once a minute, so not every answer re-sends the cookie


def start_session_clock() -> None:
    """Start the idle and absolute timers of a session that has just logged in."""
    session[SESSION_STARTED] = session[SESSION_SEEN] = int(time.time())


def _session_limits(user) -> tuple[int, int]:
    """(idle, lifetime) in seconds for this user's role."""
    group = "OFFICIALS" if user.is_moderator or user.is_official else "RESIDENTS"
    config = current_app.config
    return int(config[f"SESSION_IDLE_MINUTES_{group}"]) * 60, int(config[f"SESSION_LIFETIME_HOURS_{group}"]) * 3600


def _end_expired_session():
    """Log out a session idle or older than its role allows, and say so; sessions from before these timers count too."""
    if request.endpoint == "static" or "_user_id" not in session or not current_user.is_authenticated:
        return None
    now, started, seen = int(time.time()), session.get(SESSION_STARTED), session.get(SESSION_SEEN)
    idle, lifetime = _session_limits(current_user)
    if isinstance(started, int) and isinstance(seen, int) and now - seen <= idle and now - started <= lifetime:
        if now - seen >= _SEEN_RESOLUTION:
            session[SESSION_SEEN] = now
        return None
    logout_user()
    session.clear()
    if request.blueprint == "api":
        return None  # the open data API needs no login; it simply answers as to anyone
    if request.method == "GET":
        flash(_("Your session expired, please log in again."), "info")
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    flash(_("Your session expired, so what you sent was not saved. Please log in again and send it once more."), "info")
    return redirect(url_for("auth.login"))


# --- throttling ----------------------------------------------------------------------------------------------------


def _address() -> str:
    return f"address:{get_remote_address() or 'unknown'}"


def _typed_account() -> str:
    """The account someone is trying to log in to, as typed; without one, their address."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"email:{email}" if email else _address()


# Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device Cookies"): a successful login leaves a signed
# cookie in that browser naming the account (as a keyed hash) and a random nonce. A login attempt from a browser
# holding the cookie for the account typed is limited per device cookie only; every other attempt is limited per
# account and per address. Only failures count. So a stranger's wrong passwords lock out untrusted browsers, never
# the owner's own browser, and a thief of one cookie gets no more guesses than the per-device limit.
DEVICE_COOKIE = "pb_device"
_DEVICE_SALT = "pb-device-cookie"
_MAX_DEVICE_ACCOUNTS = 5  # accounts remembered by one browser (a shared family computer)


def _account_tag(email: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, b"device|" + email.strip().lower().encode(), hashlib.sha256).hexdigest()[:32]


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_DEVICE_SALT)


def _device_entries() -> list[dict]:
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        entries = _device_serializer().loads(raw, max_age=int(current_app.config["DEVICE_COOKIE_DAYS"]) * 86400)
    except BadData:
        return []
    if not isinstance(entries, list):
        return []
    return [entry for entry in entries
            if isinstance(entry, dict) and isinstance(entry.get("a"), str) and isinstance(entry.get("n"), str)]


def _trusted_device() -> str:
    """The nonce of this browser's device cookie for the account being logged in to, or "" (an untrusted client)."""
    if "pb_trusted_device" not in g:
        email = (request.form.get("email") or "").strip().lower()[:254]
        tag = _account_tag(email) if email else None
        g.pb_trusted_device = next((entry["n"] for entry in _device_entries() if entry["a"] == tag), "")
    return g.pb_trusted_device


def _is_untrusted_client() -> bool:
    return not _trusted_device()


def _is_trusted_device() -> bool:
    return bool(_trusted_device())


def _device_key() -> str:
    return f"device:{_trusted_device()}"


def _login_failed(response) -> bool:
    return response.status_code != 302  # only a successful login redirects


def remember_device(response, email: str):
    """Give this browser a new device cookie for the account that just logged in (OWASP: one per successful login)."""
    tag = _account_tag(email)
    entries = [{"a": tag, "n": secrets.token_urlsafe(16)}]
    entries += [entry for entry in _device_entries() if entry["a"] != tag][: _MAX_DEVICE_ACCOUNTS - 1]
    days = int(current_app.config["DEVICE_COOKIE_DAYS"])
    response.set_cookie(
        DEVICE_COOKIE, _device_serializer().dumps(entries), max_age=days * 86400, path=url_for("auth.login"),
        secure=bool(current_app.config["SESSION_COOKIE_SECURE"]), httponly=True, samesite="Lax",
    )
    return response


def _logged_in_account() -> str:
    return f"user:{current_user.id}" if current_user.is_authenticated else _address()


def _setting(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


def _throttle(*limits) -> Callable:
    def decorator(view: Callable) -> Callable:
        for limit in reversed(limits):
            view = limit(view)
        return view

    return decorator


# Only submissions count: showing a form is free. The limiter refuses before the view runs, so a 429 changes nothing.
# Logins count failed attempts only (checked before, counted after the answer): a burst of simultaneous guesses may
# pass the limit by at most the number of requests served at once.
throttle_login = _throttle(
    limiter.limit(_setting("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_typed_account, methods=["POST"],
                  exempt_when=_is_trusted_device, deduct_when=_login_failed),
    limiter.limit(_setting("LOGIN_LIMIT_PER_ADDRESS"), key_func=_address, methods=["POST"],
                  exempt_when=_is_trusted_device, deduct_when=_login_failed),
    limiter.limit(_setting("LOGIN_LIMIT_PER_DEVICE"), key_func=_device_key, methods=["POST"],
                  exempt_when=_is_untrusted_client, deduct_when=_login_failed),
)
throttle_registration = limiter.limit(_setting("REGISTER_LIMIT_PER_ADDRESS"), key_func=_address, methods=["POST"])
throttle_password_change = limiter.limit(
    _setting("PASSWORD_CHANGE_LIMIT_PER_ACCOUNT"), key_func=_logged_in_account, methods=["POST"]
)
# Forms that make pb send an email share one budget per account (typed or logged in) and one per client address:
# password reset requests, resets, confirmation again, address changes, and following emailed links.
throttle_account_mail = _throttle(
    limiter.shared_limit(_setting("ACCOUNT_MAIL_LIMIT_PER_ACCOUNT"), scope="account-mail-account",
                         key_func=lambda: _typed_account() if not current_user.is_authenticated else _logged_in_account(),
                         methods=["POST"]),
    limiter.shared_limit(_setting("ACCOUNT_MAIL_LIMIT_PER_ADDRESS"), scope="account-mail-address", key_func=_address,
                         methods=["POST"]),
)
# Following an emailed link (GET) is limited per address only: guessing tokens is hopeless, but cheap to bound.
throttle_links = limiter.limit(_setting("ACCOUNT_MAIL_LIMIT_PER_ADDRESS"), key_func=_address)
# Register details and voting codes share one budget, so alternating between the two forms gains a guesser nothing.
throttle_verification = _throttle(
    limiter.shared_limit(
        _setting("VERIFICATION_LIMIT_PER_ACCOUNT"), scope="verification-account", key_func=_logged_in_account,
        methods=["POST"],
    ),
    limiter.shared_limit(
        _setting("VERIFICATION_LIMIT_PER_ADDRESS"), scope="verification-address", key_func=_address, methods=["POST"]
    ),
)


# --- requests and responses ----------------------------------------------------------------------------------------


def _refuse_control_characters() -> None:
    # A NUL byte cannot be stored in a PostgreSQL text column; refuse it before it reaches a form.
    values = [*request.form.values(), *request.args.values()]
    if any("\x00" in value for value in values):
        abort(400, description=N_("The form contains characters that are not allowed. Nothing was changed."))


def _add_security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if is_production(current_app.config):
        response.headers.setdefault(
            "Strict-Transport-Security", f"max-age={int(current_app.config['HSTS_MAX_AGE'])}; includeSubDomains"
        )
    return response


def init_app(app: Flask) -> None:
    proxies = int(app.config["TRUSTED_PROXY_COUNT"])
    if proxies:
        # Behind a reverse proxy, take the client's address and scheme from the headers that proxy sets.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.before_request(_refuse_control_characters)
    # Before CSRF protection (registered below): an expired session is told so, not shown "the form has expired".
    app.before_request(_end_expired_session)
    app.after_request(_add_security_headers)
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
