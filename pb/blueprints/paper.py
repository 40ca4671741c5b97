"""Officials' pages for polling stations: marking paper voters and typing in paper sheets twice."""

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from pb.blueprints.ballot_forms import FIELD_PREFIXES, submitted_ballot
from pb.blueprints.guards import form_errors, official_required, perform, refuse
from pb.domain import cycle as cycle_rules
from pb.domain.ballot_instructions import BOX_HEADINGS, instructions
from pb.domain.ballots import CUMULATIVE, RANKING, BallotDesign
from pb.domain.errors import DomainError
from pb.domain.messages import N_
from pb.domain.numbers import whole_number
from pb.forms import PaperSheetForm, PaperVoterForm, UndoPaperVoterForm, options
from pb.i18n import translate
from pb.services import ballot_designs, blank_ballots, cycles, paper, proposals, users, verification, voting

bp = Blueprint("paper", __name__, url_prefix="/paper")


def _closed(cycle):
    """A refusal response if paper ballots cannot be entered in the cycle's phase, else None."""
    try:
        cycle_rules.require_phase("enter-paper-ballot", cycle.phase)
    except DomainError as error:
        return refuse(error, url_for("admin.cycle", cycle_id=cycle.id))
    return None


@bp.get("/cycles/<int:cycle_id>")
@official_required
def overview(cycle_id: int):
    """Turnout by channel, how far each district's sheets have got, and the sheets still waiting or in dispute."""
    cycle = cycles.get_cycle(cycle_id)
    if (refusal := _closed(cycle)) is not None:
        return refusal
    titles = {project.id: project.title for district in cycle.districts
              for project in proposals.projects_on_ballot(cycle.id, district.id)}
    unresolved = paper.unresolved_sheets(cycle)
    designs = {district.id: ballot_designs.district_design(district) for district in cycle.districts}
    entries = {entry.id: _entry_words(entry, titles, designs[sheet.district_id])
               for sheet in unresolved for entry in sheet.entries}
    return render_template(
        "paper/overview.html", cycle=cycle, turnout=voting.turnout_by_channel(cycle), sheets=paper.sheet_counts(cycle),
        unresolved=unresolved, entries=entries,
    )


def _entry_words(entry, titles: dict[int, str], design: BallotDesign) -> str:
    """An entry's choices as a disagreement shows them: titles, with the points or rank each was given."""
    words = []
    values = paper.entry_values(entry)
    for project_id in sorted(values, key=lambda found: (values[found] or 0) if design.kind == RANKING else 0):
        title, value = titles.get(project_id, f"#{project_id}"), values[project_id]
        if value is None:
            words.append(title)
        elif design.kind == RANKING:
            words.append(_("%(rank)s. %(title)s", rank=value, title=title))
        else:
            words.append(ngettext("%(title)s: %(num)s point", "%(title)s: %(num)s points", value, title=title))
    return "; ".join(words)


_SAVED = {
    paper.PENDING: N_("{sheet} is saved. It counts once a different official has entered it too."),
    paper.DISAGREED: N_("{sheet} does not match another official's entry; it is listed under the sheets in disagreement."),
    paper.AGREED: N_("{sheet} agrees with another official's entry and will be counted."),
    paper.SPOILT: N_("{sheet} is agreed as spoilt: it is recorded and will not be counted."),
}


def _typed(form, projects, design: BallotDesign) -> dict[int, str]:
    """What the official typed for each project, as text, to show a refused sheet again exactly as it was typed."""
    if design.kind in FIELD_PREFIXES:
        prefix = FIELD_PREFIXES[design.kind]
        return {project.id: (form.get(f"{prefix}{project.id}") or "").strip()[:20] for project in projects}
    ticked = set(form.getlist("project"))
    return {project.id: "1" for project in projects if str(project.id) in ticked}


def _sheet_page(district_id: int, *, is_correction: bool):
    district = cycles.get_district_by_id(district_id)
    cycle = district.cycle
    if (refusal := _closed(cycle)) is not None:
        return refusal
    form = PaperSheetForm()
    projects = proposals.projects_on_ballot(cycle.id, district.id)
    rules = ballot_designs.rules_for(cycle, district)
    design = rules.the_design
    typed: dict[int, str] = {}
    status = 200
    if request.method == "POST":
        typed = _typed(request.form, projects, design)
        if not form.validate_on_submit():
            form_errors(form)
            status = 400
        else:
            use = paper.correct_entry if is_correction else paper.enter_sheet
            try:
                # A spoilt sheet is recorded without choices: whatever is typed beside it is not read.
                ballot = [] if form.is_spoilt.data else submitted_ballot(request.form, design)
                sheet = use(current_user, district.id, form.polling_station.data, form.number.data, ballot,
                            is_spoilt=form.is_spoilt.data)
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
        typed = {project_id: str(value or 1) for project_id, value in paper.entry_values(entry).items()}
        form.is_spoilt.data = entry.is_spoilt
    else:
        form.polling_station.data = request.args.get("station", "")[:60]
        form.number.data = request.args.get("number", type=whole_number)
    category_names = {project.category_id: project.category.name for project in projects if project.category}
    return render_template(
        "paper/sheet.html", cycle=cycle, district=district, form=form, projects=projects, typed=typed,
        design=design, instructions=[translate(text) for text in instructions(rules, category_names)],
        box_heading=translate(BOX_HEADINGS[design.kind]), is_correction=is_correction,
        ranks=range(1, min(design.max_projects or 1, len(projects)) + 1) if design.kind == RANKING else (),
        points_cap=(design.max_points_per_project or design.points) if design.kind == CUMULATIVE else None,
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


# --- blank paper ballots (issue 20: a printable ballot for each design and district) ---------------------------------


@bp.get("/districts/<int:district_id>/blank-ballot.pdf")
@official_required
def blank_ballot(district_id: int):
    """Download the district's blank paper ballot to print for polling stations (A4, tagged PDF)."""
    district = cycles.get_district_by_id(district_id)
    try:
        body = blank_ballots.blank_ballot(current_user, district.id)
    except DomainError as error:
        return refuse(error, url_for("admin.cycle", cycle_id=district.cycle_id))
    response = make_response(body)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="pb-blank-ballot-cycle-{district.cycle_id}-district-{district.id}.pdf"')
    return response
