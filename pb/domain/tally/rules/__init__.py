"""The registry of tally rules; every rule has the signature rule(instance, profile, *, tie_break) -> Outcome."""

from collections.abc import Callable

from pb.domain.tally.model import ApprovalProfile, Instance, Outcome, TallyError
from pb.domain.tally.rules.equal_shares import mes, mes_add1
from pb.domain.tally.rules.greedy import greedy
from pb.domain.tally.tie_breaking import DEFAULT_TIE_BREAK, TieBreak

Rule = Callable[..., Outcome]

RULES: dict[str, Rule] = {"greedy": greedy, "mes": mes, "mes-add1": mes_add1}


def run_rule(
    name: str, instance: Instance, profile: ApprovalProfile, *, tie_break: TieBreak = DEFAULT_TIE_BREAK
) -> Outcome:
    """Run the rule registered under name; TallyError if there is none."""
    try:
        rule = RULES[name]
    except KeyError:
        raise TallyError(f"Unknown tally rule {name!r}; choose one of {', '.join(RULES)}.") from None
    return rule(instance, profile, tie_break=tie_break)
