"""The officials' dashboard while a cycle runs: turnout, verification progress and paper sheets still open."""

from flask import Blueprint, render_template

from pb.blueprints.guards import official_required
from pb.services import cycles, dashboard

bp = Blueprint("dashboard", __name__, url_prefix="/admin")


@bp.get("/cycles/<int:cycle_id>/dashboard")
@official_required
def show(cycle_id: int):
    """Show turnout by district and by day, verification progress and paper sheets; never what anyone chose."""
    cycle = cycles.get_cycle(cycle_id)
    return render_template("admin/dashboard.html", cycle=cycle, board=dashboard.dashboard(cycle))
