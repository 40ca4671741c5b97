"""Published results per cycle and district, their charts, the public ballot list and the officials' exports."""

import json

from flask import Blueprint, Response, g, make_response, render_template, request, url_for
from flask_login import current_user

from pb import charts
from pb.blueprints.guards import not_to_be_kept, official_required, refuse
from pb.blueprints.public import visible_cycle
from pb.domain import cycle as cycle_rules
from pb.domain.errors import DomainError, NotFound, PhaseError
from pb.i18n import format_share
from pb.services import audit, ballot_designs, exports, project_status, revisions, tallying, voting

bp = Blueprint("results", __name__)


def _page_context(cycle, runs: dict) -> dict:
    """What the results pages show besides the runs: turnout, the side-by-side, the voter's own count, the charts."""
    voter_count = (
        tallying.funded_choices(current_user, cycle, runs) if current_user.is_authenticated else {}
    )
    turnout, verified = voting.turnout_by_channel(cycle), voting.verified_counts(cycle)
    totals = {district_id: sum(channels.values()) for district_id, channels in turnout.items()}
    funded = {district_id: [r for r in run.results if r.is_funded] for district_id, run in runs.items()}
    took_part, could_vote = sum(totals.get(d, 0) for d in runs), sum(verified.get(d, 0) for d in runs)
    designs = {district_id: ballot_designs.district_design(run.district) for district_id, run in runs.items()}
    terms = {district_id: tallying.score_terms(design) for district_id, design in designs.items()}
    return {
        "designs": designs,
        "design_words": {district_id: tallying.design_words(design) for district_id, design in designs.items()},
        "terms": terms,
        # How many voters gave each project points (or ranked it): the score alone does not say.
        "supporters": {district_id: tallying.supporters(run) if terms[district_id].is_points else {}
                       for district_id, run in runs.items()},
        "uncompared": {district_id: tallying.uncompared_rules(runs[district_id], design)
                       for district_id, design in designs.items()},
        "funded": funded,
        "summary": {
            "funded_count": sum(len(results) for results in funded.values()),
            "funded_amount": sum(run.spent for run in runs.values()),
            "budget": sum(run.budget for run in runs.values()),
            "took_part": took_part,
            "verified": could_vote,
            "share": format_share(took_part, could_vote),
        },
        "cycle": cycle,
        "runs": runs,
        "turnout": turnout,
        "turnout_total": totals,
        "turnout_share": {district_id: format_share(totals[district_id], verified[district_id]) for district_id in totals},
        "verified": verified,
        "columns": {district_id: tallying.rule_columns(run) for district_id, run in runs.items()},
        "parameters": {district_id: tallying.parameters(run) for district_id, run in runs.items()},
        "rule_label": tallying.rule_label,
        "voter_count": voter_count,
        "votes_charts": {district_id: exports.votes_chart(cycle, district_id) for district_id in runs},
        "can_export": current_user.is_authenticated and current_user.is_official,
        "ties": {district_id: tallying.broken_ties(run, cycle.tie_break_seed) for district_id, run in runs.items()},
        "tie_break_words": tallying.tie_break_words,
        "parameter_rows": {district_id: tallying.parameter_rows(run, cycle.currency) for district_id, run in runs.items()},
        "revision": revisions.current(cycle),
        "audit_heads": audit.published_heads(cycle.id),
    }


def _personal(page: str) -> Response:
    """A results page; for a logged-in voter it says how many of their own choices won, so no cache may keep it."""
    response = make_response(page)
    if current_user.is_authenticated:
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/cycles/<int:cycle_id>/results")
def show(cycle_id: int):
    """Show every district's funded projects, votes, costs, budget, turnout, the rules side by side and the charts."""
    cycle = visible_cycle(cycle_id)
    try:
        runs = tallying.published_runs(cycle)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    cycle_charts = [exports.cycle_chart(cycle, kind) for kind in exports.PUBLIC_CHARTS]
    return _personal(render_template(
        "results/show.html", districts=cycle.districts, cycle_charts=cycle_charts, **_page_context(cycle, runs)
    ))


@bp.get("/cycles/<int:cycle_id>/results/<int:district_id>")
def district(cycle_id: int, district_id: int):
    """Show one district's published results, with the same detail as the cycle's results page."""
    cycle = visible_cycle(cycle_id)
    try:
        run = tallying.published_run(cycle, district_id)
    except PhaseError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    district = exports.district_of(cycle, district_id)
    return _personal(render_template(
        "results/district.html", district=district, districts=[district], **_page_context(cycle, {district.id: run})
    ))


def _svg(data: charts.ChartData, *, is_final: bool) -> Response:
    response = Response(charts.svg(data), mimetype="image/svg+xml")
    response.add_etag()
    # Published results change only by a correction (a new revision), so caches may keep them five minutes and then
    # check the ETag; turnout during the vote changes all the time, so it is checked again on every view.
    response.cache_control.public = True
    response.cache_control.max_age = 300 if is_final else 0
    if not is_final:
        response.cache_control.must_revalidate = True
    return response.make_conditional(request)


@bp.get("/cycles/<int:cycle_id>/charts/<kind>.svg")
def chart(cycle_id: int, kind: str):
    """Draw one cycle-wide chart as SVG: budget by category or district (published), turnout (from the vote)."""
    cycle = visible_cycle(cycle_id)
    data = exports.cycle_chart(cycle, kind)
    return _svg(data, is_final=tallying.is_published(cycle))


@bp.get("/cycles/<int:cycle_id>/results/<int:district_id>/votes.svg")
def votes_chart(cycle_id: int, district_id: int):
    """Draw the votes per project in one district as SVG, once results are published."""
    cycle = visible_cycle(cycle_id)
    return _svg(exports.votes_chart(cycle, district_id), is_final=True)


def _download(body: str | bytes, mimetype: str, filename: str) -> Response:
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/cycles/<int:cycle_id>/results/<int:district_id>/ballots.csv")
def ballot_list(cycle_id: int, district_id: int):
    """Download a district's anonymised ballots (receipt code and choices) once results are published."""
    cycle = visible_cycle(cycle_id)
    body = exports.public_ballot_list(cycle, district_id)
    return _download(body, "text/csv", f"pb-ballots-cycle-{cycle.id}-district-{district_id}.csv")


@bp.get("/cycles/<int:cycle_id>/results/<int:district_id>/ballots.pb")
def ballot_list_pabulib(cycle_id: int, district_id: int):
    """Download the same anonymised ballots as a pabulib file (voter ids are receipt codes) to re-run the count."""
    cycle = visible_cycle(cycle_id)
    body = exports.public_ballot_list_pabulib(cycle, district_id)
    return _download(body, "text/plain", f"pb-ballots-cycle-{cycle.id}-district-{district_id}.pb")


@bp.get("/cycles/<int:cycle_id>/receipt")
@not_to_be_kept
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
    kind, lines = tallying.receipt_lines(ballot) if ballot is not None else ("", [])
    return render_template("results/receipt.html", cycle=cycle, code=code, ballot=ballot, problem=None, kind=kind,
                           lines=lines)


def _published_cycle(cycle_id: int):
    """A cycle whose results anyone may download: refused (409) until they are published, as the pages are."""
    cycle = visible_cycle(cycle_id)
    cycle_rules.require_phase("see-results", cycle.phase)
    return cycle


@bp.get("/cycles/<int:cycle_id>/results.csv")
def export_csv(cycle_id: int):
    """Download the published results as a CSV file that spreadsheets open correctly (anyone, once published)."""
    cycle = _published_cycle(cycle_id)
    return _download(exports.results_csv(cycle), "text/csv", f"pb-results-cycle-{cycle.id}.csv")


@bp.get("/cycles/<int:cycle_id>/results.json")
def export_json(cycle_id: int):
    """Download the published results, rules, exact parameters and digests as one JSON document (anyone, once published)."""
    cycle = _published_cycle(cycle_id)
    body = json.dumps(exports.results_json(cycle), ensure_ascii=False, indent=2)
    return _download(body, "application/json", f"pb-results-cycle-{cycle.id}.json")


@bp.get("/cycles/<int:cycle_id>/results/<int:district_id>.pb")
@official_required
def export_pabulib(cycle_id: int, district_id: int):
    """Download one district's count as a pabulib .pb file with anonymised voters and every vote."""
    cycle = visible_cycle(cycle_id)
    body = exports.district_pabulib(cycle, district_id)
    return _download(body, "text/plain", f"pb-cycle-{cycle.id}-district-{district_id}.pb")


@bp.get("/cycles/<int:cycle_id>/results.pdf")
def export_pdf(cycle_id: int):
    """Download the printable results report (summary, rule and parameters, tables, charts) as PDF (anyone, once published)."""
    cycle = _published_cycle(cycle_id)
    return _download(exports.results_pdf(cycle), "application/pdf", f"pb-results-cycle-{cycle.id}.pdf")


@bp.app_template_global()
def count_terms(run):
    """The words a stored count is read in (votes, points or rank scores), for pages that list its results."""
    return tallying.district_terms(run.district)


@bp.app_template_global()
def project_result(proposal):
    """A project's published result, for the results section of its page; None until results are published."""
    return tallying.published_result(proposal.id, proposal.cycle)


@bp.get("/cycles/<int:cycle_id>/results/revisions")
def revisions_list(cycle_id: int):
    """Every published revision of the results: when, why, who proposed and approved it, and what it changed."""
    cycle = visible_cycle(cycle_id)
    try:
        cycle_rules.require_phase("see-results", cycle.phase)
    except DomainError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    shown = revisions.published(cycle)
    counts = [json.loads(revision.snapshot) for revision in shown]
    listed = [(revision, revisions.changes(counts[i - 1], counts[i]) if i else []) for i, revision in enumerate(shown)]
    return render_template("results/revisions.html", cycle=cycle, revisions=listed)


@bp.get("/cycles/<int:cycle_id>/results/revisions/<int:number>")
def revision(cycle_id: int, number: int):
    """One published revision of the results as it was published, kept for good."""
    cycle = visible_cycle(cycle_id)
    try:
        shown = revisions.published_revision(cycle, number)
    except PhaseError as error:
        return refuse(error, url_for("public.cycle", cycle_id=cycle.id))
    latest = revisions.current(cycle)
    terms = {district.id: tallying.district_terms(district) for district in cycle.districts}
    return render_template(
        "results/revision.html", cycle=cycle, revision=shown, districts=json.loads(shown.snapshot),
        is_latest=latest is not None and latest.number == shown.number, rule_label=tallying.rule_label, terms=terms,
    )


@bp.app_template_global()
def public_status(proposal) -> project_status.PublicStatus:
    """The status a page shows for a proposal: after results, funded, not funded or withdrawn (one rule for all)."""
    # A list shows many proposals of one cycle: its results are read once per request, not once per proposal.
    known = g.setdefault("cycle_results", {})
    if proposal.cycle_id not in known:
        known[proposal.cycle_id] = project_status.cycle_results(proposal.cycle)
    return project_status.public_status(proposal, known[proposal.cycle_id])


@bp.app_template_global()
def project_withdrawal(proposal):
    """The published revision that withdrew a funded project, for its page; None if it was never withdrawn."""
    return revisions.withdrawal(proposal.cycle, proposal.id)
