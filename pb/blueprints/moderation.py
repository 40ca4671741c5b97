"""Moderators' pages: the review queue per district, decisions on proposals, verifying residents."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pb.blueprints.guards import form_errors, is_hidden, moderator_required, perform, refuse
from pb.blueprints.public import chosen_district_id, visible_cycle
from pb.domain.errors import DomainError
from pb.domain.messages import N_
from pb.domain.money import amount_for_input
from pb.forms import (
    AcceptForm,
    MergeForm,
    ReasonForm,
    RevokeVerificationForm,
    UndoDecisionForm,
    VerifyForm,
    options,
)
from pb.i18n import translate
from pb.models import ProposalStatus
from pb.pagination import page_number
from pb.services import cycles, moderation, proposals, users, verification, verification_requests, voting

bp = Blueprint("moderation", __name__, url_prefix="/moderation")


@bp.get("/")
@moderator_required
def index():
    """What waits for the moderators, kind by kind: proposals and verification requests per cycle, flagged comments."""
    listed = cycles.list_cycles(include_drafts=False)
    waiting = {cycle.id: sum(moderation.queue_sizes(cycle).values()) for cycle in listed}
    asking = {cycle.id: verification_requests.open_count(cycle) for cycle in listed}
    return render_template("moderation/index.html", cycles=listed, waiting=waiting, asking=asking,
                           flagged=moderation.flagged_comment_count())


@bp.get("/cycles/<int:cycle_id>")
@moderator_required
def queue(cycle_id: int):
    """Show the proposals waiting for review, per district."""
    cycle = visible_cycle(cycle_id)
    district_id = chosen_district_id(cycle)
    page = moderation.queue_page(cycle, district_id, page_number(request.args.get("page")))
    return render_template(
        "moderation/queue.html", cycle=cycle, district_id=district_id, page=page,
        waiting=page.items, sizes=moderation.queue_sizes(cycle),
    )


def _with_version(form, proposal):
    """The form, carrying the proposal's version as the page shows it (a submitted form keeps the one it sent)."""
    if not form.is_submitted():
        form.version.data = proposal.version
    return form


def _merge_form(proposal) -> MergeForm:
    form = MergeForm(prefix="merge")
    others = [
        p for p in proposals.public_proposals(proposal.cycle, proposal.district_id)
        if p.id != proposal.id and p.status in (ProposalStatus.SUBMITTED, ProposalStatus.CHANGES_REQUESTED, ProposalStatus.ACCEPTED)
    ]
    # Each option names the other proposal at the version shown, so a merge into one changed since is refused.
    form.into_id.choices = options((f"{p.id}:{p.version}", f"#{p.id} {p.title}") for p in others)
    return _with_version(form, proposal)


def _accept_form(proposal) -> AcceptForm:
    form = AcceptForm(prefix="accept")
    form.final_cost.currency = proposal.cycle.currency
    if not form.is_submitted():
        form.final_cost.data = amount_for_input(proposal.estimated_cost, proposal.cycle.currency)
    return _with_version(form, proposal)


def _reason_form(prefix: str):
    return lambda proposal: _with_version(ReasonForm(prefix=prefix), proposal)


_DECISION_FORMS = {
    "accept_form": _accept_form, "reject_form": _reason_form("reject"), "changes_form": _reason_form("changes"),
    "merge_form": _merge_form,
}


def _review_page(proposal, submitted: tuple[str, object] | None = None):
    """The review page; a refused decision's form comes back as it was typed, its errors at their fields."""
    forms = {name: make(proposal) for name, make in _DECISION_FORMS.items() if not submitted or name != submitted[0]}
    if submitted:
        forms[submitted[0]] = submitted[1]
    return render_template(
        "moderation/review.html", proposal=proposal, cycle=proposal.cycle, submitted=submitted[1] if submitted else None,
        undo_form=UndoDecisionForm(), undo_blockers=moderation.undo_blockers(proposal), **forms,
    )


@bp.get("/proposals/<int:proposal_id>")
@moderator_required
def review(proposal_id: int):
    """Show a proposal with the decisions a moderator can take."""
    return _review_page(proposals.get_proposal(proposal_id))


def _show_at_field(form, error: DomainError) -> bool:
    """Put a refusal at the field it is about (True), if it is about one the page shows."""
    field = getattr(form, error.field, None) if error.field else None
    if field is None or is_hidden(field):
        return False
    field.errors = [*field.errors, translate(error.message)]
    return True


def _decide(proposal_id: int, form_name: str, decision, success: str):
    # A decision refused for what the moderator typed re-renders the page (400) rather than redirecting, so the typed
    # final cost and note survive and each error stands at its field, linked from the error summary. A refusal of the
    # decision as a whole (the phase, a page read before the proposal changed, a missing token) has no field and
    # nothing typed worth keeping: it is said on top of the reloaded page, as every other refusal.
    proposal = proposals.get_proposal(proposal_id)
    form = _DECISION_FORMS[form_name](proposal)
    back = url_for("moderation.review", proposal_id=proposal.id)
    if form.validate_on_submit():
        try:
            decision(proposal, form)
        except DomainError as error:
            if not _show_at_field(form, error):
                return refuse(error, back)
        else:
            flash(translate(N_(success, title=proposal.title)), "success")
            return redirect(url_for("moderation.queue", cycle_id=proposal.cycle_id, district=proposal.district_id))
    elif not any(field.errors for field in form if not is_hidden(field)):
        form_errors(form)
        return redirect(back)
    return _review_page(proposal, (form_name, form)), 400


@bp.post("/proposals/<int:proposal_id>/accept")
@moderator_required
def accept(proposal_id: int):
    """Accept a proposal onto the ballot with its final cost."""
    return _decide(
        proposal_id, "accept_form",
        lambda proposal, form: moderation.accept(
            current_user, proposal.id, form.final_cost.amount, form.note.data or "", version=form.version.data,
        ),
        N_("“{title}” is accepted and will be on the ballot."),
    )


@bp.post("/proposals/<int:proposal_id>/reject")
@moderator_required
def reject(proposal_id: int):
    """Reject a proposal with a reason for its author."""
    return _decide(
        proposal_id, "reject_form",
        lambda proposal, form: moderation.reject(current_user, proposal.id, form.note.data, version=form.version.data),
        N_("“{title}” is rejected; the author will see your reason."),
    )


@bp.post("/proposals/<int:proposal_id>/request-changes")
@moderator_required
def request_changes(proposal_id: int):
    """Send a proposal back to its author for changes."""
    return _decide(
        proposal_id, "changes_form",
        lambda proposal, form: moderation.request_changes(
            current_user, proposal.id, form.note.data, version=form.version.data,
        ),
        N_("“{title}” is sent back to its author for changes."),
    )


@bp.post("/proposals/<int:proposal_id>/merge")
@moderator_required
def merge(proposal_id: int):
    """Merge a duplicate proposal into another."""
    return _decide(
        proposal_id, "merge_form",
        lambda proposal, form: moderation.merge(
            current_user, proposal.id, form.into_id.data[0], form.note.data or "",
            version=form.version.data, into_version=form.into_id.data[1],
        ),
        N_("“{title}” is merged."),
    )


@bp.post("/proposals/<int:proposal_id>/undo")
@moderator_required
def undo(proposal_id: int):
    """Take back the last decision on a proposal while the review lasts; it waits for review again."""
    proposal = proposals.get_proposal(proposal_id)
    form = UndoDecisionForm()
    return perform(
        form, lambda: moderation.undo_decision(current_user, proposal.id, version=form.version.data),
        back=url_for("moderation.review", proposal_id=proposal.id),
        success=translate(N_("The decision on “{title}” is undone; it waits for review again.", title=proposal.title)),
    )


@bp.route("/cycles/<int:cycle_id>/residents", methods=["GET", "POST"])
@moderator_required
def residents(cycle_id: int):
    """Find residents and verify them, after checking their documents, for a district."""
    cycle = visible_cycle(cycle_id)
    form = VerifyForm()
    form.district_id.choices = options((d.id, d.name) for d in cycle.districts)
    back = url_for("moderation.residents", cycle_id=cycle.id, q=request.args.get("q", ""))
    if request.method == "POST":
        return perform(
            form, lambda: voting.verify_resident(current_user, form.user_id.data, form.district_id.data),
            back=back, success=lambda verification: _("%(name)s can now vote in %(district)s.", name=verification.user.name, district=verification.district.name),
        )
    search = request.args.get("q", "")[:100]
    found = users.list_users(search, limit=50) if search.strip() else []
    verified = {user.id: voting.verified_district_ids(user, cycle.id) for user in found}
    return render_template(
        "moderation/residents.html", cycle=cycle, form=form, search=search, found=found, verified=verified,
        blockers={user.id: verification.revocation_blockers(user, cycle) for user in found},
    )


# Where a revocation was asked from, so the moderator or official lands back on that page (never a URL from the form).
_REVOKE_ORIGINS = {"residents": "moderation.residents", "paper-voters": "paper.voters"}


@bp.post("/cycles/<int:cycle_id>/residents/revoke")
@moderator_required
def revoke(cycle_id: int):
    """Take back a resident's verification (a wrong district, a mistake) before they vote, with a written reason."""
    cycle = visible_cycle(cycle_id)
    endpoint = _REVOKE_ORIGINS.get(request.args.get("origin", ""), "moderation.residents")
    back = url_for(endpoint, cycle_id=cycle.id, q=request.args.get("q", "")[:100])
    form = RevokeVerificationForm()
    return perform(
        form, lambda: verification.revoke_verification(current_user, cycle.id, form.user_id.data, form.reason.data),
        back=back,
        success=lambda district: _("The verification for %(district)s is revoked; the resident can be verified again, "
                                   "for the right district.", district=district.name),
    )
