"""Officials approving the stored count for publication, and corrections after it (four eyes both times)."""

import json

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from pb.blueprints.guards import official_required, perform, refuse
from pb.domain import cycle as cycle_rules
from pb.domain.cycle import REQUIRED_APPROVALS
from pb.domain.errors import DomainError
from pb.forms import ActionForm, ApproveCountForm, CorrectionForm
from pb.i18n import translate
from pb.models import Cycle
from pb.services import cycles, publication, reconciliation, revisions, tallying

bp = Blueprint("publication", __name__, url_prefix="/admin")


@bp.app_template_global()
def count_approvals(cycle: Cycle) -> dict:
    """What the administration page shows about the approvals of the stored count."""
    given = publication.approvals(cycle)
    return {
        "is_counted": publication.count_digest(cycle) is not None,
        "given": given,
        "required": REQUIRED_APPROVALS,
        "has_approved": any(approval.official_id == current_user.id for approval in given),
    }


@bp.get("/cycles/<int:cycle_id>/approve-results")
@official_required
def review_count(cycle_id: int):
    """What an official approves: per district totals, the online and paper reconciliation, and every warning."""
    cycle = cycles.get_cycle(cycle_id)
    try:
        cycle_rules.require_phase("approve-results", cycle.phase)
    except DomainError as error:
        return refuse(error, url_for("admin.cycle", cycle_id=cycle.id))
    digest = publication.count_digest(cycle)
    form = ApproveCountForm(count_digest=digest)
    districts = reconciliation.district_totals(cycle)
    return render_template(
        "admin/approve_results.html", cycle=cycle, form=form, districts=districts, digest=digest,
        problems=[problem for totals in districts for problem in totals.problems],
        warnings=[warning for totals in districts for warning in totals.warnings],
    )


@bp.post("/cycles/<int:cycle_id>/approve-results")
@official_required
def approve(cycle_id: int):
    """Approve the stored count of every district, as shown on the review page, for publication."""
    back = url_for("admin.cycle", cycle_id=cycle_id)
    form = ApproveCountForm()
    return perform(
        form, lambda: publication.approve_results(current_user, cycle_id, form.count_digest.data or None), back=back,
        success=lambda approval: (
            _("You approved the count. It can be published once a different official approves it too.")
            if len(publication.approvals(cycles.get_cycle(cycle_id))) < REQUIRED_APPROVALS
            else _("You approved the count. Two officials have approved it: it can be published.")
        ),
    )


def _funded_choices(cycle: Cycle) -> list[SelectChoice]:
    """The funded projects of the published count, by district, as the correction form's choices."""
    runs = tallying.tally_runs(cycle)
    return [
        SelectChoice(result.project_id, f"{district.name}: {result.project.title}")
        for district in cycle.districts if district.id in runs
        for result in runs[district.id].results if result.is_funded
    ]


@bp.route("/cycles/<int:cycle_id>/corrections/new", methods=["GET", "POST"])
@official_required
def propose_correction(cycle_id: int):
    """Propose correcting published results by withdrawing funded projects; a second official must approve it."""
    cycle = cycles.get_cycle(cycle_id)
    back = url_for("admin.cycle", cycle_id=cycle.id)
    try:
        cycle_rules.require_phase("correct-results", cycle.phase)
    except DomainError as error:
        return refuse(error, back)
    form = CorrectionForm()
    form.project_ids.choices = _funded_choices(cycle)
    if form.validate_on_submit():
        try:
            revision = revisions.propose_correction(current_user, cycle.id, form.reason.data, form.project_ids.data)
        except DomainError as error:
            flash(translate(error.message), "error")
        else:
            flash(
                _("The correction is counted as revision %(number)s. It is published once a different official "
                  "approves it; until then everyone sees the results as they are.", number=revision.number),
                "success",
            )
            return redirect(back)
    status = 400 if form.is_submitted() else 200
    return render_template("admin/correction.html", cycle=cycle, form=form, published=revisions.current(cycle)), status


@bp.post("/cycles/<int:cycle_id>/corrections/<int:number>/approve")
@official_required
def approve_correction(cycle_id: int, number: int):
    """Approve a pending correction: it replaces the published results as a new revision."""
    return perform(
        ActionForm(), lambda: revisions.approve_correction(current_user, cycle_id, number),
        back=url_for("admin.cycle", cycle_id=cycle_id),
        success=lambda revision: _("Revision %(number)s of the results is published.", number=revision.number),
    )


@bp.post("/cycles/<int:cycle_id>/corrections/<int:number>/cancel")
@official_required
def cancel_correction(cycle_id: int, number: int):
    """Cancel a pending correction; the published results stay as they are."""
    return perform(
        ActionForm(), lambda: revisions.cancel_correction(current_user, cycle_id, number),
        back=url_for("admin.cycle", cycle_id=cycle_id),
        success=_("The correction is cancelled; the published results are unchanged."),
    )


@bp.app_template_global()
def result_corrections(cycle: Cycle) -> dict:
    """What the administration page shows about revisions of the published results."""
    waiting = revisions.pending(cycle)
    shown = revisions.current(cycle)
    return {
        "current": shown,
        "pending": waiting,
        "changes": revisions.changes(
            json.loads(shown.snapshot) if shown else [], json.loads(waiting.snapshot)
        ) if waiting else [],
        "may_approve": waiting is not None and waiting.proposed_by_id != current_user.id,
    }
