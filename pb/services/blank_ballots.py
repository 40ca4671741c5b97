"""The blank paper ballot of a district, for polling stations to print: the projects, a box beside each, and the
rules of the district's design in words; an A4 tagged PDF with the city's letterhead (pb/services/printing.py).
Writes nothing.

The projects are printed in the order of `proposals.projects_on_ballot` (by title), the same on every sheet and on the
sheet entry page, so an official typing a sheet in reads the paper from top to bottom.
"""

from dataclasses import dataclass

from flask_babel import gettext

from pb.domain import cycle as cycle_rules
from pb.domain.ballot_instructions import BOX_HEADINGS, instructions
from pb.domain.errors import PermissionDenied
from pb.domain.messages import Message
from pb.models import District, Proposal, User
from pb.services import ballot_designs, load, printing, proposals


@dataclass(frozen=True)
class PrintedProject:
    """One row of the blank ballot."""

    proposal: Proposal
    cost: int
    category: str


def printed_projects(district: District) -> list[PrintedProject]:
    """The district's projects in the order the paper prints them, with what each row shows."""
    return [
        PrintedProject(proposal, proposal.final_cost if proposal.final_cost is not None else proposal.estimated_cost,
                       proposal.category.name if proposal.category is not None else "")
        for proposal in proposals.projects_on_ballot(district.cycle_id, district.id)
    ]


def printed_instructions(district: District) -> list[Message]:
    """The rules of the district's design, one sentence each, as the paper prints them."""
    cycle = district.cycle
    names = ballot_designs.ballot_projects(cycle.id, district.id).category_names
    return instructions(ballot_designs.rules_for(cycle, district), names)


def blank_ballot(actor: User, district_id: int) -> bytes:
    """The district's blank ballot as PDF, for officials, once the project list is final (from the opening of the vote
    until the count is published)."""
    if not actor.is_official:
        raise PermissionDenied("Only officials can print paper ballots.")
    district = load(District, district_id, "district")
    cycle = district.cycle
    cycle_rules.require_phase("print-paper-ballot", cycle.phase)
    design = ballot_designs.district_design(district)
    return printing.document(
        "reports/blank_ballot.html", printing.letterhead(), printing.made_on(cycle.timezone),
        gettext("Ballot: %(cycle)s, %(district)s", cycle=cycle.name, district=district.name),
        cycle=cycle, district=district, design=design, projects=printed_projects(district),
        instructions=printed_instructions(district), box_heading=BOX_HEADINGS[design.kind],
    )
