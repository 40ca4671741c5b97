"""Supports: residents support proposals during the supports phase; moderators see the ranking per district."""

from dataclasses import dataclass

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pb.blueprints.guards import moderator_required, perform
from pb.blueprints.public import visible_cycle
from pb.domain import cycle as cycle_rules
from pb.domain.cycle import Phase
from pb.forms import ActionForm
from pb.models import Proposal
from pb.services import supports, voting

bp = Blueprint("supports", __name__)


@bp.post("/proposals/<int:proposal_id>/support")
@login_required
def support(proposal_id: int):
    """Support a proposal (residents verified in its district, during the supports phase)."""
    back = url_for("public.proposal", proposal_id=proposal_id)
    return perform(ActionForm(), lambda: supports.support(current_user, proposal_id), back=back,
                   success=_("You support this proposal."))


@bp.post("/proposals/<int:proposal_id>/unsupport")
@login_required
def unsupport(proposal_id: int):
    """Take one's support of a proposal back, during the supports phase."""
    back = url_for("public.proposal", proposal_id=proposal_id)
    return perform(ActionForm(), lambda: supports.withdraw_support(current_user, proposal_id), back=back,
                   success=_("You no longer support this proposal."))


@bp.get("/moderation/cycles/<int:cycle_id>/supports")
@moderator_required
def ranking(cycle_id: int):
    """The proposals of each district ranked by supports, with what the cycle's rule would send on to review."""
    cycle = visible_cycle(cycle_id)
    return render_template("supports/ranking.html", cycle=cycle, rankings=supports.ranking(cycle),
                           rule=supports.rule_of(cycle))


@dataclass(frozen=True)
class SupportBox:
    """What the proposal page shows about supports: the count, and the logged-in resident's own supports."""

    count: int
    is_open: bool  # the supports phase is on now
    is_supported: bool  # the logged-in resident supports this proposal
    can_support: bool  # the logged-in resident is verified in the proposal's district
    used: int
    limit: int
    form: ActionForm


@bp.app_template_global()
def support_box(proposal: Proposal) -> SupportBox | None:
    """Supports of a proposal for its page; None when its cycle has no supports phase or it has not started."""
    cycle = proposal.cycle
    if not cycle.has_supports_phase or cycle.phase in (Phase.DRAFT, Phase.PROPOSALS):
        return None
    is_supported = can_support = False
    used = 0
    if current_user.is_authenticated:
        is_supported = proposal.id in supports.supported_ids(current_user, cycle)
        can_support = proposal.district_id in voting.verified_district_ids(current_user, cycle.id)
        used = supports.used_in(current_user, proposal.district)
    return SupportBox(
        count=supports.count_for(proposal), is_open=cycle_rules.is_allowed("support-proposal", cycle.phase)
        and proposal.status is supports.SUPPORTABLE, is_supported=is_supported, can_support=can_support, used=used,
        limit=cycle.supports_per_district, form=ActionForm(),
    )
