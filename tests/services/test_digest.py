"""The moderators' daily digest: one email a day to each moderator and official while proposals wait for review,
never twice the same day, even with several workers at once."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from pb import worker
from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import JobRun, OutboxMessage, ProposalStatus, Role, User
from pb.services import digest
from tests.conftest import deliver_mail, html_of, links_in, text_of

MORNING = datetime(2026, 12, 7, 7, 0, 5)


def _digests() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.template == "moderation_digest").order_by(OutboxMessage.id)))


def _runs() -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(JobRun))


@pytest.fixture
def waiting(make_user, make_cycle, make_proposal):
    """Two cycles in review with proposals waiting, one still collecting proposals; the people who might be told."""
    older = make_cycle(Phase.REVIEW, name="Budget 2026")
    newer = make_cycle(Phase.REVIEW, name="Budget 2027")
    collecting = make_cycle(Phase.PROPOSALS, name="Budget 2028")
    for days_ago in (9, 3):
        make_proposal(older, created_at=datetime(2026, 12, 7) - timedelta(days=days_ago))
    make_proposal(older, status=ProposalStatus.CHANGES_REQUESTED)  # waits for its author, not for a moderator
    make_proposal(older, status=ProposalStatus.ACCEPTED)
    make_proposal(newer, created_at=datetime(2026, 12, 6))
    make_proposal(collecting)  # cannot be reviewed yet
    people = {
        "moderator": make_user(Role.MODERATOR, name="Mona"),
        "official": make_user(Role.OFFICIAL, name="Olga"),
        "spanish": make_user(Role.MODERATOR, locale="es"),
        "resident": make_user(),
        "muted": make_user(Role.MODERATOR, muted_notifications="moderation_digest"),
        "disabled": make_user(Role.MODERATOR, is_enabled=False),
    }
    return older, newer, people


def test_the_digest_lists_each_cycle_with_its_count_oldest_proposal_and_queue_to_moderators_and_officials(
    app, smtp, client, waiting
):
    older, newer, people = waiting
    assert digest.daily_job(MORNING) == "moderation digest: 3 message(s) written"
    assert sorted(m.recipient for m in _digests()) == sorted(
        people[name].email for name in ("moderator", "official", "spanish"))
    deliver_mail()
    received = smtp.last_to(people["moderator"].email)
    assert " ".join(str(received["Subject"]).split()) == "3 proposals wait for review"
    text = text_of(received)
    assert "* Budget 2026: 2 proposals, the oldest submitted on 28 November 2026" in text
    assert "* Budget 2027: 1 proposal, the oldest submitted on 6 December 2026" in text
    assert "Budget 2028" not in text and text.index("Budget 2026") < text.index("Budget 2027")
    assert "Budget 2026" in html_of(received) and '<html lang="en">' in html_of(received)
    assert '<html lang="es">' in html_of(smtp.last_to(people["spanish"].email))
    client.login(people["moderator"])
    queue = [link for link in links_in(received) if link == f"/moderation/cycles/{older.id}"]
    assert queue and client.get(queue[0]).status_code == 200
    [unsubscribe] = [link for link in links_in(received) if link.startswith("/unsubscribe/")]
    assert client.submit(unsubscribe).status_code == 200
    assert db.session.get(User, people["moderator"].id).muted_notifications == "moderation_digest"


def test_the_digest_goes_once_a_day_from_the_configured_hour(app, waiting):
    app.config["MODERATION_DIGEST_HOUR"] = 9
    assert digest.daily_job(MORNING.replace(hour=8, minute=59)) == ""
    assert (_digests(), _runs()) == ([], 0)
    assert digest.daily_job(MORNING.replace(hour=9)) != ""
    sent = len(_digests())
    for later in (MORNING.replace(hour=9, minute=1), MORNING.replace(hour=23, minute=59)):
        assert digest.daily_job(later) == ""  # a second worker, or a later round: nothing
    assert digest.send_digest(MORNING.replace(hour=12)) is None  # even past the cheap check, the day's row refuses
    assert len(_digests()) == sent and _runs() == 1
    assert digest.daily_job(MORNING.replace(hour=9) + timedelta(days=1)) != ""  # the next day, again
    assert len(_digests()) == 2 * sent and _runs() == 2


def test_no_digest_when_nothing_waits_and_the_day_is_still_done(app, make_user, make_cycle, make_proposal):
    make_user(Role.MODERATOR)
    cycle = make_cycle(Phase.REVIEW)
    make_proposal(cycle, status=ProposalStatus.ACCEPTED)
    assert digest.daily_job(MORNING) == ""
    assert _digests() == [] and _runs() == 1  # looked at once today; not again every round


def test_the_worker_round_sends_the_digest(app, smtp, waiting):
    older, newer, people = waiting
    lines = worker.run_round(app, MORNING)
    assert lines[0] == "moderation digest: 3 message(s) written" and lines[1].startswith("mail: 3 sent")
    assert worker.run_round(app, MORNING + timedelta(minutes=1)) == []
    assert len(smtp.to(people["official"].email)) == 1


def test_two_workers_at_the_same_moment_send_one_digest(app, engine_name, waiting):
    """Each worker thread has its own connection; on PostgreSQL both pass the first check and race on the key."""
    barrier = threading.Barrier(4)
    outcomes: list[object] = []
    errors: list[BaseException] = []

    def work() -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes.append(digest.send_digest(MORNING))
            except BaseException as error:  # noqa: BLE001  (reported below)
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(outcomes, key=repr) == sorted([3, None, None, None], key=repr)
    assert len(_digests()) == 3 and _runs() == 1


def test_a_worker_that_checks_while_another_is_sending_waits_for_it_and_then_sends_nothing(app, waiting):
    """The race made certain: the first worker has claimed the day but not committed when the second one starts."""
    claimed, release = threading.Event(), threading.Event()
    second: list[object] = []

    def first_worker() -> None:
        with app.app_context():
            try:
                digest.send_digest.__wrapped__(MORNING)  # the use case's body, its transaction left open
                claimed.set()
                release.wait(timeout=30)
                db.session.commit()
            finally:
                db.session.remove()

    def second_worker() -> None:
        with app.app_context():
            try:
                second.append(digest.send_digest(MORNING))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first_worker), threading.Thread(target=second_worker)]
    threads[0].start()
    assert claimed.wait(timeout=30)
    threads[1].start()
    threads[1].join(timeout=0.5)
    assert threads[1].is_alive()  # waiting on the first worker's claim of the day
    release.set()
    for thread in threads:
        thread.join(timeout=30)
    assert second == [None]
    assert len(_digests()) == 3 and _runs() == 1
