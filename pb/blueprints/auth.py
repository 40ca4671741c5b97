"""Logging in and out, and residents creating their account."""

from flask import Blueprint, flash, redirect, render_template, request, session
from flask_login import current_user, login_required, login_user, logout_user

from pb.blueprints.guards import home, safe_target
from pb.domain.errors import DomainError
from pb.forms import ActionForm, LoginForm, RegisterForm
from pb.services import users

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Log in with email and password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is None:
            flash("The email address or the password is not right.", "error")
            return render_template("auth/login.html", form=form), 400
        session.clear()  # a fresh session at login, so no one can fix a session id in advance
        login_user(user)
        flash(f"Welcome, {user.name}.", "success")
        return redirect(safe_target(request.args.get("next"), home()))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


@bp.post("/logout")
@login_required
def logout():
    """Log out and forget the session."""
    form = ActionForm()
    if form.validate_on_submit():
        logout_user()
        session.clear()
        flash("You are logged out.", "success")
    return redirect(home())


@bp.route("/register", methods=["GET", "POST"])
def register():
    """Create a resident account."""
    if current_user.is_authenticated:
        return redirect(home())
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = users.register_resident(form.email.data, form.name.data, form.password.data)
        except DomainError as error:
            flash(error.message, "error")
            return render_template("auth/register.html", form=form), 400
        session.clear()
        login_user(user)
        flash("Your account is ready. To vote, a moderator or an official must verify you for your district.", "success")
        return redirect(home())
    return render_template("auth/register.html", form=form), 400 if form.errors else 200

