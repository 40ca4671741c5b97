"""Officials' pages: setting up cycles, moving phases, counting votes, managing users and access, reading the audit log."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from pb.blueprints.guards import official_required, perform, refuse
from pb.domain import cycle as cycle_rules
from pb.domain import timetable
from pb.domain.cycle import TRANSITIONS, Phase, following
from pb.domain.errors import ConflictError, DomainError, PhaseError
from pb.domain.messages import N_
from pb.domain.money import amount_for_input, format_amount
from pb.forms import ActionForm, CategoryForm, CycleForm, DistrictBudgetForm, DistrictForm, PhaseForm, RoleForm
from pb.i18n import translate
from pb.models import Role, RoleChange
from pb.pagination import page_number
from pb.services import audit, ballot_designs, cycles, exports, mail_health, moderation, roles, schedule, tallying, users, voting
from pb.services.cycles import CycleSettings

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _settings(form: CycleForm) -> CycleSettings:
    """The form's settings, its wall-clock moments read in the zone it names.

    Read even when some fields were refused (each then gives a neutral value its own error already covers), so the
    cycle's rules can be checked at the same time and every problem shown at once.
    """
    zone = (form.timezone.data or "").strip() or cycles.default_zone()
    zone = zone if timetable.is_zone(zone) else cycles.default_zone()
    moments = {name: timetable.to_utc(getattr(form, name).data, zone) if getattr(form, name).data else None
               for name, _ in timetable.MOMENTS}
    return CycleSettings(
        name=form.name.data or "", description=form.description.data or "", currency=form.currency.data or "",
        total_budget=form.total_budget.amount or 0, rule=form.rule.data or "",
        min_projects=form.min_projects.data or 1, max_projects=form.max_projects.data, timezone=zone,
        max_photos=CycleSettings.max_photos if form.max_photos.data is None else form.max_photos.data,
        has_comments_after_proposals=form.has_comments_after_proposals.data,
        has_supports_phase=form.has_supports_phase.data, supports_per_district=form.supports_per_district.data or CycleSettings.supports_per_district,
        supports_advance_top=form.supports_advance_top.data, supports_threshold=form.supports_threshold.data,
        **moments,
    )


def _checked_settings(form: CycleForm, cycle_id: int | None) -> CycleSettings | None:
    """The submitted settings when the form and the cycle's rules both accept them; otherwise None, with every
    problem of both set on its field (a field the form already refused keeps only the form's word)."""
    is_valid = form.validate()
    settings = _settings(form)
    refused_by_form = {name for name, field in form._fields.items() if field.errors}
    for name, problem in cycles.settings_problems(settings, cycle_id):
        field = getattr(form, name)
        if name not in refused_by_form:
            field.errors = [*field.errors, translate(problem)]
            is_valid = False
    return settings if is_valid else None


def _show_moments_in_zone(form: CycleForm, cycle) -> None:
    """Fill the form's moment fields with the cycle's moments as its zone's wall clock."""
    for name, _ in timetable.MOMENTS:
        moment = getattr(cycle, name)
        getattr(form, name).data = timetable.local(moment, cycle.timezone).replace(tzinfo=None) if moment else None


@bp.get("/")
@official_required
def index():
    """List every cycle, drafts included."""
    return render_template("admin/index.html", cycles=cycles.list_cycles(include_drafts=True),
                           notices=schedule.open_notices(), mail=mail_health.summary())


@bp.route("/cycles/new", methods=["GET", "POST"])
@official_required
def new_cycle():
    """Create a budget cycle in draft."""
    form = CycleForm()
    if not form.is_submitted():
        form.timezone.data = cycles.default_zone()
    settings = _checked_settings(form, None) if form.is_submitted() else None
    if settings is not None:
        try:
            cycle = cycles.create_cycle(current_user, settings)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("admin/cycle_form.html", form=form, cycle=None), 400
        flash(_("The cycle is created with one city-wide district; add districts and categories below."), "success")
        return redirect(url_for("admin.cycle", cycle_id=cycle.id))
    return render_template("admin/cycle_form.html", form=form, cycle=None), 400 if form.errors else 200


def _control_room(cycle_id: int) -> str:
    return url_for("admin.cycle", cycle_id=cycle_id)


def _district_form(cycle) -> DistrictForm:
    form = DistrictForm(prefix="district")
    form.budget.currency = cycle.currency
    return form


def _budget_form(district) -> DistrictBudgetForm:
    form = DistrictBudgetForm(prefix="budget", formdata=None)
    form.budget.data = amount_for_input(district.budget, district.cycle.currency)
    return form


@bp.get("/cycles/<int:cycle_id>")
@official_required
def cycle(cycle_id: int):
    """The control room of one cycle: set-up, phase and what blocks the next one, turnout, the count."""
    cycle = cycles.get_cycle(cycle_id)
    return render_template(
        "admin/cycle.html", cycle=cycle, blockers=cycles.blockers(cycle), next_phase=following(cycle.phase, cycle.has_supports_phase),
        district_form=_district_form(cycle), category_form=CategoryForm(prefix="category"), action_form=ActionForm(),
        budget_forms={district.id: _budget_form(district) for district in cycle.districts},
        turnout=voting.turnout(cycle), verified=voting.verified_counts(cycle), waiting=moderation.queue_sizes(cycle),
        runs=tallying.tally_runs(cycle) if cycle.phase in (Phase.TALLYING, Phase.RESULTS, Phase.CLOSED) else {},
        notices=schedule.open_notices(cycle.id), timetable_moment=cycles.scheduled_moment,
        rule_label=tallying.rule_label,
    )


def _offer_fitting_rules(form: CycleForm, cycle) -> None:
    """Offer only the counting rules that fit the cycle's ballots; the others show, disabled (ballot designs)."""
    fitting = ballot_designs.fitting_rules(cycle)
    form.rule.choices = [SelectChoice(choice.value, choice.label,
                                      render_kw=None if choice.value in fitting else {"disabled": True})
                         for choice in form.rule.choices]


@bp.route("/cycles/<int:cycle_id>/settings", methods=["GET", "POST"])
@official_required
def settings(cycle_id: int):
    """Change a draft cycle's settings."""
    cycle = cycles.get_cycle(cycle_id)
    try:
        cycle_rules.require_phase("edit-setup", cycle.phase)
    except DomainError as error:
        return refuse(error, url_for("admin.cycle", cycle_id=cycle.id))
    form = CycleForm(obj=cycle)
    _offer_fitting_rules(form, cycle)
    if not form.is_submitted():
        form.total_budget.data = amount_for_input(cycle.total_budget, cycle.currency)
        _show_moments_in_zone(form, cycle)
    settings = _checked_settings(form, cycle.id) if form.is_submitted() else None
    if settings is not None:
        try:
            cycles.update_cycle(current_user, cycle.id, settings)
        except DomainError as error:
            flash(translate(error.message), "error")
            return render_template("admin/cycle_form.html", form=form, cycle=cycle), 400
        flash(_("The settings are saved."), "success")
        return redirect(url_for("admin.cycle", cycle_id=cycle.id))
    return render_template("admin/cycle_form.html", form=form, cycle=cycle), 400 if form.errors else 200


@bp.post("/cycles/<int:cycle_id>/districts")
@official_required
def add_district(cycle_id: int):
    """Add a district with its own budget."""
    cycle = cycles.get_cycle(cycle_id)
    form = _district_form(cycle)
    return perform(
        form, lambda: cycles.add_district(current_user, cycle.id, form.name.data, form.budget.amount),
        back=_control_room(cycle.id), success=lambda district: _("District “%(name)s” is added.", name=district.name),
    )


@bp.post("/districts/<int:district_id>/remove")
@official_required
def remove_district(district_id: int):
    """Remove a district from a draft cycle."""
    district = cycles.get_district_by_id(district_id)
    return perform(
        ActionForm(), lambda: cycles.remove_district(current_user, district.id),
        back=_control_room(district.cycle_id), success=_("The district is removed."),
    )


@bp.post("/districts/<int:district_id>/budget")
@official_required
def change_district_budget(district_id: int):
    """Change a district's budget while its cycle is being prepared."""
    district = cycles.get_district_by_id(district_id)
    form = DistrictBudgetForm(prefix="budget")
    form.budget.currency = district.cycle.currency
    return perform(
        form, lambda: cycles.change_district_budget(current_user, district.id, form.budget.amount),
        back=_control_room(district.cycle_id),
        success=lambda changed: _("The budget of “%(name)s” is now %(budget)s.", name=changed.name,
                                  budget=translate(format_amount(changed.budget, changed.cycle.currency))),
    )


@bp.post("/categories/<int:category_id>/remove")
@official_required
def remove_category(category_id: int):
    """Remove a category no proposal uses from a cycle being prepared."""
    category = cycles.get_category_by_id(category_id)
    name, cycle_id = category.name, category.cycle_id  # read now: the row is gone once the removal commits
    return perform(
        ActionForm(), lambda: cycles.remove_category(current_user, category.id),
        back=_control_room(cycle_id), success=_("Category “%(name)s” is removed.", name=name),
    )


@bp.post("/cycles/<int:cycle_id>/categories")
@official_required
def add_category(cycle_id: int):
    """Add a project category."""
    cycle = cycles.get_cycle(cycle_id)
    form = CategoryForm(prefix="category")
    return perform(
        form, lambda: cycles.add_category(current_user, cycle.id, form.name.data),
        back=_control_room(cycle.id), success=lambda category: _("Category “%(name)s” is added.", name=category.name),
    )


@bp.route("/cycles/<int:cycle_id>/advance", methods=["GET", "POST"])
@official_required
def advance(cycle_id: int):
    """Confirm moving the cycle to its next phase: what it does, the timetable, and a reason when off it."""
    cycle = cycles.get_cycle(cycle_id)
    if cycle.phase not in TRANSITIONS:
        return refuse(PhaseError(N_("The cycle is closed; there is no further phase.")), _control_room(cycle.id))
    form = PhaseForm()
    if not form.is_submitted():
        form.expected_phase.data = cycle.phase.value
    elif form.validate():
        try:
            phase = cycles.advance_phase(current_user, cycle.id, form.expected_phase.data, form.reason.data)
        except (ConflictError, PhaseError) as error:
            return refuse(error, _control_room(cycle.id))  # the control room shows where the cycle stands now
        except DomainError as error:
            flash(translate(error.message), "error")
        else:
            flash(_("The cycle is now: %(phase)s.", phase=translate(phase.label).lower()), "success")
            return redirect(_control_room(cycle.id))
    status = 400 if form.is_submitted() else 200
    return render_template("admin/advance.html", cycle=cycle, form=form, change=cycles.phase_change(cycle)), status


@bp.post("/cycles/<int:cycle_id>/tally")
@official_required
def tally(cycle_id: int):
    """Count the ballots of every district with the cycle's rule."""
    return perform(
        ActionForm(), lambda: tallying.run_tally(current_user, cycle_id), back=_control_room(cycle_id),
        success=lambda runs: ngettext("The votes are counted in %(num)d district. Check the outcome below, then publish.",
                                      "The votes are counted in %(num)d districts. Check the outcome below, then publish.",
                                      len(runs)),
    )


def _audit_page(cycle):
    """The audit log, one cycle's or every cycle's, filtered as the query string asks; what was ignored is said."""
    chosen, problems = audit.read_filter(request.args, cycle.id if cycle else None)
    for problem in problems:
        flash(translate(problem), "error")
    page = audit.filtered_page(chosen, page_number(request.args.get("page")))
    return render_template("admin/audit.html", cycle=cycle, page=page, chosen=chosen, events=audit.event_choices())


def _audit_download(cycle):
    """The filtered entries as a CSV file. A POST: the download is itself written to the log, and a page that only
    reads (a GET) never writes."""
    chosen, _problems = audit.read_filter(request.args, cycle.id if cycle else None)
    if not ActionForm().validate_on_submit():
        flash(_("The form has expired; download again."), "error")
        return redirect(url_for("admin.audit_log", cycle_id=cycle.id, **chosen.as_arguments()) if cycle
                        else url_for("admin.audit_all", **chosen.as_arguments()))
    body = audit.export_csv(current_user, chosen, translate)
    name = f"pb-audit-cycle-{cycle.id}.csv" if cycle else "pb-audit.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.get("/cycles/<int:cycle_id>/proposals.csv")
@official_required
def proposals_csv(cycle_id: int):
    """Download every proposal of the cycle as CSV (no authors or emails), for spreadsheets."""
    cycle = cycles.get_cycle(cycle_id)
    return Response(exports.proposals_csv(cycle, translate), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="pb-proposals-cycle-{cycle.id}.csv"'})


@bp.get("/cycles/<int:cycle_id>/audit")
@official_required
def audit_log(cycle_id: int):
    """Read the cycle's audit log in words, newest first, filtered by event, person and dates."""
    return _audit_page(cycles.get_cycle(cycle_id))


@bp.get("/audit")
@official_required
def audit_all():
    """Read the audit log of every cycle and of the accounts, newest first, filtered by event, person and dates."""
    return _audit_page(None)


@bp.post("/cycles/<int:cycle_id>/audit.csv")
@official_required
def audit_csv(cycle_id: int):
    """Download the cycle's filtered audit entries as CSV; the download is itself recorded."""
    return _audit_download(cycles.get_cycle(cycle_id))


@bp.post("/audit.csv")
@official_required
def audit_all_csv():
    """Download the filtered audit entries of every cycle as CSV; the download is itself recorded."""
    return _audit_download(None)


@bp.get("/users")
@official_required
def user_list():
    """Find users, change their role, and approve or cancel requested changes of the official role."""
    search = request.args.get("q", "")[:100]
    chosen_role = next((role for role in Role if role.value == request.args.get("role")), None)  # else: every role
    page = users.users_page(search, page_number(request.args.get("page")), role=chosen_role)
    return render_template(
        "admin/users.html", users=page.items, page=page, search=search, form=RoleForm(), roles=list(Role),
        pending=roles.pending_changes(), recent=roles.recent_changes(), chosen_role=chosen_role,
        verifications=users.verifications_of([user.id for user in page.items]),
    )


def _role_changed(result) -> str:
    if isinstance(result, RoleChange):
        return _("The change of %(name)s's role to %(role)s is requested. It takes effect once a different official "
                 "approves it.", name=result.user.name, role=translate(result.role_after.label).lower())
    return _("%(name)s is now a %(role)s.", name=result.name, role=translate(result.role.label).lower())


@bp.post("/users/<int:user_id>/role")
@official_required
def change_role(user_id: int):
    """Give a user another role; granting or removing the official role is requested for a second official."""
    form = RoleForm()
    return perform(
        form, lambda: users.change_role(current_user, user_id, Role(form.role.data), form.reason.data or ""),
        back=url_for("admin.user_list", q=request.args.get("q", "")), success=_role_changed,
    )


@bp.post("/role-changes/<int:change_id>/approve")
@official_required
def approve_role_change(change_id: int):
    """Approve another official's request to grant or remove the official role."""
    return perform(
        ActionForm(), lambda: roles.approve_change(current_user, change_id), back=url_for("admin.user_list"),
        success=lambda change: _("%(name)s is now a %(role)s.", name=change.user.name,
                                 role=translate(change.role_after.label).lower()),
    )


@bp.post("/role-changes/<int:change_id>/cancel")
@official_required
def cancel_role_change(change_id: int):
    """Cancel a requested change of the official role; nothing changes."""
    return perform(
        ActionForm(), lambda: roles.cancel_change(current_user, change_id), back=url_for("admin.user_list"),
        success=lambda change: _("The request is cancelled; %(name)s's role is unchanged.", name=change.user.name),
    )


@bp.post("/users/<int:user_id>/disable")
@official_required
def disable_user(user_id: int):
    """Disable an account: its sessions end at once and it can no longer log in."""
    return perform(
        ActionForm(), lambda: users.set_enabled(current_user, user_id, False),
        back=url_for("admin.user_list", q=request.args.get("q", "")),
        success=lambda user: _("%(name)s's account is disabled; they are logged out everywhere.", name=user.name),
    )


@bp.post("/users/<int:user_id>/enable")
@official_required
def enable_user(user_id: int):
    """Let a disabled account log in again."""
    return perform(
        ActionForm(), lambda: users.set_enabled(current_user, user_id, True),
        back=url_for("admin.user_list", q=request.args.get("q", "")),
        success=lambda user: _("%(name)s's account is enabled again.", name=user.name),
    )


@bp.get("/mail")
@official_required
def mail():
    """Whether email gets through: counts, the oldest waiting message, and the failed and retrying messages."""
    page = request.args.get("page", 1, type=int) or 1
    return render_template("admin/mail.html", health=mail_health.summary(),
                           problems=mail_health.problems(min(max(page, 1), 100_000)))


@bp.post("/mail/<int:message_id>/retry")
@official_required
def retry_mail(message_id: int):
    """Try a message that failed for good again now."""
    return perform(
        ActionForm(), lambda: mail_health.retry(current_user, message_id), back=url_for("admin.mail"),
        success=lambda message: _("The message to %(recipient)s will be sent again shortly.",
                                  recipient=message.recipient),
    )


@bp.post("/mail/retry-failed")
@official_required
def retry_all_mail():
    """Try every message that failed for good again now."""
    return perform(
        ActionForm(), lambda: mail_health.retry_all_failed(current_user), back=url_for("admin.mail"),
        success=lambda count: ngettext("%(num)d message will be sent again shortly.",
                                       "%(num)d messages will be sent again shortly.", count),
    )
