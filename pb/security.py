"""Who is logged in and how safely: password hashing, session cookies that can be revoked, throttling, headers."""

from collections.abc import Callable

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, request
from flask_limiter.util import get_remote_address
from flask_login import current_user
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


# --- throttling ----------------------------------------------------------------------------------------------------


def _address() -> str:
    return f"address:{get_remote_address() or 'unknown'}"


def _typed_account() -> str:
    """The account someone is trying to log in to, as typed; without one, their address."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"email:{email}" if email else _address()


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
throttle_login = _throttle(
    limiter.limit(_setting("LOGIN_LIMIT_PER_ACCOUNT"), key_func=_typed_account, methods=["POST"]),
    limiter.limit(_setting("LOGIN_LIMIT_PER_ADDRESS"), key_func=_address, methods=["POST"]),
)
throttle_registration = limiter.limit(_setting("REGISTER_LIMIT_PER_ADDRESS"), key_func=_address, methods=["POST"])
throttle_password_change = limiter.limit(
    _setting("PASSWORD_CHANGE_LIMIT_PER_ACCOUNT"), key_func=_logged_in_account, methods=["POST"]
)
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
    app.after_request(_add_security_headers)
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
