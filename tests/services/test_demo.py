"""The demo town: loaded through the real use cases, once, with one finished cycle and one open for voting."""

from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import Cycle, TallyRun
from pb.services import demo, tallying, users, voting


def test_the_demo_loads_once_with_published_results_in_one_cycle_and_open_voting_in_the_other(app, snapshot):
    assert demo.load_demo() is True
    before = snapshot()
    assert demo.load_demo() is False
    assert snapshot() == before

    assert [(email, users.find_by_email(email).role.value) for email, _ in demo.demo_accounts()] == demo.demo_accounts()
    cycles = {cycle.name: cycle for cycle in db.session.scalars(select(Cycle))}
    finished, open_cycle = cycles["Riverside 2025"], cycles["Riverside 2026"]

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
    open_cycle = db.session.scalars(select(Cycle).where(Cycle.name == "Riverside 2026")).one()
    assert timedelta(days=13) < open_cycle.voting_close_at - utcnow() < timedelta(days=15)
    assert {cycle.name: cycle.phase for cycle in db.session.scalars(select(Cycle))} == {
        "Riverside 2025": Phase.RESULTS, "Riverside 2026": Phase.VOTING}
    assert schedule.run_due(open_cycle.voting_close_at) == [f"cycle {open_cycle.id}: voting -> tallying by the timetable"]
