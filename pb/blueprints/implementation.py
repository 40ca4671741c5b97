"""After the vote: officials recording how funded projects are carried out, and "where did our budget go" for all."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pb.blueprints.guards import is_hidden, official_required, perform, refuse
from pb.blueprints.public import visible_cycle
from pb.domain.errors import ConflictError, DomainError
from pb.domain.money import amount_for_input
from pb.forms import ImplementationForm, ImplementationUpdateForm
from pb.i18n import translate
from pb.models import utcnow
from pb.services import implementation, proposals

bp = Blueprint("implementation", __name__)


@bp.app_context_processor
def _progress_on_project_pages() -> dict:
    # The project page (public/_implementation.html) asks for a project's progress by itself, so the public
    # blueprint needs no knowledge of implementation tracking.
    return {"implementation_of": implementation.public_progress}


@bp.get("/cycles/<int:cycle_id>/implementation")
def overview(cycle_id: int):
    """Where did our budget go: every funded project by district, its status, progress and money spent."""
    cycle = visible_cycle(cycle_id)
    try:
        summary = implementation.overview(cycle)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    can_edit = current_user.is_authenticated and current_user.is_official
    return render_template("implementation/overview.html", cycle=cycle, overview=summary, can_edit=can_edit)


def _edit_page(proposal_id: int) -> str:
    return url_for("implementation.edit", proposal_id=proposal_id)


def _tracked(proposal_id: int):
    """The funded project's progress and None, or None and a refusal back to its cycle's control room."""
    project = proposals.get_proposal(proposal_id)
    try:
        return implementation.funded_project(project.id), None
    except DomainError as error:
        return None, refuse(error, url_for("admin.cycle", cycle_id=project.cycle_id))


@bp.route("/implementation/projects/<int:proposal_id>", methods=["GET", "POST"])
@official_required
def edit(proposal_id: int):
    """Record a funded project's status, progress and money spent, and read or post its dated updates."""
    current, refusal = _tracked(proposal_id)
    if refusal is not None:
        return refusal
    project = current.project
    form = ImplementationForm()
    form.spent.currency = project.cycle.currency
    status = 200
    if request.method == "GET":
        report = current.report
        form.status.data, form.progress.data, form.version.data = report.status.value, report.progress, current.version
        form.spent.data = amount_for_input(report.spent, project.cycle.currency)
        form.cancel_reason.data = report.cancel_reason
    elif form.validate_on_submit():
        try:
            implementation.record_progress(
                current_user, project.id, status=form.status.data, progress=form.progress.data,
                spent=form.spent.amount, cancel_reason=form.cancel_reason.data, version=form.version.data,
            )
        except ConflictError as error:
            return refuse(error, _edit_page(project.id))
        except DomainError as error:
            flash(translate(error.message), "error")
            status = 400
        else:
            flash(_("The implementation of “%(title)s” is saved and shown on its public page.", title=project.title), "success")
            return redirect(_edit_page(project.id))
    else:
        # A hidden field's error (the version the page carried) has no field to mark: the summary says it in words.
        marked = any(field.errors for field in form if not is_hidden(field))
        flash(_("Nothing was saved: correct the fields marked below.") if marked else _("Nothing was saved."), "error")
        status = 400
    update_form = ImplementationUpdateForm(prefix="update", formdata=None, posted_on=utcnow().date())
    return render_template(
        "implementation/edit.html", cycle=project.cycle, project=project, current=current, form=form,
        update_form=update_form,
    ), status


@bp.post("/implementation/projects/<int:proposal_id>/updates")
@official_required
def post_update(proposal_id: int):
    """Post a dated public update on a funded project."""
    refusal = _tracked(proposal_id)[1]  # not `_, refusal`: `_` is gettext here
    if refusal is not None:
        return refusal
    form = ImplementationUpdateForm(prefix="update")
    return perform(
        form, lambda: implementation.post_update(current_user, proposal_id, form.posted_on.data, form.text.data),
        back=_edit_page(proposal_id), success=_("The update is posted on the project's public page."),
    )
