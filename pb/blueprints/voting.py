"""The ballot: verified residents fill in their district's ballot (choices, points or ranks) and may change it."""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from pb.blueprints import ballot_forms, ballot_page
from pb.blueprints.guards import not_to_be_kept, refuse
from pb.blueprints.public import require_visible, visible_cycle
from pb.domain import cycle as cycle_rules
from pb.domain.errors import BallotError, ConflictError, DomainError, PermissionDenied, PhaseError
from pb.domain.numbers import parse_whole_number
from pb.domain.ordering import keyed_order
from pb.forms import ActionForm
from pb.i18n import translate
from pb.services import ballot_designs, cycles, proposals, voting

bp = Blueprint("voting", __name__)


def _version_seen(value: str | None) -> int | None:
    """The ballot version the page showed (None when the form did not say, e.g. an older page still open)."""
    if value is None or value == "":
        return None
    version = parse_whole_number(value)
    if version is None:
        raise BallotError("The ballot form was damaged; reload the page and vote again.")
    return version


@bp.get("/cycles/<int:cycle_id>/vote")
@login_required
def districts(cycle_id: int):
    """List the districts the resident may vote in, and whether they have voted there."""
    cycle = visible_cycle(cycle_id)
    try:
        cycle_rules.require_phase("vote", cycle.phase)
        voting.require_before_close(cycle)  # closed at the published moment, even before the worker moves the phase
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    verified = voting.verified_district_ids(current_user, cycle.id)
    voted = voting.voted_district_ids(current_user, cycle)
    return render_template("voting/districts.html", cycle=cycle, verified=verified, voted=voted)


@bp.route("/cycles/<int:cycle_id>/vote/<int:district_id>", methods=["GET", "POST"])
@login_required
@not_to_be_kept
def ballot(cycle_id: int, district_id: int):
    """Show the ballot for one district and store the resident's choices."""
    district = voting.find_district(cycle_id, district_id)
    if district is None:  # the same answers as anywhere else: no such cycle, a hidden draft, no such district
        district = cycles.get_district(visible_cycle(cycle_id), district_id)
    cycle = require_visible(district.cycle)
    back = url_for("public.cycle", cycle_id=cycle.id)
    try:
        cycle_rules.require_phase("vote", cycle.phase)
        voting.require_before_close(cycle)  # closed at the published moment, even before the worker moves the phase
    except DomainError as error:
        return refuse(error, back)
    # A submission is checked by the service in its own transaction (and refused the same way below); reading the
    # voter's standing here first as well would only cost a query on the busiest request of the vote.
    standing = voting.voter_standing(current_user, district.id) if request.method == "GET" else None
    if standing is not None and not standing.is_verified:
        flash(
            _("You are not verified to vote in %(district)s yet. "
              "A moderator or an official can verify you after checking your documents.", district=district.name),
            "error",
        )
        return redirect(back)
    if standing is not None and standing.voted_on_paper:
        flash(_("You have already voted on paper at a polling station in %(district)s; "
                "you cannot also vote online.", district=district.name), "error")
        return redirect(back)
    form = ActionForm()
    design = ballot_designs.district_design(district)
    shown: dict[int, int] | None = None  # None: show the stored ballot
    problems: list[str] = []
    status = 200
    if request.method == "POST":
        try:
            if not form.validate_on_submit():
                raise BallotError("The form expired; reload the page and vote again.")
            version_seen = _version_seen(request.form.get("version"))
            ballot = voting.cast_ballot(
                current_user, cycle.id, district.id, ballot_forms.submitted_ballot(request.form, design),
                expected_version=version_seen,
            )
        except (PermissionDenied, PhaseError) as error:
            return refuse(error, back)  # not verified here, or already voted on paper: no ballot to show
        except ConflictError as error:
            # Someone (the same voter in another tab) stored a ballot first: show that one, not this submission.
            flash(translate(error.message), "error")
            status = 409
        except DomainError as error:
            # Every problem at once, beside the ballot as the voter filled it in, so it is fixed in one go.
            problems = [translate(problem) for problem in error.problems] or [translate(error.message)]
            shown = ballot_forms.shown_ballot(request.form, design)
            status = 400
        else:
            # Success is a redirect, so nothing more is read: a page that showed no ballot (version 0) stored the
            # first one, and the address comes from the request (the committed cycle and district would be reloaded).
            is_first = version_seen == 0 if version_seen is not None else ballot.version == 1
            flash(
                _("Your ballot is saved. You can change it until voting closes.") if is_first
                else _("Your ballot is changed. Only this new ballot counts."),
                "success",
            )
            return redirect(url_for("voting.ballot", cycle_id=cycle_id, district_id=district_id))
    # Each voter sees the projects in their own order, the same on every visit (position bias, see pb.domain.ordering).
    ordered = keyed_order(proposals.projects_on_ballot(cycle.id, district.id), current_app.secret_key,
                          "ballot", current_user.id, cycle.id)
    stored = voting.stored_ballot(current_user, cycle.id, district.id)
    if shown is None:
        shown = dict(stored.values) if stored else {}
    rules = ballot_designs.rules_for(cycle, district)
    projects = ballot_page.ballot_projects(ordered, shown)
    titles = {project.id: project.title for project in ordered}
    return render_template(
        "voting/ballot.html", cycle=cycle, district=district, projects=projects, design=design, rules=rules,
        summary=ballot_page.summary(rules, projects), problems=problems, form=form,
        design_words=ballot_page.design_words(rules, ordered), has_voted=stored is not None,
        stored_lines=ballot_page.in_words(design.kind, stored.values, titles) if stored else [],
        receipt=voting.format_receipt(stored.receipt) if stored else None,
        version=stored.version if stored else 0, ordinal=ballot_page.ordinal,
    ), status
