"""A person's own profile: name, address, language, which emails they get, their data, and deleting the account."""

import json

from flask import Blueprint, Response, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from pb.domain.errors import DomainError
from pb.domain.notifications import KINDS, SECURITY
from pb.forms import ChangeEmailForm, DeleteAccountForm, ProfileForm, options
from pb.i18n import LANGUAGE_COOKIE, LANGUAGES, translate
from pb.models import utcnow
from pb.security import throttle_account_mail, throttle_links, throttle_password_change
from pb.services import accounts

bp = Blueprint("profile", __name__)


@bp.app_template_filter("person")
def person(user) -> str:
    """A person's name as pages show it: "a former resident", in the reader's language, once the account is deleted."""
    return accounts.display_name(user)


def _profile_form(formdata: object = ...) -> ProfileForm:
    form = ProfileForm() if formdata is ... else ProfileForm(formdata=formdata)
    form.locale.choices = options([("", _("The language of my browser")), *LANGUAGES.items()])
    form.wanted.choices = options(
        [(kind, translate(KINDS[kind])) for kind in accounts.kinds_for(current_user) if kind != SECURITY]
    )
    return form


def _show(form: ProfileForm, email_form: ChangeEmailForm | None = None, status: int = 200):
    return render_template("profile/show.html", form=form, email_form=email_form or ChangeEmailForm(),
                           security_label=KINDS[SECURITY]), status


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def show():
    """The profile: name, language and email choices; links to the address, password, data and deletion."""
    form = _profile_form()
    if not form.is_submitted():
        return _show(_filled())
    if not form.validate():
        return _show(form, status=400)
    try:
        accounts.update_profile(current_user, form.name.data, form.locale.data, form.wanted.data or [])
    except DomainError as error:
        flash(translate(error.message), "error")
        return _show(form, status=400)
    flash(_("Your profile is saved."), "success")
    response = redirect(url_for("profile.show"))
    if form.locale.data:
        # The profile's language is the reader's choice from now on, over an older choice in the switch.
        response.delete_cookie(LANGUAGE_COOKIE)
    return response


@bp.post("/profile/email")
@login_required
@throttle_password_change
@throttle_account_mail
def change_email():
    """Ask to change the address: a link goes to the new one, and the old one is told."""
    email_form = ChangeEmailForm()
    if not email_form.validate_on_submit():
        return _show(_filled(), email_form, 400)
    try:
        new_email = accounts.request_email_change(current_user, email_form.new_email.data, email_form.password.data)
    except DomainError as error:
        flash(translate(error.message), "error")
        return _show(_filled(), email_form, 400)
    flash(_("We sent a link to %(email)s. Your address changes when you open it; until then it stays %(old)s.",
            email=new_email, old=current_user.email), "success")
    return redirect(url_for("profile.show"))


def _filled() -> ProfileForm:
    form = _profile_form(formdata=None)
    form.name.data = current_user.name
    form.locale.data = current_user.locale or ""
    muted = set((current_user.muted_notifications or "").split())
    form.wanted.data = [choice.value for choice in form.wanted.choices if choice.value not in muted]
    return form


@bp.get("/profile/email/confirm/<token>")
@throttle_links
def confirm_email_change(token: str):
    """Follow the link sent to the new address: the account's address changes."""
    try:
        accounts.confirm_email_change(token)
    except DomainError as error:
        flash(translate(error.message), "error")
        return render_template("auth/link_failed.html"), 400
    flash(_("Your email address is changed. Log in with the new address from now on."), "success")
    return redirect(url_for("profile.show") if current_user.is_authenticated else url_for("auth.login"))


@bp.get("/profile/my-data.json")
@login_required
def download():
    """Everything pb holds about the logged-in person, as a JSON file."""
    data = accounts.personal_data(current_user)
    data["ballot_choices"] = translate(accounts.BALLOT_CHOICES)
    body = json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False)
    filename = f"pb-my-data-{utcnow():%Y-%m-%d}.json"
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})


@bp.route("/profile/delete", methods=["GET", "POST"])
@login_required
@throttle_password_change
def delete():
    """Delete one's account, confirmed with the password."""
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            accounts.delete_account(current_user, form.password.data)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("profile/delete.html", form=form), 400
        logout_user()
        session.clear()
        flash(_("Your account is deleted. Thank you for taking part."), "success")
        return redirect(url_for("public.home"))
    return render_template("profile/delete.html", form=form), 400 if form.errors else 200
