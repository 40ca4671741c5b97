"""The timetable runs itself: the worker moves cycles on at their moments through the officials' own path, and when
blockers hold a cycle back it tells the officials once, shows it on the administration pages, and moves on later."""

import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from pb import worker
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import AuditEntry, Cycle, ProposalStatus, Role, ScheduleNotice
from pb.services import cycles, schedule
from tests.conftest import deliver_mail, links_in, text_of

NOW = datetime(2030, 3, 5, 19, 0)  # 20:00 in Madrid


def _phase(cycle_id: int) -> Phase:
    db.session.expire_all()
    return db.session.get(Cycle, cycle_id).phase


def _moves() -> list[tuple[int | None, dict, dict]]:
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "advance-phase").order_by(AuditEntry.sequence))
    return [(entry.actor_id, json.loads(entry.before), json.loads(entry.after)) for entry in entries]


@pytest.fixture
def ready(make_cycle, make_project):
    """A cycle in a phase, with a project on the ballot in every district (so nothing blocks voting)."""

    def build(phase: Phase, **moments):
        cycle = make_cycle(phase, timezone="Europe/Madrid", **moments)
        for district in cycle.districts:
            make_project(cycle, district)
        return cycle

    return build


@pytest.mark.parametrize(
    ("phase", "field", "after"),
    [(Phase.DRAFT, "proposals_open_at", Phase.PROPOSALS), (Phase.PROPOSALS, "review_at", Phase.REVIEW),
     (Phase.REVIEW, "voting_open_at", Phase.VOTING), (Phase.VOTING, "voting_close_at", Phase.TALLYING)],
)
def test_each_planned_move_happens_at_its_moment_to_the_second_with_the_timetable_as_actor(ready, phase, field, after):
    cycle = ready(phase, **{field: NOW})
    assert schedule.run_due(NOW - timedelta(seconds=1)) == []
    assert _phase(cycle.id) is phase and _moves() == []
    [line] = schedule.run_due(NOW)
    assert line == f"cycle {cycle.id}: {phase.value} -> {after.value} by the timetable"
    assert _phase(cycle.id) is after
    # On the published moment: no reason, no departure, the audit entry names the timetable and no user.
    assert _moves() == [(None, {"phase": phase.value}, {"phase": after.value, "by": "timetable"})]
    assert cycles.timetable_changes(db.session.get(Cycle, cycle.id)) == []
    assert schedule.run_due(NOW + timedelta(hours=1)) == []  # one step per moment: the next has no moment


def test_with_the_supports_phase_supports_at_closes_proposals_and_review_at_applies_the_rule(
        make_cycle, make_proposal, make_user, verify):
    review_at = NOW + timedelta(days=7)
    cycle = make_cycle(Phase.PROPOSALS, timezone="Europe/Madrid", has_supports_phase=True, supports_advance_top=1,
                       supports_at=NOW, review_at=review_at)
    north, south = cycle.districts
    popular, quiet, southern = make_proposal(cycle, north), make_proposal(cycle, north), make_proposal(cycle, south)
    cycle_id = cycle.id
    assert schedule.run_due(NOW - timedelta(days=1)) == []  # review_at is not this cycle's moment to close proposals
    [line] = schedule.run_due(NOW)
    assert line == f"cycle {cycle_id}: proposals -> supports by the timetable" and _phase(cycle_id) is Phase.SUPPORTS
    assert schedule.run_due(NOW + timedelta(days=1)) == []
    resident = make_user()
    verify(resident, north)
    from pb.services import supports

    supports.support(resident, popular.id)
    [line] = schedule.run_due(review_at)
    assert line == f"cycle {cycle_id}: supports -> review by the timetable" and _phase(cycle_id) is Phase.REVIEW
    statuses = {proposal.id: db.session.get(type(proposal), proposal.id).status for proposal in (popular, quiet, southern)}
    assert statuses == {popular.id: ProposalStatus.SUBMITTED, quiet.id: ProposalStatus.NOT_SELECTED,
                        southern.id: ProposalStatus.SUBMITTED}
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "select-for-review"))
    assert entry.actor_id is None and json.loads(entry.after)["not_selected"] == [quiet.id]


def test_closing_voting_opens_the_ballot_box_as_an_official_closing_it_would(ready, make_user, verify):
    from pb.models import Ballot
    from pb.services import voting

    cycle = ready(Phase.VOTING, voting_close_at=NOW)
    voter, north = make_user(), cycle.districts[0]
    verify(voter, north)
    project_id = db.session.scalars(select(cycles.Proposal.id).where(cycles.Proposal.district_id == north.id)).first()
    voting.cast_ballot(voter, cycle.id, north.id, [project_id], now=NOW - timedelta(minutes=1))
    assert db.session.scalars(select(Ballot)).all() == []
    schedule.run_due(NOW)
    assert _phase(cycle.id) is Phase.TALLYING
    assert [[choice.project_id for choice in ballot.choices] for ballot in db.session.scalars(select(Ballot))] == [
        [project_id]]


@pytest.mark.parametrize("phase", [Phase.TALLYING, Phase.RESULTS, Phase.CLOSED])
def test_publishing_and_closing_are_never_made_by_the_timetable(ready, phase):
    cycle = ready(phase, voting_close_at=NOW - timedelta(days=9), results_at=NOW - timedelta(days=1))
    assert schedule.run_due(NOW) == []
    assert _phase(cycle.id) is phase and _moves() == []


def test_a_move_the_worker_makes_days_late_records_why(ready):
    cycle = ready(Phase.REVIEW, voting_open_at=NOW)
    schedule.run_due(NOW + timedelta(days=2))
    [(actor, _, after)] = _moves()
    assert actor is None and after["by"] == "timetable"
    assert after["moved_on"] == "2030-03-07" and after["planned_on"] == "2030-03-05"
    assert after["reason"] == ("Moved on by the timetable late: it was due at 5 March 2030, 20:00 (Europe/Madrid), "
                               "and the worker did not run until now.")


def test_a_blocked_move_tells_every_official_once_shows_a_notice_and_happens_when_the_blockers_clear(
    app, smtp, client, ready, make_user, make_proposal
):
    officials = [make_user(Role.OFFICIAL), make_user(Role.OFFICIAL, locale="es")]
    cycle = ready(Phase.REVIEW, voting_open_at=NOW)
    waiting = make_proposal(cycle, title="Still waiting")
    [line] = schedule.run_due(NOW)
    assert line == f"cycle {cycle.id}: cannot leave review on time: 1 proposal is still waiting for review."
    assert _phase(cycle.id) is Phase.REVIEW and _moves() == []
    [notice] = db.session.scalars(select(ScheduleNotice)).all()
    assert (notice.phase, notice.due_at, notice.resolved_at) == (Phase.REVIEW, NOW, None)
    schedule.run_due(NOW + timedelta(minutes=1))  # the next rounds keep the notice and email nobody again
    schedule.run_due(NOW + timedelta(minutes=2))
    assert db.session.scalars(select(ScheduleNotice)).one().last_seen_at == NOW + timedelta(minutes=2)
    deliver_mail()
    assert sorted(str(m["To"]) for m in smtp.messages) == sorted(o.email for o in officials)
    english = smtp.last_to(officials[0].email)
    assert english["Subject"] == f"{cycle.name} could not move on at the published time"
    body = text_of(english)
    assert "“open voting” at 5 March 2030, 20:00 (Europe/Madrid)" in body
    assert "1 proposal is still waiting for review." in body
    assert "5 de marzo de 2030" in text_of(smtp.last_to(officials[1].email))  # the date in the official's language
    control_room = f"/admin/cycles/{cycle.id}"
    assert control_room in links_in(english)
    client.login(officials[0])
    for page in (client.get("/admin/"), client.get(control_room)):
        text = page.get_data(as_text=True)
        assert "The timetable is held up" in text and "1 proposal is still waiting for review." in text
    # The unsubscribe link of an officials' alert turns those alerts off.
    [link] = [link for link in links_in(english) if link.startswith("/unsubscribe/")]
    assert client.submit(link).status_code == 200
    assert db.session.get(type(officials[0]), officials[0].id).muted_notifications == "official_alerts"

    waiting.status = ProposalStatus.ACCEPTED
    waiting.final_cost = waiting.estimated_cost
    db.session.commit()
    later = NOW + timedelta(hours=3)
    [line] = schedule.run_due(later)
    assert line.endswith("review -> voting by the timetable (late)")
    assert _phase(cycle.id) is Phase.VOTING
    [(actor, _, after)] = _moves()
    assert actor is None and after["reason"].startswith(
        "Moved on by the timetable late: it was due at 5 March 2030, 20:00 (Europe/Madrid), and could not move until "
        "now because: 1 proposal is still waiting for review.")
    assert db.session.scalars(select(ScheduleNotice)).one().resolved_at == later
    assert "The timetable is held up" not in client.get("/admin/").get_data(as_text=True)


def test_an_official_moving_the_cycle_by_hand_closes_the_notice(make_cycle, make_user, make_proposal):
    official = make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.PROPOSALS, review_at=NOW)  # nothing submitted yet: proposals cannot close
    schedule.run_due(NOW)
    assert db.session.scalars(select(ScheduleNotice)).one().resolved_at is None
    make_proposal(cycle)
    cycles.advance_phase(official, cycle.id, "proposals")
    assert db.session.scalars(select(ScheduleNotice)).one().resolved_at is not None
    assert schedule.open_notices() == []


def test_the_worker_keeps_the_timetable_every_round(app, ready):
    cycle = ready(Phase.DRAFT, proposals_open_at=NOW)
    lines = worker.run_round(app, now=NOW)
    assert f"cycle {cycle.id}: draft -> proposals by the timetable" in lines
    assert _phase(cycle.id) is Phase.PROPOSALS
