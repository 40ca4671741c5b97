"""What the open-data API may show the public, as plain JSON-ready data: read-only, the same for every caller."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select

from pb.domain import cycle as cycle_rules
from pb.domain import timetable
from pb.domain.cycle import Phase
from pb.domain.errors import NotFound, ValidationError
from pb.domain.messages import N_
from pb.domain.money import minor_unit_exponent
from pb.extensions import db
from pb.models import (
    Comment,
    Cycle,
    District,
    Proposal,
    ProposalDocument,
    ProposalPhoto,
    ProposalStatus,
    ResultRevision,
    Support,
    TallyRun,
)
from pb.services import ballot_designs, cycles, load, revisions, tallying, voting

MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 50

# Deliberately never exposed: who proposed a project (author ids and names), who verified or voted, e-mails.
# The web page names a proposal's author in context; an API would let anyone harvest and link those names in
# bulk across cycles, which residents never agreed to when they proposed a park bench. Nothing a journalist or
# researcher needs from a project depends on knowing who proposed it.


@dataclass(frozen=True)
class Page:
    """One page of a list, with what a client needs to fetch the next one."""

    items: list[dict]
    page: int
    per_page: int
    total: int

    @property
    def has_next(self) -> bool:
        return self.page * self.per_page < self.total


def check_paging(page: int | None, per_page: int | None) -> tuple[int, int]:
    """The page number and size asked for, or a ValidationError saying what is allowed."""
    page = 1 if page is None else page
    per_page = DEFAULT_PER_PAGE if per_page is None else per_page
    if page < 1:
        raise ValidationError("page must be a whole number of at least 1.")
    if not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationError(N_("per_page must be a whole number from 1 to {most}.", most=MAX_PER_PAGE))
    return page, per_page


def money(amount: int, currency: str) -> dict:
    """An amount as integer minor units with its currency, so no client ever rounds a float."""
    return {"amount_minor": amount, "currency": currency, "minor_unit_exponent": minor_unit_exponent(currency)}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _instant(value: datetime | None) -> str | None:
    # Stored as naive UTC; say so, so that clients do not read it as local time.
    return value.isoformat(timespec="seconds") + "Z" if value else None


def _is_published(cycle: Cycle) -> bool:
    return cycle_rules.is_allowed("see-results", cycle.phase)


def public_cycle(cycle_id: int) -> Cycle:
    """A cycle the public may see; drafts do not exist for the API, whoever asks."""
    cycle = cycles.get_cycle(cycle_id)
    if cycle.phase is Phase.DRAFT:
        raise NotFound("There is no such cycle.")
    return cycle


def _cycle_summary(cycle: Cycle) -> dict:
    return {
        "id": cycle.id,
        "name": cycle.name,
        "phase": cycle.phase.value,
        "phase_label": cycle.phase.label,
        "currency": cycle.currency,
        "total_budget": money(cycle.total_budget, cycle.currency),
        "rule": cycle.rule,
        "has_published_results": _is_published(cycle),
        # The days as before (each the calendar day in the cycle's zone), then the moments with the zone's offset.
        "dates": {f"{name[:-3]}_on": _day(cycles.day_of(cycle, getattr(cycle, name))) for name, _ in timetable.MOMENTS},
        "timezone": cycle.timezone,
        "moments": {name: timetable.iso(getattr(cycle, name), cycle.timezone) for name, _ in timetable.MOMENTS},
        "created_at": _instant(cycle.created_at),
    }


def cycle_page(page: int, per_page: int) -> Page:
    """Every cycle but drafts, newest first."""
    query = select(Cycle).where(Cycle.phase != Phase.DRAFT)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.scalars(
        query.order_by(Cycle.created_at.desc(), Cycle.id.desc()).offset((page - 1) * per_page).limit(per_page)
    )
    return Page([_cycle_summary(cycle) for cycle in rows], page, per_page, total)


def cycle_detail(cycle: Cycle) -> dict:
    """A cycle with its districts, categories, ballot limits and counting rule."""
    return {
        **_cycle_summary(cycle),
        "description": cycle.description,
        "rule_name": cycles.RULE_NAMES.get(cycle.rule, cycle.rule),
        "tie_break_seed": cycle.tie_break_seed,
        "ballot_limits": {"min_projects": cycle.min_projects, "max_projects": cycle.max_projects},
        "districts": [
            {"id": district.id, "name": district.name, "budget": money(district.budget, cycle.currency)}
            for district in cycle.districts
        ],
        "categories": [{"id": category.id, "name": category.name} for category in cycle.categories],
    }


def _published_results(cycle: Cycle) -> dict[int, dict]:
    """Per project id, its published result; empty while results are not public (never a vote before that)."""
    if not _is_published(cycle):
        return {}
    found = {}
    for run in tallying.published_runs(cycle).values():
        unit = tallying.district_terms(run.district).unit
        for result in run.results:
            found[result.project_id] = {
                "votes": result.votes,
                "score_unit": unit,
                "is_funded": result.is_funded,
                "position": result.position,
                "explanation": result.explanation,
            }
    return found


@dataclass(frozen=True)
class MediaLinks:
    """How the web layer addresses a photo (its medium size) and a document, given their ids."""

    photo: Callable[[int], str]
    document: Callable[[int], str]


@dataclass(frozen=True)
class _Extras:
    """What a page of projects shows beyond their own columns, read in one query each for the whole page."""

    photos: dict[int, list[dict]]
    documents: dict[int, list[dict]]
    comments: dict[int, int]
    supports: dict[int, int] | None  # None: the cycle has no supports phase, so no count is shown


def _extras(cycle: Cycle, projects: list[Proposal], links: MediaLinks) -> _Extras:
    # Only public proposals reach here (accepted ones); a withdrawn proposal's files are never listed, whatever calls.
    ids = [project.id for project in projects if project.status is not ProposalStatus.WITHDRAWN]
    photos: dict[int, list[dict]] = {project_id: [] for project_id in ids}
    documents: dict[int, list[dict]] = {project_id: [] for project_id in ids}
    if not ids:
        return _Extras(photos, documents, {}, {} if cycle.has_supports_phase else None)
    for photo_id, project_id, alt in db.session.execute(
        select(ProposalPhoto.id, ProposalPhoto.proposal_id, ProposalPhoto.alt_text)
        .where(ProposalPhoto.proposal_id.in_(ids)).order_by(ProposalPhoto.position, ProposalPhoto.id)
    ):
        photos[project_id].append({"url": links.photo(photo_id), "alt": alt})
    for document_id, project_id, title in db.session.execute(
        select(ProposalDocument.id, ProposalDocument.proposal_id, ProposalDocument.title)
        .where(ProposalDocument.proposal_id.in_(ids)).order_by(ProposalDocument.created_at, ProposalDocument.id)
    ):
        documents[project_id].append({"url": links.document(document_id), "title": title})
    # Hidden and deleted comments are not public: they are not counted either.
    comments = dict(db.session.execute(
        select(Comment.proposal_id, func.count()).where(
            Comment.proposal_id.in_(ids), Comment.is_visible
        ).group_by(Comment.proposal_id)
    ).all())
    supports = None
    if cycle.has_supports_phase:
        supports = dict(db.session.execute(
            select(Support.proposal_id, func.count()).where(Support.proposal_id.in_(ids))
            .group_by(Support.proposal_id)
        ).all())
    return _Extras(photos, documents, comments, supports)


def _project(project: Proposal, results: dict[int, dict], extras: _Extras) -> dict:
    currency = project.cycle.currency
    found = {
        "id": project.id,
        "cycle_id": project.cycle_id,
        "district": {"id": project.district_id, "name": project.district.name},
        "category": {"id": project.category.id, "name": project.category.name} if project.category else None,
        "title": project.title,
        "summary": project.summary,
        "description": project.description,
        "location": project.location,
        "address": project.location,
        "latitude": project.latitude,
        "longitude": project.longitude,
        "cost": money(project.cost, currency),
        "estimated_cost": money(project.estimated_cost, currency),
        "moderator_note": project.moderator_note,
        "photos": extras.photos.get(project.id, []),
        "documents": extras.documents.get(project.id, []),
        "comments": extras.comments.get(project.id, 0),
        "created_at": _instant(project.created_at),
        "updated_at": _instant(project.updated_at),
        "result": results.get(project.id),
    }
    if extras.supports is not None:
        found["supports"] = extras.supports.get(project.id, 0)
    return found


def _projects_query(cycle: Cycle):
    # Only projects on the ballot: accepted proposals. Other proposals are not projects, and withdrawn ones are hidden.
    return select(Proposal).where(Proposal.cycle_id == cycle.id, Proposal.status == ProposalStatus.ACCEPTED)


def project_page(cycle: Cycle, district_id: int | None, page: int, per_page: int, links: MediaLinks) -> Page:
    """The cycle's projects on the ballot, optionally of one district, by id so pages never shift."""
    query = _projects_query(cycle)
    if district_id is not None:
        cycles.get_district(cycle, district_id)
        query = query.where(Proposal.district_id == district_id)
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = list(db.session.scalars(query.order_by(Proposal.id).offset((page - 1) * per_page).limit(per_page)))
    results = _published_results(cycle)
    extras = _extras(cycle, rows, links)
    return Page([_project(project, results, extras) for project in rows], page, per_page, total)


def project_detail(project_id: int, links: MediaLinks) -> dict:
    """One project on the ballot of a public cycle; anything else does not exist for the API."""
    project = load(Proposal, project_id, "project")
    if project.status is not ProposalStatus.ACCEPTED or project.cycle.phase is Phase.DRAFT:
        raise NotFound("There is no such project.")
    return _project(project, _published_results(project.cycle), _extras(project.cycle, [project], links))


def _district_results(cycle: Cycle, district: District, run: TallyRun | None, turnout: dict, verified: int) -> dict:
    currency = cycle.currency
    summary = {
        "district": {"id": district.id, "name": district.name},
        "budget": money(district.budget, currency),
        "turnout": {"voters": sum(turnout.values()), **turnout, "verified_residents": verified},
        "is_counted": run is not None,
    }
    if run is None:
        return {**summary, "count": None}
    kind = ballot_designs.district_design(district).kind
    terms = tallying.district_terms(district)
    supporters = tallying.supporters(run)
    return {
        **summary,
        "count": {
            "rule": run.rule,
            "rule_name": cycles.RULE_NAMES.get(run.rule, run.rule),
            "ballot_design": kind,
            "score_unit": terms.unit,
            "tie_break": run.tie_break,
            "tie_break_seed": cycle.tie_break_seed,
            "parameters": json.loads(run.parameters or "{}"),
            "budget": money(run.budget, currency),
            "spent": money(run.spent, currency),
            "left": money(run.budget - run.spent, currency),
            "ballots_counted": run.ballot_count,
            "ballot_list_sha256": run.ballot_list_sha256,
            "counted_at": _instant(run.created_at),
            "projects": [
                {
                    "project_id": result.project_id,
                    "title": result.project.title,
                    "position": result.position,
                    "votes": result.votes,
                    "voters": supporters.get(result.project_id, 0),
                    "is_funded": result.is_funded,
                    "cost": money(result.project.cost, currency),
                    "explanation": result.explanation,
                }
                for result in run.results
            ],
        },
    }


def cycle_results(cycle: Cycle) -> dict:
    """The published count of every district, with turnout; a PhaseError until results are published."""
    runs = tallying.published_runs(cycle)
    turnout = voting.turnout_by_channel(cycle)
    verified = voting.verified_counts(cycle)
    districts = [
        _district_results(cycle, district, runs.get(district.id), turnout[district.id], verified[district.id])
        for district in cycle.districts
    ]
    return {
        "cycle": {"id": cycle.id, "name": cycle.name, "phase": cycle.phase.value, "currency": cycle.currency},
        "rule": cycle.rule,
        "total_budget": money(cycle.total_budget, cycle.currency),
        "revision": _revision(revisions.current(cycle)),
        "districts": districts,
    }


def _revision(revision: ResultRevision | None) -> dict | None:
    if revision is None:
        return None
    return {
        "number": revision.number, "published_at": _instant(revision.published_at), "reason": revision.reason,
        "withdrawn_project_ids": sorted(revisions.withdrawn_ids(revision)),
    }
