"""Logging in and out, residents creating their account, and everyone changing their password."""

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from pb.blueprints.guards import home, safe_target
from pb.domain.errors import DomainError
from pb.forms import ActionForm, ChangePasswordForm, LoginForm, RegisterForm
from pb.i18n import translate
from pb.security import (
    remember_device,
    start_session_clock,
    throttle_login,
    throttle_password_change,
    throttle_registration,
)
from pb.services import users

bp = Blueprint("auth", __name__)


def _start_session(user) -> None:
    # A fresh session at login: nothing a visitor (or someone who planted a cookie) held before carries over.
    session.clear()
    login_user(user)
    start_session_clock()


@bp.route("/login", methods=["GET", "POST"])
@throttle_login
def login():
    """Log in with email and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("The email address or the password is not right."), "error")
            return render_template("auth/login.html", form=form), 400
        _start_session(user)
        flash(_("Welcome, %(name)s.", name=user.name), "success")
        return remember_device(redirect(safe_target(request.args.get("next"), home())), user.email)
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    """Log out: end this user's sessions everywhere, so no copy of the cookie still works."""
    form = ActionForm()
    if form.validate_on_submit():
        users.log_out(current_user.id)
        logout_user()
        session.clear()
        flash(_("You are logged out."), "success")
    return redirect(home())


@bp.route("/register", methods=["GET", "POST"])
@throttle_registration
def register():
    """Create a resident account."""
    if current_user.is_authenticated:
        return redirect(home())
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.register_resident(form.email.data, form.name.data, form.password.data)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("auth/register.html", form=form), 400
        _start_session(user)
        flash(_("Your account is ready. To vote, a moderator or an official must verify you for your district."), "success")
        return redirect(home())
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@throttle_password_change
def change_password():
    """Change one's password; every other session of the account ends, this one goes on."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            user = users.change_password(current_user, form.current_password.data, form.new_password.data)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("auth/password.html", form=form), 400
        _start_session(user)
        flash(_("Your password is changed. You are logged out everywhere else."), "success")
        return redirect(url_for("auth.change_password"))
    return render_template("auth/password.html", form=form), 400 if form.errors else 200
