"""The tally engine's public API: instances, approval profiles, tie-breaks, rules and their outcomes."""

from pb.domain.tally.model import (
    ApprovalProfile,
    Instance,
    Outcome,
    PointsProfile,
    Profile,
    Project,
    ProjectResult,
    TallyError,
    format_money,
)
from pb.domain.tally.rules import RULES, greedy, mes, mes_add1, run_rule
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, LEXICOGRAPHIC, TieBreak, seeded_tie_break

__all__ = [
    "DEFAULT_TIE_BREAK",
    "LEXICOGRAPHIC",
    "RULES",
    "ApprovalProfile",
    "Instance",
    "Outcome",
    "PointsProfile",
    "Profile",
    "Project",
    "ProjectResult",
    "TallyError",
    "TieBreak",
    "format_money",
    "greedy",
    "mes",
    "mes_add1",
    "run_rule",
    "seeded_tie_break",
]
