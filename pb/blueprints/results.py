"""Published results per district, and the CSV download for officials."""

import csv
import io

from flask import Blueprint, Response, render_template, request, url_for
from flask_login import current_user

from pb.blueprints.guards import official_required, refuse
from pb.blueprints.public import visible_cycle
from pb.domain.errors import DomainError, NotFound
from pb.domain.money import amount_for_input
from pb.services import tallying, voting

bp = Blueprint("results", __name__)


@bp.get("/cycles/<int:cycle_id>/results")
def show(cycle_id: int):
    """Show the funded projects, votes, costs, budget used and turnout of every district."""
    cycle = visible_cycle(cycle_id)
    try:
        runs = tallying.published_runs(cycle)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    return render_template(
        "results/show.html", cycle=cycle, runs=runs, turnout=voting.turnout(cycle),
        verified=voting.verified_counts(cycle), can_export=current_user.is_authenticated and current_user.is_official,
    )


@bp.get("/cycles/<int:cycle_id>/receipt")
def receipt(cycle_id: int):
    """Check a receipt code against the counted ballots, once results are published."""
    cycle = visible_cycle(cycle_id)
    code = request.args.get("code", "")[:40]
    try:
        ballot = voting.look_up_receipt(cycle, code) if code.strip() else None
    except NotFound as error:
        return render_template("results/receipt.html", cycle=cycle, code=code, ballot=None, problem=error.message), 404
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    return render_template("results/receipt.html", cycle=cycle, code=code, ballot=ballot, problem=None)


def _spreadsheet_safe(value: object) -> object:
    # A cell starting with = + - @ would run as a formula in Excel or LibreOffice.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@bp.get("/cycles/<int:cycle_id>/results.csv")
@official_required
def export_csv(cycle_id: int):
    """Download the published results as a CSV file that spreadsheets open correctly."""
    cycle = visible_cycle(cycle_id)
    try:
        runs = tallying.published_runs(cycle)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["district", "project_id", "title", "category", f"cost_{cycle.currency}", "votes", "funded", "rule"])
    for district in cycle.districts:
        run = runs.get(district.id)
        for result in run.results if run else []:
            project = result.project
            writer.writerow([_spreadsheet_safe(v) for v in (
                district.name, project.id, project.title, project.category.name if project.category else "",
                amount_for_input(project.cost, cycle.currency), result.votes, "yes" if result.is_funded else "no", run.rule,
            )])
    body = "\ufeff" + buffer.getvalue()  # the byte-order mark makes Excel read UTF-8
    filename = f"pb-results-cycle-{cycle.id}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={filename}"})
