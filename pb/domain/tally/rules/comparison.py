"""Equal Shares with Add1, checked against the greedy count by the voters' own preference (Wieliczka's add1-comparison).

``mes-add1-comparison`` computes two outcomes with the same tie-break: Equal Shares with Add1 completion
(the variant that keeps raising the per-voter budget until the next raise would overspend, then fills
what is left greedily) and the plain greedy count. Each voter prefers the outcome that funds more of the
projects they voted for (for points ballots, the projects they gave any points to). Equal Shares is kept
unless strictly more voters prefer the greedy outcome. The counts are recorded in the Outcome's
parameters and in every explanation.

The number of funded projects, not their cost, is what reproduces the published counts: on Wieliczka's
2023 green budget it gives exactly 1,615 voters preferring Equal Shares and 873 greedy (4,098 indifferent),
while the total cost of their funded projects would give 1,576 and 1,050.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from pb.domain.messages import Nn_, join
from pb.domain.tally.model import Instance, Outcome, Profile
from pb.domain.tally.rules.common import Election, prepare
from pb.domain.tally.rules.equal_shares import mes_add1_run
from pb.domain.tally.rules.greedy import greedy
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak


@dataclass(frozen=True)
class Preferences:
    """How many voters have more of their projects funded by each of two outcomes, or as many by both."""

    prefer_first: int
    prefer_second: int
    indifferent: int


def compare(election: Election, first: Iterable[str], second: Iterable[str]) -> Preferences:
    """Count the voters who have more of the projects they voted for funded by first, by second, or as many by both."""
    group_count = len(election.multiplicities)

    def funded(selected: Iterable[str]) -> np.ndarray:
        """How many of each ballot group's projects are funded."""
        groups = [election.supporters[project_id] for project_id in selected]
        return np.bincount(np.concatenate([np.zeros(0, dtype=np.int64), *groups]), minlength=group_count)

    first_gain, second_gain = funded(first), funded(second)
    voters = np.asarray(election.multiplicities, dtype=np.int64)
    return Preferences(
        int(voters[first_gain > second_gain].sum()),
        int(voters[second_gain > first_gain].sum()),
        int(voters[first_gain == second_gain].sum()),
    )


def mes_add1_comparison(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Equal Shares with Add1 and greedy completion, unless strictly more voters prefer the greedy count's outcome."""
    election = prepare(instance, profile, tie_break)
    equal_shares = mes_add1_run(instance, profile, tie_break=tie_break, exhaustive_stop=False, completion=True)
    by_votes = greedy(instance, profile, tie_break=tie_break)
    preferences = compare(election, equal_shares.selected, by_votes.selected)
    is_greedy_kept = preferences.prefer_second > preferences.prefer_first
    chosen = by_votes if is_greedy_kept else equal_shares
    values = {"same": preferences.indifferent}
    if is_greedy_kept:
        reason = Nn_(
            "The greedy count's outcome was used instead of Equal Shares': {count:,} voter preferred it and {fewer:,} "
            "the other ({same:,} got the same from both).",
            "The greedy count's outcome was used instead of Equal Shares': {count:,} voters preferred it and "
            "{fewer:,} the other ({same:,} got the same from both).",
            preferences.prefer_second, fewer=preferences.prefer_first, **values,
        )
    else:
        reason = Nn_(
            "Equal Shares' outcome was kept rather than the greedy count's: {count:,} voter preferred it and "
            "{fewer:,} the other ({same:,} got the same from both).",
            "Equal Shares' outcome was kept rather than the greedy count's: {count:,} voters preferred it and "
            "{fewer:,} the other ({same:,} got the same from both).",
            preferences.prefer_first, fewer=preferences.prefer_second, **values,
        )
    projects = {
        project_id: replace(result, explanation=join(result.explanation, reason))
        for project_id, result in chosen.projects.items()
    }
    parameters = {
        **chosen.parameters,
        "compared_with": "greedy",
        "prefer_equal_shares": str(preferences.prefer_first),
        "prefer_greedy": str(preferences.prefer_second),
        "indifferent": str(preferences.indifferent),
        "kept": "greedy" if is_greedy_kept else "equal-shares",
    }
    return replace(chosen, rule="mes-add1-comparison", projects=projects, parameters=parameters)
