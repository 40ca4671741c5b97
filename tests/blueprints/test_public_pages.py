"""The accessibility statement and "How voting works": open to all, linked from every page, examples that hold."""

import re

import pytest

from pb.domain.tally.model import ApprovalProfile, Instance, Project
from pb.domain.tally.rules import run_rule
from pb.models import Role


def _text(response) -> str:
    """The page's words without tags or repeated spaces, as a reader would see them."""
    return " ".join(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)).split())


@pytest.mark.parametrize("role", [None, Role.RESIDENT, Role.OFFICIAL])
@pytest.mark.parametrize("path", ["/", "/accessibility", "/how-voting-works", "/login"])
def test_every_page_links_to_both_from_the_footer(client, make_user, role, path):
    if role is not None:
        client.login(make_user(role))
    page = client.get(path).get_data(as_text=True)
    footer = page[page.index('<footer class="site">'):]
    assert 'href="/accessibility"' in footer and 'href="/how-voting-works"' in footer


def test_the_accessibility_statement_names_the_standard_the_tests_and_how_to_report(client):
    response = client.get("/accessibility")
    assert response.status_code == 200
    text = _text(response)
    assert "WCAG) 2.2, level AA" in text
    assert "axe-core" in text and "keyboard alone" in text and "360 × 640" in text
    assert "Report a barrier" in text and "which page, what you tried to do and what happened" in text


def test_how_voting_works_explains_the_cap_changing_the_receipt_and_both_counts(client):
    response = client.get("/how-voting-works")
    assert response.status_code == 200
    text = _text(response)
    assert "add up to no more than the district's money" in text
    assert "Only your last ballot counts" in text
    assert "Check your receipt" in text and "the old one stops counting" in text
    assert "The greedy count" in text and "The Method of Equal Shares" in text


def _count(rule: str, budget: int, costs: dict[str, int], ballots: list[tuple[set[str], int]]):
    instance = Instance(budget=budget, projects=tuple(Project(id=name, cost=cost) for name, cost in costs.items()))
    profile = ApprovalProfile(tuple((frozenset(approved), voters) for approved, voters in ballots))
    return run_rule(rule, instance, profile)


def test_the_greedy_example_is_what_the_greedy_count_gives(client):
    costs = {"Skate park": 600, "Library garden": 500, "Street trees": 300, "Bike racks": 200}
    votes = {"Skate park": 50, "Library garden": 40, "Street trees": 30, "Bike racks": 10}
    outcome = _count("greedy", 1_000, costs, [({name}, count) for name, count in votes.items()])
    assert set(outcome.selected) == {"Skate park", "Street trees"} and outcome.left == 100
    text = _text(client.get("/how-voting-works"))
    assert "The skate park and the street trees are funded; 100 is left over." in text


def test_the_equal_shares_example_is_what_the_equal_shares_count_gives(client):
    costs = {"Park": 500, "Playground": 400, "Library": 400}
    ballots = [({"Park", "Playground"}, 6), ({"Library"}, 4)]
    outcome = _count("mes-add1", 1_000, costs, ballots)
    assert set(outcome.selected) == {"Playground", "Library"} and outcome.left == 200
    assert set(_count("greedy", 1_000, costs, ballots).selected) == {"Park", "Playground"}
    text = _text(client.get("/how-voting-works"))
    assert "The playground and the library are funded (800), and 200 is left." in text
    assert "would instead have funded the park and the playground (900)" in text
