"""Search and listing of proposals on both engines: words found where they are, ranks, filters, orders and pages."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pb.extensions import db
from pb.models import Comment, ProposalStatus, Support
from pb.services import search
from pb.services.search import Criteria


@pytest.fixture
def cycle(make_cycle):
    return make_cycle()


def ids(page):
    return [card.proposal.id for card in page.items]


@pytest.mark.parametrize("field", ["title", "summary", "description"])
def test_a_word_is_found_in_each_searched_field(cycle, make_proposal, field):
    wanted = make_proposal(cycle, **{field: "Benches under the plane trees"})
    make_proposal(cycle, title="A fountain", summary="Water.", description="Drinking water.")
    assert search.search_proposal_ids(cycle, "plane") == [wanted.id]


def test_every_word_is_required_case_is_ignored_and_the_last_word_is_a_prefix(cycle, make_proposal):
    both = make_proposal(cycle, title="Bicycle parking", description="Near the library.")
    make_proposal(cycle, title="Bicycle lanes")
    assert search.search_proposal_ids(cycle, "BICYCLE library") == [both.id]
    assert search.search_proposal_ids(cycle, "bicycle park") == [both.id]


def test_the_best_match_comes_first(cycle, make_proposal):
    once = make_proposal(cycle, title="A playground", description="Also some trees.")
    often = make_proposal(cycle, title="Trees", summary="More trees.", description="Trees, trees and trees.")
    assert search.search_proposal_ids(cycle, "trees") == [often.id, once.id]


def test_withdrawn_proposals_and_other_cycles_are_never_found(cycle, make_cycle, make_proposal):
    make_proposal(cycle, title="Secret garden", status=ProposalStatus.WITHDRAWN)
    make_proposal(make_cycle(), title="Secret garden")
    shown = make_proposal(cycle, title="Secret garden")
    assert search.search_proposal_ids(cycle, "garden") == [shown.id]
    assert ids(search.find_proposals(cycle, Criteria())) == [shown.id]


def test_an_edited_title_is_found_by_its_new_words_only(cycle, make_proposal):
    proposal = make_proposal(cycle, title="Old words")
    proposal.title = "Fresh words"
    db.session.commit()
    assert search.search_proposal_ids(cycle, "fresh") == [proposal.id]
    assert search.search_proposal_ids(cycle, "old") == []


@pytest.mark.parametrize("query", ['"', "AND OR NEAR(", "*", "title:", "'", "\\", "a\"b", "-", "NOT", "^x", "(", ")",
                                   "!:&|", "''; DROP TABLE proposals; --", "\x00", "_", "ü*", "1e3", "NEAR(a b, 2)"])
def test_queries_that_look_like_operators_are_read_as_plain_words(cycle, make_proposal, query):
    make_proposal(cycle, title="AND OR NEAR drop table title")
    search.search_proposal_ids(cycle, query)  # must not raise
    assert search.find_proposals(cycle, Criteria(text=query)).total >= 0


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.text(max_size=40))
def test_no_query_raises(cycle, query):
    search.find_proposals(cycle, Criteria(text=query))


def test_filters_combine(cycle, make_proposal):
    north, south = cycle.districts
    wanted = make_proposal(cycle, north, title="Trees", estimated_cost=20_000, status=ProposalStatus.ACCEPTED)
    make_proposal(cycle, south, title="Trees", estimated_cost=20_000, status=ProposalStatus.ACCEPTED)
    make_proposal(cycle, north, title="Trees", estimated_cost=90_000, status=ProposalStatus.ACCEPTED)
    make_proposal(cycle, north, title="Trees", estimated_cost=20_000, status=ProposalStatus.REJECTED)
    make_proposal(cycle, north, title="Lamps", estimated_cost=20_000, status=ProposalStatus.ACCEPTED)
    criteria = Criteria(text="trees", district_id=north.id, category_id=cycle.categories[0].id,
                        status=ProposalStatus.ACCEPTED, min_cost=10_000, max_cost=50_000)
    assert ids(search.find_proposals(cycle, criteria)) == [wanted.id]


def test_the_cost_filter_reads_the_final_cost_once_set(cycle, make_proposal):
    revised = make_proposal(cycle, estimated_cost=10_000, final_cost=60_000)
    make_proposal(cycle, estimated_cost=10_000)
    assert ids(search.find_proposals(cycle, Criteria(min_cost=50_000))) == [revised.id]


def test_sorts(cycle, make_proposal, make_user):
    cheap = make_proposal(cycle, estimated_cost=1_000)
    dear = make_proposal(cycle, estimated_cost=9_000)
    middle = make_proposal(cycle, estimated_cost=5_000)
    for _ in range(2):
        db.session.add(Support(proposal_id=middle.id, user_id=make_user().id, cycle_id=cycle.id,
                               district_id=middle.district_id))
    db.session.add(Support(proposal_id=dear.id, user_id=make_user().id, cycle_id=cycle.id, district_id=dear.district_id))
    db.session.commit()
    assert ids(search.find_proposals(cycle, Criteria(sort="cost-asc"))) == [cheap.id, middle.id, dear.id]
    assert ids(search.find_proposals(cycle, Criteria(sort="cost-desc"))) == [dear.id, middle.id, cheap.id]
    assert ids(search.find_proposals(cycle, Criteria(sort="newest"))) == [middle.id, dear.id, cheap.id]
    assert ids(search.find_proposals(cycle, Criteria(sort="supports"))) == [middle.id, dear.id, cheap.id]


def test_votes_order_reads_the_published_count(make_cycle, make_project, make_user):
    from pb.domain.cycle import Phase
    from tests.conftest import store_count

    cycle = make_cycle()
    first, second, third = (make_project(cycle) for _ in range(3))
    store_count(cycle, make_user(), funded=[second], unfunded=[third, first])
    assert "votes" in search.sorts_for(cycle, has_words=False)
    assert cycle.phase is Phase.RESULTS
    assert ids(search.find_proposals(cycle, Criteria(sort="votes"))) == [second.id, third.id, first.id]


def test_the_random_order_is_stable_for_a_seed_and_differs_between_seeds(cycle, make_proposal):
    for _ in range(12):
        make_proposal(cycle)
    one = ids(search.find_proposals(cycle, Criteria(), seed=11))
    assert one == ids(search.find_proposals(cycle, Criteria(), seed=11))
    others = {tuple(ids(search.find_proposals(cycle, Criteria(), seed=seed))) for seed in range(1, 9)}
    assert len(others) > 4
    assert sorted(one) == sorted(others.pop())


def test_pages_cover_the_list_once_in_every_order(cycle, make_proposal):
    made = {make_proposal(cycle, estimated_cost=1_000).id for _ in range(7)}  # equal costs: the id breaks ties
    for sort in ("random", "cost-asc", "newest"):
        pages = [search.find_proposals(cycle, Criteria(sort=sort), number, seed=5, size=3) for number in (1, 2, 3)]
        seen = [proposal_id for page in pages for proposal_id in ids(page)]
        assert sorted(seen) == sorted(made)
        assert [page.total for page in pages] == [7, 7, 7]
        assert (pages[0].has_previous, pages[0].has_next, pages[2].has_next, pages[2].last) == (False, True, False, 3)


@pytest.mark.parametrize("number, shown", [(0, 1), (-1, 1), (99_999, 3), (2, 2)])
def test_a_page_number_out_of_range_gives_the_first_or_last_page(cycle, make_proposal, number, shown):
    for _ in range(7):
        make_proposal(cycle)
    assert search.find_proposals(cycle, Criteria(), number, size=3).number == shown


def test_cards_carry_counts_of_supports_visible_comments_and_the_first_photo(cycle, make_proposal, make_user):
    from datetime import datetime

    from pb.models import ProposalPhoto

    proposal = make_proposal(cycle)
    author = make_user()
    db.session.add_all([
        Comment(proposal_id=proposal.id, author_id=author.id, body="Yes"),
        Comment(proposal_id=proposal.id, author_id=author.id, body="Gone", deleted_at=datetime(2026, 1, 1)),
        Comment(proposal_id=proposal.id, author_id=author.id, body="Hidden", hidden_at=datetime(2026, 1, 1)),
        Support(proposal_id=proposal.id, user_id=author.id, cycle_id=cycle.id, district_id=proposal.district_id),
    ])
    photos = [ProposalPhoto(proposal_id=proposal.id, position=position, storage_key=f"key-{position}", alt_text="x",
                            width=1, height=1, byte_size=1) for position in (2, 1)]
    db.session.add_all(photos)
    db.session.commit()
    (card,) = search.find_proposals(cycle, Criteria()).items
    assert (card.supports, card.comments, card.photo_id) == (1, 1, photos[1].id)


@pytest.mark.parametrize("args, problem", [
    ({"min_cost": "100", "max_cost": "50"}, "more than the highest"),
    ({"min_cost": "lots"}, "lowest cost was ignored"),
    ({"max_cost": "-5"}, "highest cost was ignored"),
    ({"district": "x"}, "district"),
    ({"district": "999999"}, "district"),
    ({"category": "99999999999999"}, "category"),
    ({"status": "withdrawn"}, "status"),
    ({"sort": "votes"}, "order"),
    ({"sort": "supports"}, "order"),
])
def test_wrong_values_are_named_and_ignored(cycle, args, problem):
    criteria, problems = search.read_criteria(args, cycle)
    assert len(problems) == 1 and problem in str(problems[0]).lower()
    assert criteria == Criteria()


def test_costs_are_read_in_the_cycles_currency_units(cycle):
    criteria, problems = search.read_criteria({"min_cost": "12.50", "max_cost": "1 000"}, cycle)
    assert problems == [] and (criteria.min_cost, criteria.max_cost) == (1_250, 100_000)
