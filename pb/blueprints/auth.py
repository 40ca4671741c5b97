"""Logging in and out, residents creating their account and confirming its address, and passwords (changed or reset)."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from pb.blueprints.guards import home, safe_target
from pb.domain.errors import DomainError
from pb.forms import (
    ActionForm,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from pb.i18n import current_language, translate
from pb.security import (
    remember_device,
    start_session_clock,
    throttle_account_mail,
    throttle_links,
    throttle_login,
    throttle_password_change,
    throttle_registration,
)
from pb.services import accounts, users

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
@throttle_account_mail
def register():
    """Create a resident account; the answer is the same whether or not the address already had one."""
    if current_user.is_authenticated:
        return redirect(home())
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            users.register_resident(form.email.data, form.name.data, form.password.data, current_language())
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("auth/register.html", form=form), 400
        return render_template("auth/registered.html", email=users.normalise_email(form.email.data))
    return render_template("auth/register.html", form=form), 400 if form.errors else 200


@bp.get("/confirm/<token>")
@throttle_links
def confirm_email(token: str):
    """Follow the emailed link: the account's address is confirmed."""
    try:
        user = accounts.confirm_email(token)
    except DomainError as error:
        flash(translate(error.message), "error")
        return render_template("auth/link_failed.html"), 400
    flash(_("Thank you, your email address is confirmed."), "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(home())
    return redirect(url_for("auth.login"))


@bp.post("/account/confirm/resend")
@login_required
@throttle_account_mail
def resend_confirmation():
    """Send the confirmation email again."""
    form = ActionForm()
    if form.validate_on_submit():
        try:
            accounts.resend_confirmation(current_user)
        except DomainError as error:
            flash(translate(error.message), "error")
        else:
            flash(_("We sent the confirmation email again to %(email)s. The link in it works for %(hours)s hours.",
                    email=current_user.email, hours=current_app.config["CONFIRM_LINK_HOURS"]), "success")
    return redirect(safe_target(request.form.get("next"), url_for("profile.show")))


@bp.route("/forgot-password", methods=["GET", "POST"])
@throttle_account_mail
def forgot_password():
    """Ask for a password reset link; the answer never tells whether the address has an account."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        accounts.request_password_reset(form.email.data)
        return render_template("auth/reset_sent.html", email=users.normalise_email(form.email.data))
    return render_template("auth/forgot_password.html", form=form), 400 if form.errors else 200


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@throttle_links
@throttle_account_mail
def reset_password(token: str):
    """Choose a new password from the emailed link (it works once, for a limited time)."""
    try:
        accounts.check_reset_link(token)
    except DomainError as error:
        flash(translate(error.message), "error")
        return render_template("auth/link_failed.html", forgot=True), 400
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.new_password.data)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("auth/reset_password.html", form=form), 400
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash(_("Your password is changed and you are logged out everywhere. Log in with the new password."), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form), 400 if form.errors else 200


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
