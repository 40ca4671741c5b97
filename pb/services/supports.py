"""Supports: residents back the proposals they want on the ballot during the optional supports phase.

A support is a public count per proposal. Who supports what is seen only by the resident (their own supports) and
never leaves this table: no ballot, sealed ballot, receipt or audit entry refers to it. A resident supports only in
the district they are verified in for the cycle (one per cycle), and at most the cycle's `supports_per_district`.
When the supports phase ends, the cycle's rule (the top K of each district, a minimum number of supports, or both)
decides which proposals go on to review; the others become "not enough supports" and their authors are told.
"""

from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from pb.domain import cycle as cycle_rules
from pb.domain import notifications
from pb.domain import supports as support_rules
from pb.domain.errors import ConflictError, PermissionDenied, ValidationError
from pb.domain.messages import N_, Message, Nn_
from pb.extensions import db
from pb.models import Cycle, District, Proposal, ProposalStatus, Support, User
from pb.services import accounts, audit, load, mail, use_case, voting

# Only proposals still in the running may be supported: submitted and not withdrawn.
SUPPORTABLE = ProposalStatus.SUBMITTED


def _proposal_in_phase(actor: User, proposal_id: int) -> Proposal:
    accounts.require_confirmed(actor)
    proposal = load(Proposal, proposal_id, "proposal")
    cycle_rules.require_phase("support-proposal", proposal.cycle.phase)
    return proposal


@use_case
def support(actor: User, proposal_id: int) -> Support:
    """The resident supports a proposal of the district they are verified in, within the cycle's limit per district.

    Supporting again what one already supports changes nothing (a double click).
    """
    # The resident's row lock makes two supports sent at the same moment take turns, so the count checked below is
    # the count stored (PostgreSQL; SQLite's writers already take turns).
    resident = load(User, actor.id, "user", for_update=True)
    proposal = _proposal_in_phase(resident, proposal_id)
    cycle = proposal.cycle
    if proposal.status is not SUPPORTABLE:
        raise ValidationError(N_("This proposal cannot be supported: {status}.", status=proposal.status.label.lower()))
    if proposal.district_id not in voting.verified_district_ids(resident, cycle.id):
        raise PermissionDenied(N_(
            "Only residents verified in {district} can support its proposals: verify yourself for this cycle first "
            "(a resident takes part in one district per cycle).", district=proposal.district.name,
        ))
    existing = db.session.scalar(select(Support).where(Support.proposal_id == proposal.id,
                                                       Support.user_id == resident.id))
    if existing is not None:
        return existing
    used = used_in(resident, proposal.district)
    if used >= cycle.supports_per_district:
        raise ValidationError(Nn_(
            "You have used your {count} support in {district}; take one back to support another proposal.",
            "You have used all {count} of your supports in {district}; take one back to support another proposal.",
            cycle.supports_per_district, district=proposal.district.name,
        ))
    row = Support(proposal_id=proposal.id, user_id=resident.id, cycle_id=cycle.id, district_id=proposal.district_id)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:  # the same support sent twice at once: the first one counts
        raise ConflictError(N_("You already support this proposal.")) from None
    return row


@use_case
def withdraw_support(actor: User, proposal_id: int) -> None:
    """The resident takes their support of a proposal back, while the supports phase lasts."""
    resident = load(User, actor.id, "user", for_update=True)
    proposal = _proposal_in_phase(resident, proposal_id)
    removed = db.session.execute(delete(Support).where(Support.proposal_id == proposal.id,
                                                       Support.user_id == resident.id))
    if not removed.rowcount:
        raise ValidationError(N_("You do not support this proposal; there is nothing to take back."))


# -- Reading: public counts, and a resident's own supports (theirs only). ------------------------------------------


def counts(cycle: Cycle) -> dict[int, int]:
    """Supports per proposal id of the cycle (a proposal nobody supports is absent)."""
    return dict(db.session.execute(
        select(Support.proposal_id, func.count()).where(Support.cycle_id == cycle.id).group_by(Support.proposal_id)
    ).all())


def count_for(proposal: Proposal) -> int:
    return db.session.scalar(select(func.count()).select_from(Support).where(Support.proposal_id == proposal.id)) or 0


def used_in(resident: User, district: District) -> int:
    """How many proposals of the district, still in the running, the resident supports.

    A support of a proposal its author withdrew no longer counts against the limit (the resident cannot reach its
    page to take the support back).
    """
    return db.session.scalar(select(func.count()).select_from(Support).join(Proposal).where(
        Support.user_id == resident.id, Support.district_id == district.id, Proposal.status == SUPPORTABLE)) or 0


def supported_ids(resident: User, cycle: Cycle) -> set[int]:
    """The proposals of the cycle the resident supports: shown to them only."""
    return set(db.session.scalars(select(Support.proposal_id).where(Support.user_id == resident.id,
                                                                    Support.cycle_id == cycle.id)))


@dataclass(frozen=True)
class Ranked:
    """A proposal in its district's ranking by supports, and whether the cycle's rule sends it on to review."""

    proposal: Proposal
    supports: int
    is_selected: bool


@dataclass(frozen=True)
class DistrictRanking:
    district: District
    ranked: list[Ranked]
    cut_off: int | None  # the fewest supports in the top K (None: no top rule, or fewer proposals than K)


def ranking(cycle: Cycle) -> list[DistrictRanking]:
    """Per district, the proposals still in the running by supports (most first), with what the rule would do now."""
    supported = counts(cycle)
    by_district: dict[int, list[Proposal]] = {}
    for proposal in db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycle.id,
                                                              Proposal.status == SUPPORTABLE)):
        by_district.setdefault(proposal.district_id, []).append(proposal)
    rankings = []
    for district in cycle.districts:
        proposals = by_district.get(district.id, [])
        district_counts = {p.id: supported.get(p.id, 0) for p in proposals}
        chosen = support_rules.selected(district_counts, cycle.supports_advance_top, cycle.supports_threshold)
        ordered = sorted(proposals, key=lambda p: (-district_counts[p.id], p.id))
        rankings.append(DistrictRanking(
            district, [Ranked(p, district_counts[p.id], p.id in chosen) for p in ordered],
            support_rules.cut_off(district_counts, cycle.supports_advance_top),
        ))
    return rankings


def districts_without_selection(cycle: Cycle) -> tuple[str, ...]:
    """Districts with proposals in the running of which the cycle's rule would send none on to review."""
    return tuple(item.district.name for item in ranking(cycle)
                 if item.ranked and not any(entry.is_selected for entry in item.ranked))


def rule_of(cycle: Cycle) -> Message:
    """The cycle's rule for supports in words."""
    top, threshold = cycle.supports_advance_top, cycle.supports_threshold
    if top is not None and threshold is not None:
        return Nn_("The most supported proposal of each district goes on to review, if it has at least {threshold} "
                   "supports (proposals tied at the last place all go on).",
                   "The {count} most supported proposals of each district go on to review, if they have at least "
                   "{threshold} supports (proposals tied at the last place all go on).", top, threshold=threshold)
    if top is not None:
        return Nn_("The most supported proposal of each district goes on to review (proposals tied at the last place "
                   "all go on).",
                   "The {count} most supported proposals of each district go on to review (proposals tied at the "
                   "last place all go on).", top)
    if threshold is not None:
        return Nn_("Proposals with at least {count} support go on to review.",
                   "Proposals with at least {count} supports go on to review.", threshold)
    return N_("Every proposal goes on to review, whatever its number of supports.")


def select_for_review(cycle: Cycle, actor: User | None) -> list[int]:
    """Set aside the proposals the cycle's rule does not send on to review, inside the caller's use case.

    Called once, as the supports phase ends (`cycles.move_on`). One audit entry lists every proposal set aside with
    the counts; each author is told by email. Returns the ids set aside.
    """
    if cycle.supports_advance_top is None and cycle.supports_threshold is None:
        return []
    left_out: list[tuple[Proposal, int]] = []
    for district_ranking in ranking(cycle):
        left_out.extend((entry.proposal, entry.supports) for entry in district_ranking.ranked if not entry.is_selected)
    for proposal, _count in left_out:
        proposal.status = ProposalStatus.NOT_SELECTED
        proposal.version += 1
    audit.record(
        actor, "select-for-review", f"cycle:{cycle.id}", cycle_id=cycle.id,
        after={"top": cycle.supports_advance_top, "threshold": cycle.supports_threshold,
               "not_selected": sorted(proposal.id for proposal, _ in left_out),
               "supports": {str(proposal.id): count for proposal, count in left_out}},
    )
    rule = rule_of(cycle)
    for proposal, count in left_out:
        if proposal.author is not None:
            mail.notify(proposal.author, notifications.PROPOSALS, "proposal_not_selected", proposal=proposal,
                        cycle=cycle, supports=count, rule=rule)
    return sorted(proposal.id for proposal, _ in left_out)
