"""The privacy notice: a public page whose text officials set, with pb's own default until they do."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pb.blueprints.guards import official_required
from pb.domain.errors import DomainError
from pb.forms import SiteTextForm
from pb.i18n import translate
from pb.services import site_texts

bp = Blueprint("privacy", __name__)


@bp.get("/privacy")
def show():
    """What pb stores about people, why, for how long, and what they can do about it."""
    stored = site_texts.get(site_texts.PRIVACY)
    return render_template("privacy/show.html", stored=stored,
                           paragraphs=site_texts.paragraphs(stored.text) if stored else None)


@bp.route("/admin/privacy", methods=["GET", "POST"])
@official_required
def edit():
    """Officials write the privacy notice (an empty text shows pb's default)."""
    form = SiteTextForm()
    stored = site_texts.get(site_texts.PRIVACY)
    if form.validate_on_submit():
        try:
            site_texts.save(current_user, site_texts.PRIVACY, form.text.data)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("privacy/edit.html", form=form, stored=stored), 400
        flash(_("The privacy page is saved."), "success")
        return redirect(url_for("privacy.show"))
    if not form.is_submitted():
        form.text.data = stored.text if stored else ""
    return render_template("privacy/edit.html", form=form, stored=stored), 400 if form.errors else 200
