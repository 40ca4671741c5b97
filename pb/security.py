"""Who is logged in: Flask-Login wiring and password hashing."""

from flask import Flask, abort, request
from werkzeug.security import check_password_hash, generate_password_hash

from pb.extensions import csrf, db, login_manager


def hash_password(password: str) -> str:
    return generate_password_hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, password)


def _load_user(user_id: str):
    from pb.models import User

    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


def _refuse_control_characters() -> None:
    # A NUL byte cannot be stored in a PostgreSQL text column; refuse it before it reaches a form.
    values = [*request.form.values(), *request.args.values()]
    if any("\x00" in value for value in values):
        abort(400, description="The form contains characters that are not allowed. Nothing was changed.")


def init_app(app: Flask) -> None:
    app.before_request(_refuse_control_characters)
    login_manager.init_app(app)
    login_manager.user_loader(_load_user)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"
    csrf.init_app(app)
