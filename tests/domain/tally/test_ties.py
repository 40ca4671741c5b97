"""Ties the standard count broke are explained: which projects tied, what put them in order, and who was funded."""

from pb.domain.tally import ApprovalProfile, Instance, Project, run_rule, seeded_tie_break
from pb.domain.tally.tie_breaking import LEXICOGRAPHIC, SeededTieBreak
from pb.domain.tally.ties import CountedProject, broken_ties, tie_break_words


def _counted(instance, outcome, titles):
    return [CountedProject(int(p.id), titles[p.id], outcome.votes[p.id], p.cost, p.id in outcome.selected)
            for p in instance.projects]


def test_a_tie_on_votes_broken_by_cost_says_so():
    # 1 and 2 both have 2 votes and only one fits: the seeded tie-break takes the cheaper one first.
    instance = Instance(700, (Project("1", 600), Project("2", 400), Project("3", 100)))
    profile = ApprovalProfile.from_ballots([["1", "2"], ["1", "2"], ["3"]])
    tie_break = seeded_tie_break(5)
    outcome = run_rule("greedy", instance, profile, tie_break=tie_break)
    assert set(outcome.selected) == {"2", "3"}
    (sentence,) = broken_ties("greedy", outcome.parameters, _counted(instance, outcome, {"1": "Fountain", "2": "Benches", "3": "Bins"}))
    assert sentence == ("Benches and Fountain had 2 votes each. The tie-break put them in this order: Benches, then "
                        "Fountain, because the cheaper project comes first. Funded: Benches. Not funded: Fountain.")


def test_a_tie_on_votes_and_cost_is_decided_by_the_published_seed():
    instance = Instance(500, (Project("1", 500), Project("2", 500)))
    profile = ApprovalProfile.from_ballots([["1"], ["2"]])
    outcome = run_rule("greedy", instance, profile, tie_break=seeded_tie_break(11))
    (winner,) = outcome.selected
    loser = "2" if winner == "1" else "1"
    assert SeededTieBreak(11).lottery_ticket(winner) < SeededTieBreak(11).lottery_ticket(loser)
    (sentence,) = broken_ties("greedy", outcome.parameters, _counted(instance, outcome, {"1": "A", "2": "B"}))
    titles = {"1": "A", "2": "B"}
    assert sentence.count("1 vote each") == 1  # one vote: the singular
    assert f"this order: {titles[winner]}, then {titles[loser]}" in sentence
    assert "they cost the same, so the lottery drawn from the published seed 11 decided" in sentence
    assert f"Funded: {titles[winner]}. Not funded: {titles[loser]}." in sentence


def test_a_tie_that_separated_nobody_is_not_explained_and_equal_shares_is_left_out():
    instance = Instance(1000, (Project("1", 500), Project("2", 500)))
    profile = ApprovalProfile.from_ballots([["1"], ["2"]])
    outcome = run_rule("greedy", instance, profile, tie_break=seeded_tie_break(1))
    assert len(outcome.selected) == 2
    assert broken_ties("greedy", outcome.parameters, _counted(instance, outcome, {"1": "A", "2": "B"})) == []
    assert broken_ties("mes-add1", outcome.parameters, _counted(instance, outcome, {"1": "A", "2": "B"})) == []


def test_the_lexicographic_tie_break_is_explained_by_project_number():
    instance = Instance(500, (Project("1", 500), Project("2", 500)))
    profile = ApprovalProfile.from_ballots([["1"], ["2"]])
    outcome = run_rule("greedy", instance, profile, tie_break=LEXICOGRAPHIC)
    (sentence,) = broken_ties("greedy", outcome.parameters, _counted(instance, outcome, {"1": "A", "2": "B"}))
    assert "because the project with the lower number comes first. Funded: A. Not funded: B." in sentence


def test_the_tie_break_is_described_as_a_translatable_message():
    words = tie_break_words({"tie_break": "cost-votes-lottery", "seed": "7"})
    assert words.template.startswith("the cheaper project first") and words.params == {"seed": "7"}
    assert "seed 7" in words
    assert tie_break_words({"tie_break": "lexicographic"}) == "the project with the lower number first"
    assert tie_break_words({}, "something else") == "something else"
