"""Residents' own proposals: submit, edit or revise, withdraw, and see their status."""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pb.blueprints.guards import perform, refuse
from pb.blueprints.public import visible_cycle
from pb.domain import cycle as cycle_rules
from pb.domain.errors import DomainError
from pb.domain.money import amount_for_input
from pb.forms import ActionForm, ProposalEditForm, ProposalForm, options
from pb.i18n import translate
from pb.models import Cycle
from pb.services import places, proposals
from pb.services.proposals import ProposalDraft

bp = Blueprint("proposals", __name__)


def _form_for(cycle: Cycle, proposal=None) -> ProposalForm:
    form = ProposalForm() if proposal is None else ProposalEditForm(obj=proposal)
    form.district_id.choices = options((d.id, d.name) for d in cycle.districts)
    form.category_id.choices = options((c.id, c.name) for c in cycle.categories)
    form.estimated_cost.currency = cycle.currency
    if proposal is not None and not form.is_submitted():
        form.estimated_cost.data = amount_for_input(proposal.estimated_cost, cycle.currency)
    return form


def _draft(form: ProposalForm) -> ProposalDraft:
    return ProposalDraft(
        title=form.title.data, summary=form.summary.data, description=form.description.data,
        estimated_cost=form.estimated_cost.amount, district_id=form.district_id.data,
        category_id=form.category_id.data if form.category_id.choices else None,
        location=form.location.data or "", latitude=form.latitude.data, longitude=form.longitude.data,
    )


def _point_warning(form: ProposalForm, cycle: Cycle) -> str | None:
    """The warning the author must confirm when the point and the district disagree (None when nothing to confirm)."""
    try:
        warning = places.point_warning(cycle, form.district_id.data, form.latitude.data, form.longitude.data)
    except DomainError:
        return None  # the service refuses the point itself, with its reason
    return None if warning is None or form.keep_point.data else translate(warning)


def _form_page(form: ProposalForm, cycle: Cycle, proposal, warning: str | None = None, status: int = 200):
    return render_template("proposals/form.html", form=form, cycle=cycle, proposal=proposal,
                           point_warning=warning), status


@bp.route("/cycles/<int:cycle_id>/proposals/new", methods=["GET", "POST"])
@login_required
def new(cycle_id: int):
    """Submit a new proposal while proposals are open."""
    cycle = visible_cycle(cycle_id)
    try:
        cycle_rules.require_phase("submit-proposal", cycle.phase)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    form = _form_for(cycle)
    if form.validate_on_submit():
        warning = _point_warning(form, cycle)
        if warning:
            return _form_page(form, cycle, None, warning, 400)
        try:
            proposal = proposals.submit_proposal(current_user, cycle.id, _draft(form))
        except DomainError as error:
            flash(translate(error.message), "error")
            return _form_page(form, cycle, None, status=400)
        flash(_("Thank you: your proposal is submitted. Moderators will review it."), "success")
        return redirect(url_for("public.proposal", proposal_id=proposal.id))
    return _form_page(form, cycle, None, status=400 if form.errors else 200)


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@login_required
def edit(proposal_id: int):
    """Edit one's own proposal while it may still change."""
    proposal = proposals.get_proposal(proposal_id)
    back = url_for("public.proposal", proposal_id=proposal.id)
    try:
        proposals.check_editable(current_user, proposal)
    except DomainError as error:
        return refuse(error, back)
    form = _form_for(proposal.cycle, proposal)
    if form.validate_on_submit():
        # A point the author already confirmed is not questioned again while it and the district stay the same.
        is_confirmed = (form.latitude.data, form.longitude.data, form.district_id.data) == (
            proposal.latitude, proposal.longitude, proposal.district_id)
        warning = None if is_confirmed else _point_warning(form, proposal.cycle)
        if warning:
            return _form_page(form, proposal.cycle, proposal, warning, 400)
        try:
            proposals.edit_proposal(current_user, proposal.id, _draft(form), form.version.data)
        except DomainError as error:
            flash(translate(error.message), "error")
            return _form_page(form, proposal.cycle, proposal, status=400)
        flash(_("Your changes are saved."), "success")
        return redirect(back)
    return _form_page(form, proposal.cycle, proposal, status=400 if form.errors else 200)


@bp.post("/proposals/<int:proposal_id>/withdraw")
@login_required
def withdraw(proposal_id: int):
    """Withdraw one's own proposal before it is decided."""
    return perform(
        ActionForm(), lambda: proposals.withdraw_proposal(current_user, proposal_id),
        back=url_for("proposals.mine"), success=_("Your proposal is withdrawn."),
    )


@bp.get("/my/proposals")
@login_required
def mine():
    """List the logged-in user's proposals and their status."""
    return render_template("proposals/mine.html", proposals=proposals.proposals_by(current_user), form=ActionForm())
