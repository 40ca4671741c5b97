"""The supports phase's rule: which proposals of a district go on to review, by their number of supports."""

from collections.abc import Mapping


def cut_off(counts: Mapping[int, int], top: int | None) -> int | None:
    """The fewest supports that still place a proposal in the district's top `top` (None: no top rule applies).

    Proposals tied with the one at the `top`-th place all go on: places are shared, never drawn by lot, so equal
    support is treated equally (a district may therefore send more than `top` proposals on).
    """
    if top is None or len(counts) <= top:
        return None
    return sorted(counts.values(), reverse=True)[top - 1]


def selected(counts: Mapping[int, int], top: int | None, threshold: int | None) -> set[int]:
    """The proposals (by id, with their number of supports) that go on to review from one district.

    `top`: only the `top` most supported go on (ties at the last place all go on); `threshold`: only those with at
    least that many supports. With both, a proposal must meet both; with neither, every proposal goes on.
    """
    least = cut_off(counts, top)
    return {
        proposal_id for proposal_id, count in counts.items()
        if (least is None or count >= least) and (threshold is None or count >= threshold)
    }
