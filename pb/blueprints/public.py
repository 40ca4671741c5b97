"""Pages anyone can read: the cycles, their proposals, the accessibility statement and how voting works."""

from flask import Blueprint, abort, render_template, request, session
from flask_login import current_user

from pb.domain import timetable
from pb.domain.cycle import Phase
from pb.domain.numbers import whole_number
from pb.models import ProposalStatus
from pb.pagination import page_number
from pb.services import audit, cycles, proposals, search, voting
from pb.services.home import home_page

bp = Blueprint("public", __name__)
LIST_SEED = "list_seed"


def visible_cycle(cycle_id: int):
    """A cycle as the current user may see it: drafts only for officials."""
    return require_visible(cycles.get_cycle(cycle_id))


def chosen_district_id(cycle) -> int | None:
    """The district a queue or list is filtered to (`?district=`), checked to be one of the cycle's; None for all."""
    district_id = request.args.get("district", type=whole_number)
    if district_id is not None:
        cycles.get_district(cycle, district_id)
    return district_id


def require_visible(cycle):
    """The cycle, unless it is a draft and the current user is not an official (then 404: drafts are not shown)."""
    if cycle.phase is Phase.DRAFT and not (current_user.is_authenticated and current_user.is_official):
        abort(404)
    return cycle


@bp.get("/")
def home():
    """The cycles under way with what a resident can do now and until when, and the latest published results."""
    show_drafts = current_user.is_authenticated and current_user.is_official
    return render_template("public/home.html", page=home_page(include_drafts=show_drafts))


def published_moments(cycle) -> list:
    """The cycle's published moments that are set, in order, each with its label (a message, translated on show)."""
    labels = dict(timetable.MOMENTS)
    return [(labels[name], getattr(cycle, name)) for name in timetable.moment_names(cycle.has_supports_phase)
            if getattr(cycle, name)]


@bp.get("/cycles/<int:cycle_id>")
def cycle(cycle_id: int):
    """Show a cycle: what it is, its phase and dates, districts and what one can do now."""
    cycle = visible_cycle(cycle_id)
    verified = voting.verified_district_ids(current_user, cycle.id) if current_user.is_authenticated else set()
    return render_template("public/cycle.html", cycle=cycle, verified=verified,
                           audit_heads=audit.published_heads(cycle.id), moments=published_moments(cycle),
                           timetable_changes=cycles.timetable_changes(cycle))


@bp.get("/cycles/<int:cycle_id>/proposals")
def proposal_list(cycle_id: int):
    """Search, filter and sort a cycle's proposals, one page at a time; a wrong value is named and ignored."""
    cycle = visible_cycle(cycle_id)
    criteria, problems = search.read_criteria(request.args, cycle)
    # One seed per visitor, kept in their session: the random order stays put across pages and visits.
    seed = session.get(LIST_SEED)
    if not isinstance(seed, int):
        seed = session[LIST_SEED] = search.new_seed()
    found = search.find_proposals(cycle, criteria, page_number(request.args.get("page")), seed)
    return render_template(
        "public/proposals.html", cycle=cycle, criteria=criteria, problems=problems, page=found,
        sort=search.effective_sort(criteria), sorts=search.sorts_for(cycle, bool(criteria.words)),
        statuses=search.PUBLIC_STATUSES, district_id=criteria.district_id,
    )


def readable_proposal(proposal_id: int):
    """The proposal as the current user may read it: 404 in a draft cycle (but for officials), and once withdrawn
    (but for its author)."""
    proposal = proposals.get_proposal(proposal_id)
    require_visible(proposal.cycle)
    is_author = current_user.is_authenticated and current_user.id == proposal.author_id
    if proposal.status is ProposalStatus.WITHDRAWN and not is_author:
        abort(404)
    return proposal


@bp.get("/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    """Show one proposal with its status and the moderator's public note."""
    proposal = readable_proposal(proposal_id)
    is_author = current_user.is_authenticated and current_user.id == proposal.author_id
    return render_template("public/proposal.html", proposal=proposal, cycle=proposal.cycle, is_author=is_author)


@bp.get("/accessibility")
def accessibility():
    """The accessibility statement: the standard pb meets, how that is tested, and how to report a barrier."""
    return render_template("public/accessibility.html")


@bp.get("/how-voting-works")
def how_voting_works():
    """Voting in plain words: the budget cap, changing a ballot, the receipt, and how winners are chosen."""
    return render_template("public/how_voting_works.html")
