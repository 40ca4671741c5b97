"""The registry of tally rules; every rule has the signature rule(instance, profile, *, tie_break) -> Outcome."""

from collections.abc import Callable
from dataclasses import replace

from pb.domain.tally.model import Instance, Outcome, Profile, TallyError
from pb.domain.tally.rules.comparison import mes_add1_comparison
from pb.domain.tally.rules.equal_shares import mes, mes_add1, mes_add1_run
from pb.domain.tally.rules.greedy import greedy, greedy_no_skip, greedy_threshold
from pb.domain.tally.rules.phragmen import phragmen
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak

Rule = Callable[..., Outcome]


def mes_add1_no_completion(instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Equal Shares with Add1 and no greedy fill-up: what Assen, Świecie and Aarau publish as `equalshares/add1`."""
    outcome = mes_add1_run(instance, profile, tie_break=tie_break, exhaustive_stop=True, completion=False)
    return replace(outcome, rule="mes-add1-no-completion")


# The names are those of pabulib's META `rule` field where a city's rule has one there.
RULES: dict[str, Rule] = {
    "greedy": greedy,
    "greedy-threshold": greedy_threshold,
    "greedy-no-skip": greedy_no_skip,
    "mes": mes,
    "mes-add1": mes_add1,
    "mes-add1-no-completion": mes_add1_no_completion,
    "mes-add1-comparison": mes_add1_comparison,
    "phragmen": phragmen,
}


def run_rule(name: str, instance: Instance, profile: Profile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK) -> Outcome:
    """Run the rule registered under name; TallyError if there is none."""
    try:
        rule = RULES[name]
    except KeyError:
        raise TallyError(f"Unknown tally rule {name!r}; choose one of {', '.join(RULES)}.") from None
    return rule(instance, profile, tie_break=tie_break)
