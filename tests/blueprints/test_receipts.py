"""Receipts: shown after voting, renewed when the ballot changes, checkable by anyone once results are out."""

import re

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Ballot
from pb.services.voting import RECEIPT_ALPHABET, RECEIPT_LENGTH, normalise_receipt
from tests.conftest import close_voting


def _receipt(page: str) -> str:
    match = re.search(r'class="receipt-code">([A-Z0-9-]+)<', page)
    assert match, "no receipt on the page"
    return match.group(1)


def test_a_receipt_is_shown_renewed_on_change_and_checkable_after_publication(
    client, app, make_user, make_cycle, make_project, verify
):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),))
    district = cycle.districts[0]
    swings = make_project(cycle, cost=20_000, title="Swings")
    trees = make_project(cycle, cost=25_000, title="Trees")
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    assert 'class="receipt-code"' not in client.get(url).get_data(as_text=True)

    first = _receipt(client.submit(url, {"project": [str(swings.id)]}, follow_redirects=True).get_data(as_text=True))
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}", first)
    assert _receipt(client.get(url).get_data(as_text=True)) == first  # the same receipt until the ballot changes
    second = _receipt(
        client.submit(url, {"project": [str(swings.id), str(trees.id)]}, follow_redirects=True).get_data(as_text=True)
    )
    assert second != first
    assert db.session.scalar(select(Ballot.receipt)) is None  # sealed until voting closes

    public = app.test_client()
    before = public.get(f"/cycles/{cycle.id}/receipt?code={second}", follow_redirects=True)
    assert "Results are not published yet." in before.get_data(as_text=True)

    close_voting(cycle, Phase.RESULTS)
    assert db.session.scalar(select(Ballot.receipt)) == second.replace("-", "")
    page = public.get(f"/cycles/{cycle.id}/receipt?code={second.lower().replace('-', ' ')}").get_data(as_text=True)
    assert "This ballot was counted" in page and "Swings" in page and "Trees" in page
    stale = public.get(f"/cycles/{cycle.id}/receipt?code={first}")
    assert stale.status_code == 404
    assert "No counted ballot has this receipt" in stale.get_data(as_text=True)


def test_the_receipt_page_refuses_garbage_without_an_error(client, make_cycle):
    cycle = make_cycle(Phase.RESULTS)
    assert client.get(f"/cycles/{cycle.id}/receipt").status_code == 200
    for code in ["x", "<script>", "A" * 400, "%00"]:
        response = client.get(f"/cycles/{cycle.id}/receipt", query_string={"code": code})
        assert response.status_code in (400, 404)
        assert "<script>" not in response.get_data(as_text=True)


def test_receipts_use_a_readable_alphabet():
    assert not set("01ILOU") & set(RECEIPT_ALPHABET)
    assert normalise_receipt(" abcd-efgh-jkmn ") == "ABCDEFGHJKMN"
    assert RECEIPT_LENGTH == 12


def test_pages_showing_a_ballot_or_a_receipt_are_not_to_be_kept_by_any_cache(
    client, app, make_user, make_cycle, make_project, verify
):
    voter = make_user()
    cycle = make_cycle(Phase.VOTING, districts=(("North", 50_000),))
    district = cycle.districts[0]
    swings = make_project(cycle, cost=20_000, title="Swings")
    verify(voter, district)
    client.login(voter)
    url = f"/cycles/{cycle.id}/vote/{district.id}"
    assert client.get(url).headers["Cache-Control"] == "no-store"
    cast = client.submit(url, {"project": [str(swings.id)]})
    assert cast.status_code == 302 and cast.headers["Cache-Control"] == "no-store"
    page = client.get(url)
    assert 'class="receipt-code"' in page.get_data(as_text=True) and page.headers["Cache-Control"] == "no-store"
    refused = client.submit(url, {"project": ["x"]})  # the page shown again with the voter's ticks
    assert refused.status_code == 400 and refused.headers["Cache-Control"] == "no-store"
    receipt = _receipt(page.get_data(as_text=True))
    close_voting(cycle, Phase.RESULTS)
    public = app.test_client()
    check = public.get(f"/cycles/{cycle.id}/receipt?code={receipt}")
    assert "This ballot was counted" in check.get_data(as_text=True) and check.headers["Cache-Control"] == "no-store"
    assert public.get(f"/cycles/{cycle.id}/receipt").headers["Cache-Control"] == "no-store"
    # The results page tells a logged-in voter how many of their own choices won; for everyone else it is public.
    results = f"/cycles/{cycle.id}/results"
    assert client.get(results).headers["Cache-Control"] == "no-store"
    assert "no-store" not in (public.get(results).headers.get("Cache-Control") or "")
