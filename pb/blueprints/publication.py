"""Officials approving the stored count for publication (four eyes)."""

from flask import Blueprint, url_for
from flask_login import current_user

from pb.blueprints.guards import official_required, perform
from pb.domain.cycle import REQUIRED_APPROVALS
from pb.forms import ActionForm
from pb.models import Cycle
from pb.services import cycles, publication

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


@bp.post("/cycles/<int:cycle_id>/approve-results")
@official_required
def approve(cycle_id: int):
    """Approve the stored count of every district for publication."""
    back = url_for("admin.cycle", cycle_id=cycle_id)
    return perform(
        ActionForm(), lambda: publication.approve_results(current_user, cycle_id), back=back,
        success=lambda approval: (
            "You approved the count. It can be published once a different official approves it too."
            if len(publication.approvals(cycles.get_cycle(cycle_id))) < REQUIRED_APPROVALS
            else "You approved the count. Two officials have approved it: it can be published."
        ),
    )
