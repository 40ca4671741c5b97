"""Officials' pages for polling stations: marking paper voters and typing in paper sheets twice."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from pb.blueprints.guards import form_errors, official_required, perform, refuse
from pb.domain import cycle as cycle_rules
from pb.domain.errors import BallotError, DomainError
from pb.domain.messages import N_
from pb.domain.numbers import parse_whole_number, whole_number
from pb.forms import PaperSheetForm, PaperVoterForm, UndoPaperVoterForm, options
from pb.i18n import translate
from pb.services import cycles, paper, proposals, users, verification, voting

bp = Blueprint("paper", __name__, url_prefix="/paper")


def _closed(cycle):
    """A refusal response if paper ballots cannot be entered in the cycle's phase, else None."""
    try:
        cycle_rules.require_phase("enter-paper-ballot", cycle.phase)
    except DomainError as error:
        return refuse(error, url_for("admin.cycle", cycle_id=cycle.id))
    return None


def _chosen_ids(values: list[str]) -> list[int]:
    """Project ids from the ticked checkboxes; anything that is not an id refuses the whole sheet."""
    chosen = [parse_whole_number(value) for value in values]
    if None in chosen:
        raise BallotError("Some choices are not projects on this ballot; reload the page and choose again.")
    return chosen


@bp.get("/cycles/<int:cycle_id>")
@official_required
def overview(cycle_id: int):
    """Turnout by channel, how far each district's sheets have got, and the sheets still waiting or in dispute."""
    cycle = cycles.get_cycle(cycle_id)
    if (refusal := _closed(cycle)) is not None:
        return refusal
    titles = {project.id: project.title for district in cycle.districts
              for project in proposals.projects_on_ballot(cycle.id, district.id)}
    return render_template(
        "paper/overview.html", cycle=cycle, turnout=voting.turnout_by_channel(cycle), sheets=paper.sheet_counts(cycle),
        unresolved=paper.unresolved_sheets(cycle), titles=titles, entry_choices=paper.entry_choices,
    )


_SAVED = {
    paper.PENDING: N_("{sheet} is saved. It counts once a different official has entered it too."),
    paper.DISAGREED: N_("{sheet} does not match another official's entry; it is listed under the sheets in disagreement."),
    paper.AGREED: N_("{sheet} agrees with another official's entry and will be counted."),
    paper.SPOILT: N_("{sheet} is agreed as spoilt: it is recorded and will not be counted."),
}


def _sheet_page(district_id: int, *, is_correction: bool):
    district = cycles.get_district_by_id(district_id)
    cycle = district.cycle
    if (refusal := _closed(cycle)) is not None:
        return refusal
    form = PaperSheetForm()
    projects = proposals.projects_on_ballot(cycle.id, district.id)
    chosen: set[int] = set()
    status = 200
    if request.method == "POST":
        submitted = request.form.getlist("project")
        chosen = {number for number in map(parse_whole_number, submitted) if number is not None}
        if not form.validate_on_submit():
            form_errors(form)
            status = 400
        else:
            use = paper.correct_entry if is_correction else paper.enter_sheet
            try:
                sheet = use(current_user, district.id, form.polling_station.data, form.number.data,
                            _chosen_ids(submitted), is_spoilt=form.is_spoilt.data)
            except DomainError as error:
                flash(translate(error.message), "error")
                status = 400
            else:
                name = _("Sheet %(number)s from %(station)s", number=sheet.number, station=sheet.polling_station)
                flash(translate(N_(_SAVED[sheet.status], sheet=name)), "success")
                if is_correction:
                    return redirect(url_for("paper.overview", cycle_id=cycle.id))
                return redirect(url_for("paper.enter_sheet", district_id=district.id, station=sheet.polling_station))
    elif is_correction:
        form.polling_station.data = request.args.get("station", "")[:60]
        form.number.data = request.args.get("number", type=whole_number)
        sheet = paper.find_sheet(district, form.polling_station.data, form.number.data)
        entry = paper.own_entry(sheet, current_user) if sheet is not None else None
        if entry is None:
            flash(_("You have no entry of this sheet to correct."), "error")
            return redirect(url_for("paper.overview", cycle_id=cycle.id))
        chosen, form.is_spoilt.data = set(paper.entry_choices(entry)), entry.is_spoilt
    else:
        form.polling_station.data = request.args.get("station", "")[:60]
        form.number.data = request.args.get("number", type=whole_number)
    return render_template(
        "paper/sheet.html", cycle=cycle, district=district, form=form, projects=projects, chosen=chosen,
        rules=voting.rules_for(cycle, district), is_correction=is_correction,
    ), status


@bp.route("/districts/<int:district_id>/sheets", methods=["GET", "POST"])
@official_required
def enter_sheet(district_id: int):
    """Type in one paper sheet from a polling station's box."""
    return _sheet_page(district_id, is_correction=False)


@bp.route("/districts/<int:district_id>/sheets/correct", methods=["GET", "POST"])
@official_required
def correct_sheet(district_id: int):
    """Replace your own entry of a sheet that is not agreed yet."""
    return _sheet_page(district_id, is_correction=True)


@bp.route("/cycles/<int:cycle_id>/voters", methods=["GET", "POST"])
@official_required
def voters(cycle_id: int):
    """Find residents and mark them as having voted on paper at a polling station."""
    cycle = cycles.get_cycle(cycle_id)
    if (refusal := _closed(cycle)) is not None:
        return refusal
    form = PaperVoterForm()
    form.district_id.choices = options((d.id, d.name) for d in cycle.districts)
    search = request.args.get("q", "")[:100]
    if request.method == "POST":
        return perform(
            form, lambda: paper.record_paper_voter(current_user, form.user_id.data, form.district_id.data),
            back=url_for("paper.voters", cycle_id=cycle.id, q=search),
            success=_("The resident is recorded as having voted on paper; they can no longer vote online there."),
        )
    found = users.list_users(search, limit=50) if search.strip() else []
    return render_template(
        "paper/voters.html", cycle=cycle, search=search, found=found,
        voted={user.id: paper.channels_voted(user, cycle.id) for user in found},
        verified={user.id: voting.verified_district_ids(user, cycle.id) for user in found},
        blockers={user.id: verification.revocation_blockers(user, cycle) for user in found},
    )


@bp.post("/cycles/<int:cycle_id>/voters/undo")
@official_required
def undo_voter(cycle_id: int):
    """Take back a paper-voter mark made by mistake, with a reason for the audit log."""
    cycle = cycles.get_cycle(cycle_id)
    if (refusal := _closed(cycle)) is not None:
        return refusal
    form = UndoPaperVoterForm()
    return perform(
        form, lambda: paper.undo_paper_voter(current_user, form.user_id.data, form.district_id.data, form.reason.data),
        back=url_for("paper.voters", cycle_id=cycle.id, q=request.args.get("q", "")[:100]),
        success=_("The paper-voter mark is taken back; the resident may vote again in that district."),
    )
