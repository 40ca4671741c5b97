"""Ballot designs as a cycle and its districts set them, the projects a ballot is checked against, and frozen settings."""

import hashlib
import json
from dataclasses import dataclass, replace

from sqlalchemy import select

from pb.domain.ballot_words import describe
from pb.domain.ballots import (
    CUMULATIVE, DESIGN_LABELS, KNAPSACK, BallotDesign, BallotRules, check_design, design_problems,
)
from pb.domain.cycle import Phase
from pb.domain.errors import PermissionDenied, PhaseError, ValidationError
from pb.domain.messages import N_, Message
from pb.extensions import db
from pb.models import Category, Cycle, District, Proposal, ProposalStatus, User
from pb.services import audit, load, use_case

# Ballot settings are set while the cycle is prepared and proposals are made and reviewed; they freeze when voting
# opens, with the projects, so every voter votes on the same ballot and the published fingerprint holds.
DESIGNING_PHASES = frozenset({Phase.DRAFT, Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW})


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


def settings_text(cycle: Cycle) -> bytes:
    """The settings document exactly as it is hashed: the public download is these bytes."""
    text = json.dumps(settings_document(cycle), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def settings_digest(cycle: Cycle) -> str:
    return hashlib.sha256(settings_text(cycle)).hexdigest()


def freeze(cycle: Cycle) -> None:
    """Record the settings' digest as voting opens (inside the phase change's transaction)."""
    cycle.frozen_settings_sha256 = settings_digest(cycle)


def has_frozen_settings(cycle: Cycle) -> bool:
    """Whether voting has opened, so the settings are frozen and public."""
    return cycle.phase not in DESIGNING_PHASES


@dataclass(frozen=True)
class Fingerprint:
    """The frozen settings' SHA-256 as recorded when voting opened, and whether the settings still match it."""

    frozen: str
    current: str

    @property
    def is_intact(self) -> bool:
        return self.frozen == self.current


def fingerprint(cycle: Cycle) -> Fingerprint | None:
    """The recorded and recomputed digests once voting has opened; None before."""
    if not has_frozen_settings(cycle) or not cycle.frozen_settings_sha256:  # none was recorded (an older cycle)
        return None
    return Fingerprint(cycle.frozen_settings_sha256, settings_digest(cycle))


def can_change_design(cycle: Cycle) -> bool:
    return cycle.phase in DESIGNING_PHASES


def _require_official(actor: User) -> None:
    if not actor.is_official:
        raise PermissionDenied(N_("Only officials can set the ballot."))


def require_designing(cycle: Cycle) -> None:
    if not can_change_design(cycle):
        raise PhaseError(N_("The ballot settings froze when voting opened; they can no longer change. "
                            "This cycle is now: {phase}.", phase=cycle.phase.label.lower()))


def category_ids(cycle: Cycle) -> list[int]:
    return [category.id for category in cycle.categories]


def rule_name(rule: str) -> Message | str:
    from pb.services.tallying import rule_label  # tallying reads the designs this module sets

    return rule_label(rule)


def rule_misfit(rule: str, design: BallotDesign, where: str | None = None) -> Message | None:
    """Why the counting rule cannot count this design's ballots (None: it can), naming both."""
    if rule in design.fitting_rules:
        return None
    if where:
        return N_("The counting rule “{rule}” cannot count the ballot of {district} ({design}); choose a rule that "
                  "fits it, or another ballot.", rule=rule_name(rule), district=where,
                  design=DESIGN_LABELS[design.kind])
    return N_("The counting rule “{rule}” cannot count a ballot of this design ({design}); choose a rule that fits "
              "it, or another ballot.", rule=rule_name(rule), design=DESIGN_LABELS[design.kind])


def normalised(design: BallotDesign) -> BallotDesign:
    """The design with the settings its kind does not use cleared, so the stored (and hashed) form says only what
    applies: no points on a knapsack, no minimum spend on a ranking."""
    return replace(
        design,
        min_spend_percent=design.min_spend_percent if design.kind == KNAPSACK else 0,
        points=design.points if design.kind == CUMULATIVE else 0,
        max_points_per_project=design.max_points_per_project if design.kind == CUMULATIVE else None,
    )


def design_setting_problems(cycle: Cycle, design: BallotDesign, where: str | None = None) -> list[tuple[str, Message]]:
    """Every problem with giving the cycle (or its district `where`) this design, each with the setting it is about."""
    found = design_problems(normalised(design), category_ids(cycle))
    if not found:
        misfit = rule_misfit(cycle.rule, design, where)
        if misfit:
            found.append(("kind", misfit))
    return found


def _checked(cycle: Cycle, design: BallotDesign, where: str | None = None) -> BallotDesign:
    design = check_design(normalised(design), category_ids(cycle))
    misfit = rule_misfit(cycle.rule, design, where)
    if misfit:
        raise ValidationError(misfit, field="kind")
    return design


def _rest_of(design: BallotDesign) -> str:
    """What Cycle.ballot_settings stores: the design but its kind and counts, which have columns of their own."""
    data = design.to_data()
    for name in ("kind", "min_projects", "max_projects"):
        data.pop(name)
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


@use_case
def save_cycle_design(actor: User, cycle_id: int, design: BallotDesign) -> Cycle:
    """Set the ballot every district uses unless it has its own, before voting opens."""
    _require_official(actor)
    cycle = load(Cycle, cycle_id, "cycle", for_update=True)
    require_designing(cycle)
    design = _checked(cycle, design)
    before = cycle_design(cycle).to_data()
    cycle.ballot_design, cycle.min_projects, cycle.max_projects = design.kind, design.min_projects, design.max_projects
    cycle.ballot_settings = _rest_of(design)
    after = cycle_design(cycle).to_data()
    if before != after:
        audit.record(actor, "set-ballot-design", f"cycle:{cycle.id}", cycle_id=cycle.id, before=before, after=after)
    return cycle


@use_case
def save_district_design(actor: User, district_id: int, design: BallotDesign | None) -> District:
    """Give a district a ballot of its own, or (None) let it use the cycle's, before voting opens."""
    _require_official(actor)
    district = load(District, district_id, "district", for_update=True)
    cycle = district.cycle
    require_designing(cycle)
    if design is not None:
        design = _checked(cycle, design, district.name)
    before = {"name": district.name, "own_ballot": has_own_design(district), **district_design(district).to_data()}
    district.ballot_settings = design.to_json() if design is not None else None
    after = {"name": district.name, "own_ballot": has_own_design(district), **district_design(district).to_data()}
    if before != after:
        audit.record(actor, "set-district-ballot-design", f"district:{district.id}", cycle_id=cycle.id,
                     before=before, after=after)
    return district


def rule_problems(rule: str, cycle: Cycle, min_projects: int, max_projects: int | None) -> list[tuple[str, Message]]:
    """What is wrong with giving a cycle this counting rule and these counts, given its ballot and its districts'."""
    found: list[tuple[str, Message]] = []
    design = replace(cycle_design(cycle), min_projects=min_projects, max_projects=max_projects)
    for name, problem in design_problems(design, category_ids(cycle)):
        if name in ("min_projects", "max_projects"):
            found.append((name, problem))
    misfit = rule_misfit(rule, design)
    if misfit:
        found.append(("rule", misfit))
    for district in cycle.districts:
        if has_own_design(district):
            misfit = rule_misfit(rule, district_design(district), district.name)
            if misfit:
                found.append(("rule", misfit))
    return found


def fitting_rules(cycle: Cycle) -> set[str]:
    """The counting rules that fit the cycle's ballot and every district's own."""
    fitting = set(cycle_design(cycle).fitting_rules)
    for district in cycle.districts:
        if has_own_design(district):
            fitting &= set(district_design(district).fitting_rules)
    return fitting


def ballot_words(cycle: Cycle) -> dict[int, list[Message]]:
    """Each district's ballot in words, by district id, for the cycle pages."""
    names = {category.id: category.name for category in cycle.categories}
    return {district.id: describe(district_design(district), district.budget, cycle.currency, names)
            for district in cycle.districts}


def counts_points(cycle: Cycle) -> bool:
    """Whether some district's ballots are counted as points (cumulative points or rank scores)."""
    return any(district_design(district).is_points for district in cycle.districts)
