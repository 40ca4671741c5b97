"""Officials set the ballot design of a cycle and of each district; anyone downloads the frozen ballot settings."""

from flask import Blueprint, Response, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pb.blueprints.guards import official_required, refuse
from pb.blueprints.public import visible_cycle
from pb.domain.ballot_words import RULE_WORDS
from pb.domain.ballots import BallotDesign, CategoryLimit
from pb.domain.errors import DomainError, PhaseError
from pb.domain.messages import N_
from pb.forms import BallotDesignForm, ballot_design_form, limit_fields
from pb.i18n import translate
from pb.services import ballot_designs, cycles

bp = Blueprint("ballot_settings", __name__)
bp.add_app_template_global(limit_fields, "limit_fields")
bp.add_app_template_global(ballot_designs.can_change_design, "can_change_ballot")
bp.add_app_template_global(ballot_designs.counts_points, "counts_points")


@bp.app_template_global()
def rule_words(rule: str):
    """How the counting rule works, in words (the rule's name for one pb does not know)."""
    return RULE_WORDS.get(rule) or ballot_designs.rule_name(rule)


def _design_from(form: BallotDesignForm, categories) -> BallotDesign:
    """The design the form describes (its fields already checked one by one)."""
    limits = []
    for category in categories:
        projects, share = (form[name].data for name in limit_fields(category.id))
        if projects is not None or share is not None:
            limits.append(CategoryLimit(category.id, projects, share))
    return BallotDesign(
        kind=form.kind.data or "", min_projects=form.min_projects.data or 1, max_projects=form.max_projects.data,
        min_spend_percent=form.min_spend_percent.data or 0, points=form.points.data or 0,
        max_points_per_project=form.max_points_per_project.data, category_limits=tuple(limits),
    )


def _show(form: BallotDesignForm, design: BallotDesign, categories) -> None:
    """Fill an unsubmitted form with the design in force."""
    form.kind.data, form.min_projects.data, form.max_projects.data = design.kind, design.min_projects, design.max_projects
    form.min_spend_percent.data = design.min_spend_percent or None
    form.points.data = design.points or None
    form.max_points_per_project.data = design.max_points_per_project
    limits = {limit.category_id: limit for limit in design.category_limits}
    for category in categories:
        projects, share = limit_fields(category.id)
        limit = limits.get(category.id)
        form[projects].data = limit.max_projects if limit else None
        form[share].data = limit.max_share_percent if limit else None


def _place(form: BallotDesignForm, problems, general: list[str]) -> None:
    """Put each problem next to its field; those about no one field (category limits) in `general`."""
    for name, problem in problems:
        if name in form._fields and name != "csrf_token":
            form[name].errors = [*form[name].errors, translate(problem)]
        else:
            general.append(translate(problem))


def _frozen(cycle, back: str):
    """Refuse a change once voting has opened, saying why."""
    try:
        ballot_designs.require_designing(cycle)
    except PhaseError as error:
        return refuse(error, back)
    return None


def _saved(form, problems, general: list[str], save) -> bool:
    """Show the design's problems beside their fields; when there are none, save (a refusal joins `general`)."""
    _place(form, problems, general)
    if problems:
        return False
    try:
        save()
    except DomainError as error:
        general.append(translate(error.message))
        return False
    return True


@bp.route("/admin/cycles/<int:cycle_id>/ballot", methods=["GET", "POST"])
@official_required
def cycle_ballot(cycle_id: int):
    """Choose the cycle's ballot design and its limits, until voting opens."""
    cycle = cycles.get_cycle(cycle_id)
    categories = list(cycle.categories)
    back = url_for("admin.cycle", cycle_id=cycle.id)
    form = ballot_design_form(categories)
    general: list[str] = []
    if form.is_submitted():
        refused = _frozen(cycle, back)
        if refused:
            return refused
        is_valid = form.validate()
        design = _design_from(form, categories)
        if is_valid and _saved(form, ballot_designs.design_setting_problems(cycle, design), general,
                               lambda: ballot_designs.save_cycle_design(current_user, cycle.id, design)):
            flash(_("The ballot is saved."), "success")
            return redirect(back)
        return render_template("ballot_settings/cycle.html", cycle=cycle, form=form, categories=categories,
                               general=general, is_open=ballot_designs.can_change_design(cycle)), 400
    _show(form, ballot_designs.cycle_design(cycle), categories)
    return render_template("ballot_settings/cycle.html", cycle=cycle, form=form, categories=categories,
                           general=general, is_open=ballot_designs.can_change_design(cycle))


@bp.route("/admin/districts/<int:district_id>/ballot", methods=["GET", "POST"])
@official_required
def district_ballot(district_id: int):
    """Let a district use the cycle's ballot, or give it one of its own, until voting opens."""
    district = cycles.get_district_by_id(district_id)
    cycle = district.cycle
    categories = list(cycle.categories)
    back = url_for("admin.cycle", cycle_id=cycle.id)
    form = ballot_design_form(categories, district=True)
    general: list[str] = []
    page = {"cycle": cycle, "district": district, "form": form, "categories": categories, "general": general,
            "is_open": ballot_designs.can_change_design(cycle)}
    if form.is_submitted():
        refused = _frozen(cycle, back)
        if refused:
            return refused
        is_valid = form.validate()
        own = form.source.data == "own"
        if not own:  # the cycle's ballot: the design's fields are not read, so their errors do not count
            for field in form:
                if field.name not in ("source", "csrf_token"):
                    field.errors = []
            is_valid = not (form.source.errors or form.csrf_token.errors)
        design = _design_from(form, categories) if own else None
        if is_valid and _saved(form, ballot_designs.design_setting_problems(cycle, design, district.name) if design
                               else [], general,
                               lambda: ballot_designs.save_district_design(current_user, district.id, design)):
            flash(_("The ballot of “%(name)s” is saved.", name=district.name), "success")
            return redirect(back)
        return render_template("ballot_settings/district.html", **page), 400
    _show(form, ballot_designs.district_design(district), categories)
    form.source.data = "own" if ballot_designs.has_own_design(district) else "cycle"
    return render_template("ballot_settings/district.html", **page)


@bp.get("/cycles/<int:cycle_id>/ballot-settings.json")
def settings_json(cycle_id: int):
    """Download the frozen ballot settings, byte for byte what the published SHA-256 fingerprint is taken of."""
    cycle = visible_cycle(cycle_id)
    if not ballot_designs.has_frozen_settings(cycle):
        raise PhaseError(N_("The ballot settings are published when voting opens."))
    return Response(ballot_designs.settings_text(cycle), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="pb-ballot-settings-cycle-{cycle.id}.json"'})


@bp.app_template_global()
def ballot_words(cycle):
    """Each district's ballot in words, by district id (the cycle pages)."""
    return ballot_designs.ballot_words(cycle)


@bp.app_template_global()
def settings_fingerprint(cycle):
    """The frozen settings' fingerprint and whether it still holds; None before voting opens."""
    return ballot_designs.fingerprint(cycle)
