"""Residents asking to be verified after a document check, and the moderators' queue that answers them."""

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pb.blueprints.guards import moderator_required, perform
from pb.blueprints.public import chosen_district_id, visible_cycle
from pb.forms import ActionForm, AskVerificationForm, DeclineRequestForm, options
from pb.pagination import page_number
from pb.services import verification_requests as requests_service

bp = Blueprint("verification_requests", __name__)


def _ask_url(cycle_id: int) -> str:
    return url_for("verification_requests.ask", cycle_id=cycle_id)


@bp.route("/cycles/<int:cycle_id>/verify/ask", methods=["GET", "POST"])
@login_required
def ask(cycle_id: int):
    """Ask a moderator to verify you after checking your documents; see what became of your request."""
    cycle = visible_cycle(cycle_id)
    form = AskVerificationForm()
    form.district_id.choices = options((d.id, d.name) for d in cycle.districts)
    if request.method == "POST":
        return perform(
            form, lambda: requests_service.ask(current_user, cycle.id, form.district_id.data, form.note.data or ""),
            back=_ask_url(cycle.id),
            success=lambda asked: _("Your request is sent. A moderator will check your documents for %(district)s; "
                                    "the answer will show on this page.", district=asked.district.name),
        )
    return render_template(
        "verification_requests/ask.html", cycle=cycle, form=form, cancel_form=ActionForm(),
        latest=requests_service.latest_request(current_user, cycle),
        blockers=requests_service.ask_blockers(current_user, cycle), labels=requests_service.STATUS_LABELS,
    )


@bp.post("/cycles/<int:cycle_id>/verify/ask/<int:request_id>/cancel")
@login_required
def cancel(cycle_id: int, request_id: int):
    """Take back your open request."""
    cycle = visible_cycle(cycle_id)
    return perform(
        ActionForm(), lambda: requests_service.cancel(current_user, request_id), back=_ask_url(cycle.id),
        success=_("Your request is cancelled."),
    )


def _queue_url(cycle_id: int, district_id: int | None = None) -> str:
    return url_for("verification_requests.queue", cycle_id=cycle_id, district=district_id)


@bp.get("/moderation/cycles/<int:cycle_id>/verification-requests")
@moderator_required
def queue(cycle_id: int):
    """The residents who asked to be verified, oldest first, with verify and decline."""
    cycle = visible_cycle(cycle_id)
    district_id = chosen_district_id(cycle)
    page = requests_service.queue_page(cycle, district_id, page_number(request.args.get("page")))
    return render_template(
        "verification_requests/queue.html", cycle=cycle, district_id=district_id, page=page, waiting=page.items,
        sizes={d.id: requests_service.open_count(cycle, d.id) for d in cycle.districts},
        verify_form=ActionForm(), decline_form=DeclineRequestForm(),
    )


def _back(request_id: int) -> str:
    return _queue_url(requests_service.get_request(request_id).cycle_id)  # an unknown request: 404


@bp.post("/moderation/verification-requests/<int:request_id>/verify")
@moderator_required
def verify(request_id: int):
    """Verify the resident for the district they asked for, after checking their documents."""
    back = _back(request_id)
    return perform(
        ActionForm(), lambda: requests_service.verify(current_user, request_id), back=back,
        success=lambda verification: _("%(name)s can now vote in %(district)s.", name=verification.user.name,
                                       district=verification.district.name),
    )


@bp.post("/moderation/verification-requests/<int:request_id>/decline")
@moderator_required
def decline(request_id: int):
    """Decline a request with a reason the resident reads."""
    back = _back(request_id)
    form = DeclineRequestForm()
    return perform(
        form, lambda: requests_service.decline(current_user, request_id, form.reason.data), back=back,
        success=_("The request is declined; the resident will see your reason."),
    )

