"""Tie-breaking: the deterministic, documented total order a rule falls back on when projects tie."""

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

from pb.domain.tally.model import ApprovalProfile, Instance


class TieBreak(ABC):
    """A total order on projects; rules compare tied projects by their position in it.

    The order must come from a per-project key, so that ordering a subset of projects gives the
    same relative order as ordering them all (rules rank every project once and reuse the ranks).
    """

    name: ClassVar[str]

    @abstractmethod
    def describe(self) -> str:
        """One line for residents and exports, e.g. "lexicographic (by project id)"."""

    @abstractmethod
    def order(self, project_ids: Iterable[str], instance: Instance, profile: ApprovalProfile) -> list[str]:
        """The given projects, the one that wins a tie first."""

    def parameters(self) -> dict[str, str]:
        """What an Outcome records so the same tie-break can be rebuilt."""
        return {"tie_break": self.name}


@dataclass(frozen=True)
class SeededTieBreak(TieBreak):
    """Lower cost first, then more votes, then a lottery drawn from the seed (equalshares.net's order)."""

    seed: int
    name: ClassVar[str] = "cost-votes-lottery"

    def describe(self) -> str:
        return f"lower cost, then more votes, then lottery (seed {self.seed})"

    def lottery_ticket(self, project_id: str) -> str:
        # sha256 rather than hash(): the draw must be identical on every machine and every run.
        return hashlib.sha256(f"{self.seed}:{project_id}".encode()).hexdigest()

    def order(self, project_ids: Iterable[str], instance: Instance, profile: ApprovalProfile) -> list[str]:
        return sorted(
            project_ids,
            key=lambda project_id: (
                instance.project(project_id).cost,
                -profile.approvals(project_id),
                self.lottery_ticket(project_id),
            ),
        )

    def parameters(self) -> dict[str, str]:
        return {"tie_break": self.name, "seed": str(self.seed)}


@dataclass(frozen=True)
class LexicographicTieBreak(TieBreak):
    """By project id as text, as pabutools breaks ties by default."""

    name: ClassVar[str] = "lexicographic"

    def describe(self) -> str:
        return "lexicographic (by project id)"

    def order(self, project_ids: Iterable[str], instance: Instance, profile: ApprovalProfile) -> list[str]:
        return sorted(project_ids)


def seeded_tie_break(seed: int) -> TieBreak:
    return SeededTieBreak(seed)


DEFAULT_TIE_BREAK: TieBreak = seeded_tie_break(0)
LEXICOGRAPHIC: TieBreak = LexicographicTieBreak()
