"""What the home page shows: the cycles under way with what a resident can do now and until when, and the latest
published results."""

from dataclasses import dataclass
from datetime import datetime

from pb.domain.cycle import Phase
from pb.models import Cycle
from pb.services import cycles, tallying

# The phases in which residents take part (or wait for a result), newest cycle first on the page.
UNDER_WAY = (Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW, Phase.VOTING, Phase.TALLYING)
FINISHED = (Phase.RESULTS, Phase.CLOSED)


@dataclass(frozen=True)
class NextStep:
    """What a resident can do in a cycle now (`kind`: propose, support, review, vote, count) and the published
    moment it lasts until (None: no moment was published)."""

    kind: str
    until: datetime | None


@dataclass(frozen=True)
class CycleNow:
    cycle: Cycle
    step: NextStep


@dataclass(frozen=True)
class ResultsSummary:
    """A finished cycle's published outcome in three figures: funded projects, money they get, ballots counted."""

    cycle: Cycle
    funded_count: int
    funded_money: int
    ballot_count: int


def next_step(cycle: Cycle) -> NextStep | None:
    """What residents can do in the cycle now and until which published moment (None once results are out)."""
    if cycle.phase is Phase.PROPOSALS:
        return NextStep("propose", cycle.supports_at if cycle.has_supports_phase else cycle.review_at)
    if cycle.phase is Phase.SUPPORTS:
        return NextStep("support", cycle.review_at)
    if cycle.phase is Phase.REVIEW:
        return NextStep("review", cycle.voting_open_at)
    if cycle.phase is Phase.VOTING:
        return NextStep("vote", cycle.voting_close_at)
    if cycle.phase is Phase.TALLYING:
        return NextStep("count", cycle.results_at)
    return None


def results_summary(cycle: Cycle) -> ResultsSummary:
    runs = tallying.published_runs(cycle).values()
    return ResultsSummary(
        cycle=cycle,
        funded_count=sum(1 for run in runs for result in run.results if result.is_funded),
        funded_money=sum(run.spent for run in runs),
        ballot_count=sum(run.ballot_count for run in runs),
    )


@dataclass(frozen=True)
class HomePage:
    under_way: list[CycleNow]
    latest_results: ResultsSummary | None
    others: list[Cycle]  # earlier finished cycles, and drafts for officials


def home_page(include_drafts: bool) -> HomePage:
    """The cycles under way (newest first) with their next step, the newest published results, and the rest."""
    listed = cycles.list_cycles(include_drafts=include_drafts)
    under_way = [CycleNow(cycle, next_step(cycle)) for cycle in listed if cycle.phase in UNDER_WAY]
    finished = [cycle for cycle in listed if cycle.phase in FINISHED]
    latest = results_summary(finished[0]) if finished else None
    others = [cycle for cycle in listed if cycle.phase not in UNDER_WAY and (latest is None or cycle is not latest.cycle)]
    return HomePage(under_way, latest, others)
