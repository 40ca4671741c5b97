"""The demo town: loaded through the real use cases, once, with one finished cycle and one open for voting."""

from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Comment, Cycle, Proposal, TallyRun
from pb.services import comments, demo, media, places, tallying, users, voting


def test_the_demo_loads_once_with_published_results_in_one_cycle_and_open_voting_in_the_other(app, snapshot):
    assert demo.load_demo() is True
    before = snapshot()
    assert demo.load_demo() is False
    assert snapshot() == before

    assert [(email, users.find_by_email(email).role.value) for email, _ in demo.demo_accounts()] == demo.demo_accounts()
    cycles = {cycle.name: cycle for cycle in db.session.scalars(select(Cycle))}
    past_name, open_name = demo.cycle_names()
    finished, open_cycle = cycles[past_name], cycles[open_name]

    assert finished.phase is Phase.RESULTS
    runs = tallying.published_runs(finished)
    assert set(runs) == {d.id for d in finished.districts}
    assert all(run.ballot_count > 0 and 0 < run.spent <= run.budget for run in runs.values())

    assert open_cycle.phase is Phase.VOTING
    assert db.session.scalar(select(func.count()).select_from(TallyRun).where(TallyRun.cycle_id == open_cycle.id)) == 0
    resident = users.find_by_email("resident@example.org")
    [district_id] = voting.verified_district_ids(resident, open_cycle.id)
    assert voting.current_choices(resident, open_cycle.id, district_id) is None
    assert sum(voting.turnout(open_cycle).values()) == len(demo.RESIDENTS) - 1
    assert users.authenticate("resident@example.org", demo.DEMO_PASSWORD) == resident


def test_the_worker_leaves_the_demo_where_it_is_until_voting_closes_in_two_weeks(app):
    from datetime import timedelta

    from pb.models import utcnow
    from pb.services import schedule

    demo.load_demo()
    assert schedule.run_due() == []
    past_name, open_name = demo.cycle_names()
    open_cycle = db.session.scalars(select(Cycle).where(Cycle.name == open_name)).one()
    assert timedelta(days=13) < open_cycle.voting_close_at - utcnow() < timedelta(days=15)
    names = demo.design_cycle_names()
    assert {cycle.name: cycle.phase for cycle in db.session.scalars(select(Cycle))} == {
        past_name: Phase.RESULTS, open_name: Phase.VOTING, names["approval"]: Phase.RESULTS,
        names["ranking"]: Phase.RESULTS, names["cumulative"]: Phase.VOTING}
    assert schedule.run_due(open_cycle.voting_close_at) == [f"cycle {open_cycle.id}: voting -> tallying by the timetable"]


def test_the_demo_shows_maps_photos_markdown_and_a_discussion(app, client):
    demo.load_demo()
    cycles = {cycle.name: cycle for cycle in db.session.scalars(select(Cycle))}
    for cycle in cycles.values():
        assert all(district.boundary for district in cycle.districts), cycle.name
        entries = places.ballot_map(cycle)
        placed = [entry for entry in entries if entry.has_point]
        assert len(placed) > len(entries) * 3 // 4
        for entry in placed:  # every point lies in its own district
            assert places.district_for_point(cycle, entry.latitude, entry.longitude).id == entry.proposal.district_id
    past_name, open_name = demo.cycle_names()
    open_cycle = cycles[open_name]
    projects = {p.title: p for p in db.session.scalars(select(Proposal).where(Proposal.cycle_id == open_cycle.id))}
    trees = projects["Shade trees on Market Square"]

    for url in (f"/cycles/{open_cycle.id}/map", f"/cycles/{cycles[past_name].id}/results/map"):
        page = client.get(url).get_data(as_text=True)
        assert "<svg" in page and "<path" in page, url  # the districts drawn, with the projects' markers
        assert page.count("data-latitude=") >= 3, url
    [photo] = media.photos_of(trees.id)
    assert photo.alt_text.startswith("Drawing of a large tree")
    served = client.get(f"/photos/{photo.id}/medium")
    assert served.status_code == 200 and served.mimetype == "image/webp" and len(served.data) > 1000
    assert media.photos_of(projects["Wildflower meadows"].id)

    page = client.get(f"/proposals/{trees.id}").get_data(as_text=True)
    assert f"/photos/{photo.id}/" in page and "Drawing of a large tree" in page
    assert "<li>twelve lime trees" in page and "<strong>no pipes</strong>" in page  # the description's Markdown
    assert "Nobody can sit on the square in August." in page and "Lime trees grow fast" in page

    shown = db.session.scalars(select(Comment).join(Proposal).where(
        Proposal.cycle_id == open_cycle.id, Comment.hidden_at.is_(None), Comment.deleted_at.is_(None))).all()
    assert len(shown) == 5 and len({comment.proposal_id for comment in shown}) == 3
    [thread] = comments.discussion(trees).threads
    assert thread.comment.author.email == "resident3@example.org"
    assert [reply.author.email for reply in thread.replies] == ["resident@example.org"]

    api = client.get(f"/api/v1/projects/{trees.id}").get_json()
    assert api["comments"] == 2 and api["photos"][0]["alt"] == photo.alt_text and api["latitude"] is not None


def test_the_demo_town_has_an_identity_that_passes_contrast_and_a_logo(app, client):
    from pb.domain import contrast
    from pb.services import branding

    demo.load_demo()
    identity = branding.current()
    assert identity.name == "Riverside decides" and identity.has_logo and identity.logo_alt
    assert identity.has_contact and identity.contact_email and identity.contact_phone and identity.opening_hours
    assert contrast.contrast_ratio(identity.primary_colour, "#ffffff") >= 4.5
    band, ink = contrast.checked_header(identity.header_colour)
    assert contrast.contrast_ratio(band, ink) >= 4.5
    page = client.get("/").get_data(as_text=True)
    assert "Riverside decides" in page and f"/identity/logo/{identity.logo_version}" in page
    assert client.get(f"/identity/logo/{identity.logo_version}").status_code == 200


def test_last_years_ballots_are_dated_last_year_and_its_history_keeps_its_timetable(app, client):
    # Regression: the demo's 2025 ballots were dated the day the demo was loaded.
    from pb.models import SealedBallot, utcnow
    from pb.services import cycles as cycle_service
    from pb.services import revisions

    demo.load_demo()
    past_name, open_name = demo.cycle_names()
    by_name = {cycle.name: cycle for cycle in db.session.scalars(select(Cycle))}
    finished, open_cycle = by_name[past_name], by_name[open_name]
    year = int(past_name.split()[-1])
    assert {moment.year for moment in cycle_service.moments_of(finished).values() if moment} == {year}
    days = db.session.scalars(select(SealedBallot.sealed_on).where(SealedBallot.cycle_id == finished.id)).all()
    assert days and all(finished.voting_open_at.date() <= day <= finished.voting_close_at.date() for day in days)
    assert {day.year for day in days} == {year}
    [revision] = revisions.published(finished)  # published at the timetable's moment, not the day of loading
    assert revision.published_at == finished.results_at and revision.published_at.year == year
    open_days = db.session.scalars(select(SealedBallot.sealed_on).where(SealedBallot.cycle_id == open_cycle.id)).all()
    assert all(open_cycle.voting_open_at.date() <= day <= utcnow().date() for day in open_days)
    # Every phase moved on at its published moment: no timetable change, no English excuse on the public page.
    assert cycle_service.timetable_changes(finished) == [] and cycle_service.timetable_changes(open_cycle) == []
    client.get("/language/es?next=/")
    page = client.get(f"/cycles/{finished.id}").get_data(as_text=True)
    assert "Demo data" not in page and "Timetable changes" not in page


def test_the_demo_has_a_cycle_of_each_ballot_design_with_ballots_of_that_design(app):
    from pb.domain.ballots import APPROVAL, CUMULATIVE, DESIGNS, KNAPSACK, RANKING
    from pb.models import Ballot, BallotChoice
    from pb.services import ballot_designs

    demo.load_demo()
    names = demo.design_cycle_names()
    by_name = {cycle.name: cycle for cycle in db.session.scalars(select(Cycle))}
    cycles = {kind: by_name[name] for kind, name in names.items()}
    designs = {kind: ballot_designs.cycle_design(cycle) for kind, cycle in cycles.items()}
    assert {kind: design.kind for kind, design in designs.items()} == {kind: kind for kind in DESIGNS}
    assert (designs[APPROVAL].max_projects, designs[RANKING].max_projects) == (3, 3)
    assert (designs[CUMULATIVE].points, designs[CUMULATIVE].max_points_per_project) == (10, 5)
    assert {kind: cycle.phase for kind, cycle in cycles.items()} == {
        KNAPSACK: Phase.VOTING, APPROVAL: Phase.RESULTS, RANKING: Phase.RESULTS, CUMULATIVE: Phase.VOTING}
    assert all(cycle.frozen_settings_sha256 for cycle in cycles.values())  # frozen as voting opened

    def counted(cycle):
        """Each counted ballot of the cycle as (district id, project id -> stored value)."""
        rows = db.session.execute(select(Ballot.id, Ballot.district_id, BallotChoice.project_id, BallotChoice.value)
                                  .join(BallotChoice).where(Ballot.cycle_id == cycle.id)).all()
        ballots = {}
        for ballot_id, district_id, project_id, value in rows:
            ballots.setdefault(ballot_id, (district_id, {}))[1][project_id] = value
        return list(ballots.values())

    costs = {p.id: p.cost for p in db.session.scalars(select(Proposal).where(Proposal.cycle_id == cycles[APPROVAL].id))}
    budgets = {district.id: district.budget for district in cycles[APPROVAL].districts}
    approvals = counted(cycles[APPROVAL])
    assert len(approvals) == len(demo.RESIDENTS)
    assert all(set(values.values()) == {None} and 1 <= len(values) <= 3 for _, values in approvals)
    # An approval ballot may cost more than the district's budget: it chooses projects, not spending.
    assert any(sum(costs[p] for p in values) > budgets[district_id] for district_id, values in approvals)

    rankings = counted(cycles[RANKING])
    assert len(rankings) == len(demo.RESIDENTS)
    assert all(sorted(values.values()) == [1, 2, 3] for _, values in rankings)

    # The counts were made from the ballots' scores: one vote per approval, 3/2/1 points for ranks 1/2/3.
    for kind, ballots in ((APPROVAL, approvals), (RANKING, rankings)):
        expected = {}
        for _, values in ballots:
            for project_id, score in designs[kind].scores({p: v or 1 for p, v in values.items()}).items():
                expected[project_id] = expected.get(project_id, 0) + score
        runs = tallying.published_runs(cycles[kind])
        assert set(runs) == {district.id for district in cycles[kind].districts}
        votes = {result.project_id: result.votes for run in runs.values() for result in run.results}
        assert votes == {project_id: expected.get(project_id, 0) for project_id in votes}, kind
        assert all(run.ballot_count > 0 and run.spent <= run.budget for run in runs.values())
    assert max(votes.values()) > len(demo.RESIDENTS) // 2  # ranks count for more than one vote each

    # The cumulative cycle is open: every resident but the first has sealed 10 points, at most 5 on one project.
    parks = cycles[CUMULATIVE]
    spreads = []
    for email in demo.RESIDENTS:
        resident = users.find_by_email(email)
        [district_id] = voting.verified_district_ids(resident, parks.id)
        stored = voting.stored_ballot(resident, parks.id, district_id)
        if email == "resident@example.org":
            assert stored is None
            continue
        assert sum(stored.values.values()) == 10 and max(stored.values.values()) <= 5
        spreads.append(tuple(sorted(stored.values.values(), reverse=True)))
    assert len(spreads) == len(demo.RESIDENTS) - 1 and len(set(spreads)) > 1
