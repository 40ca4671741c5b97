"""Ballot designs as a cycle and its districts set them, the projects a ballot is checked against, and frozen settings."""

import hashlib
import json
from dataclasses import dataclass, replace

from sqlalchemy import select

from pb.domain.ballots import BallotDesign, BallotRules
from pb.domain.errors import ValidationError
from pb.extensions import db
from pb.models import Category, Cycle, District, Proposal, ProposalStatus


def cycle_design(cycle: Cycle) -> BallotDesign:
    """The design every district of the cycle uses unless it has its own."""
    try:
        rest = BallotDesign.from_json(cycle.ballot_settings or "{}")
    except ValidationError:
        rest = BallotDesign()
    return replace(rest, kind=cycle.ballot_design, min_projects=cycle.min_projects, max_projects=cycle.max_projects)


def district_design(district: District) -> BallotDesign:
    """The design in force in a district: its own, or the cycle's."""
    if district.ballot_settings:
        try:
            return BallotDesign.from_json(district.ballot_settings)
        except ValidationError:
            pass  # damaged settings are refused where they are saved; a damaged row falls back to the cycle's
    return cycle_design(district.cycle)


def has_own_design(district: District) -> bool:
    return bool(district.ballot_settings)


def rules_for(cycle: Cycle, district: District) -> BallotRules:
    """The rules a ballot in this district is checked against."""
    return BallotRules(budget=district.budget, currency=cycle.currency, design=district_design(district))


@dataclass(frozen=True)
class BallotProjects:
    """What a submitted ballot is checked against: each project's cost and category, and the categories' names."""

    costs: dict[int, int]
    categories: dict[int, int | None]
    category_names: dict[int, str]


def ballot_projects(cycle_id: int, district_id: int, *, with_category_names: bool = True) -> BallotProjects:
    """The projects on a district's ballot with their costs and categories (one query, and one for category names)."""
    rows = db.session.execute(
        select(Proposal.id, Proposal.final_cost, Proposal.estimated_cost, Proposal.category_id).where(
            Proposal.cycle_id == cycle_id, Proposal.district_id == district_id,
            Proposal.status == ProposalStatus.ACCEPTED,
        )
    ).all()
    costs = {project_id: final if final is not None else estimate for project_id, final, estimate, _ in rows}
    categories = {project_id: category_id for project_id, _, _, category_id in rows}
    names = dict(db.session.execute(
        select(Category.id, Category.name).where(Category.cycle_id == cycle_id)
    ).all()) if with_category_names else {}
    return BallotProjects(costs, categories, names)


def settings_document(cycle: Cycle) -> dict:
    """Everything that must not change once voting opens: each district's budget, design and projects (cost, category).

    Its SHA-256 is shown on the cycle page from the opening of the vote on, so anyone holding the published figures
    can check that none of them changed during the vote.
    """
    districts = []
    for district in sorted(cycle.districts, key=lambda d: d.id):
        projects = db.session.execute(
            select(Proposal.id, Proposal.title, Proposal.final_cost, Proposal.estimated_cost, Proposal.category_id)
            .where(Proposal.cycle_id == cycle.id, Proposal.district_id == district.id,
                   Proposal.status == ProposalStatus.ACCEPTED)
            .order_by(Proposal.id)
        ).all()
        districts.append({
            "id": district.id, "name": district.name, "budget": district.budget,
            "ballot": district_design(district).to_data(),
            "projects": [{"id": pid, "title": title, "cost": final if final is not None else estimate,
                          "category": category} for pid, title, final, estimate, category in projects],
        })
    return {"cycle": cycle.id, "currency": cycle.currency, "rule": cycle.rule, "districts": districts}


def settings_digest(cycle: Cycle) -> str:
    text = json.dumps(settings_document(cycle), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def freeze(cycle: Cycle) -> None:
    """Record the settings' digest as voting opens (inside the phase change's transaction)."""
    cycle.frozen_settings_sha256 = settings_digest(cycle)
