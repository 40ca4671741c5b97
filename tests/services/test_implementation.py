"""Implementation tracking: only funded projects of published cycles, only officials, audited, safe against two editors."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.domain.implementation import ImplementationStatus as S
from pb.extensions import db
from pb.models import Implementation, ImplementationUpdate, ProjectResult, Role, TallyRun, User, utcnow
from pb.services import implementation
from tests.conftest import store_count


@pytest.fixture
def world(make_user, make_cycle, make_project):
    official, other_official = make_user(Role.OFFICIAL), make_user(Role.OFFICIAL)
    cycle = make_cycle(Phase.TALLYING, districts=(("North", 100_000), ("South", 50_000)))
    north, south = cycle.districts
    park = make_project(cycle, north, cost=60_000, title="Park")
    swings = make_project(cycle, south, cost=20_000, title="Swings")
    lamps = make_project(cycle, north, cost=70_000, title="Lamps")
    store_count(cycle, official, funded=[park, swings], unfunded=[lamps])
    return {"official": official, "other": other_official, "cycle": cycle, "park": park, "swings": swings,
            "lamps": lamps}


def record(w, actor=None, project=None, **changes):
    values = {"status": "in_progress", "progress": 40, "spent": 25_000, "cancel_reason": "", "version": 0}
    values.update(changes)
    return implementation.record_progress(actor or w["official"], (project or w["park"]).id, **values)


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_recording_progress_stores_it_and_audits_it(world, audit_log):
    saved = record(world)
    stored = db.session.scalars(select(Implementation)).one()
    assert (stored.project_id, stored.status, stored.progress, stored.spent, stored.version) == (
        world["park"].id, S.IN_PROGRESS, 40, 25_000, 1)
    assert saved.updated_by_id == world["official"].id
    assert audit_log("record-implementation") == [(
        world["official"].id, "record-implementation", f"project:{world['park'].id}", {},
        {"status": "in_progress", "progress": 40, "spent": 25_000, "cancel_reason": ""},
    )]


def test_a_change_from_the_version_read_raises_the_version_and_logs_before_and_after(world, audit_log):
    record(world)
    record(world, actor=world["other"], status="done", progress=100, spent=61_000, version=1)
    stored = db.session.scalars(select(Implementation)).one()
    assert (stored.status, stored.progress, stored.spent, stored.version) == (S.DONE, 100, 61_000, 2)
    _, _, _, before, after = audit_log("record-implementation")[-1]
    assert before["status"] == "in_progress" and after == {"status": "done", "progress": 100, "spent": 61_000,
                                                           "cancel_reason": ""}


def test_a_second_official_saving_from_an_old_version_is_refused_and_changes_nothing(world, snapshot):
    record(world)  # official A saved first, from version 0
    before = snapshot()
    with pytest.raises(ConflictError, match="Another official changed"):
        record(world, actor=world["other"], progress=80, version=0)  # official B had read version 0 too
    with pytest.raises(ConflictError):
        record(world, actor=world["other"], progress=80, version=7)
    assert snapshot() == before


def test_cancelling_needs_a_reason_shown_to_residents(world, snapshot):
    record(world)
    before = snapshot()
    with pytest.raises(ValidationError, match="Say why"):
        record(world, status="cancelled", cancel_reason=" ", version=1)
    assert snapshot() == before
    record(world, status="cancelled", cancel_reason="The site is contaminated.", version=1)
    assert implementation.public_progress(world["park"]).report.cancel_reason == "The site is contaminated."


@pytest.mark.parametrize(("changes", "error", "words"), [
    ({"progress": 150}, ValidationError, "0 to 100"),
    ({"progress": -3}, ValidationError, "0 to 100"),
    ({"spent": -1}, ValidationError, "negative"),
    ({"status": "demolished"}, ValidationError, "statuses"),
    ({"status": "done", "progress": 70}, ValidationError, "100 %"),
    ({"version": "1"}, ConflictError, "Another official"),
])
def test_bad_values_are_refused_and_change_nothing(world, snapshot, changes, error, words):
    before = snapshot()
    with pytest.raises(error, match=words):
        record(world, **changes)
    assert snapshot() == before


def test_saving_the_same_values_again_is_refused_as_no_change(world):
    record(world)
    with pytest.raises(ValidationError, match="already recorded"):
        record(world, version=1)
    assert db.session.scalars(select(Implementation)).one().version == 1


def test_only_officials_record(world, make_user, snapshot):
    before = snapshot()
    for role in (Role.RESIDENT, Role.MODERATOR):
        with pytest.raises(PermissionDenied):
            record(world, actor=make_user(role))
    with pytest.raises(PermissionDenied):
        implementation.post_update(make_user(Role.MODERATOR), world["park"].id, utcnow().date(), "Hello")
    assert snapshot()["implementations"] == before["implementations"] == []
    assert snapshot()["implementation_updates"] == []


def test_an_unfunded_or_unknown_project_has_no_implementation(world, make_project, snapshot):
    before = snapshot()
    with pytest.raises(NotFound, match="was not funded"):
        record(world, project=world["lamps"])
    with pytest.raises(NotFound, match="was not funded"):
        implementation.post_update(world["official"], world["lamps"].id, utcnow().date(), "Hello")
    for bad_id in (0, -1, 999_999, 2**40, "1"):
        with pytest.raises(NotFound):
            implementation.record_progress(world["official"], bad_id, status="planned", progress=0, spent=0,
                                           cancel_reason="", version=0)
    assert snapshot() == before


def test_a_project_funded_in_another_district_s_count_is_not_funded(world, make_project):
    # The count of the project's own district decides, even if a row for it sits in another district's count.
    cycle, official = world["cycle"], world["official"]
    stray = make_project(cycle, cycle.districts[0], title="Stray")
    south_run = db.session.scalar(select(TallyRun).where(TallyRun.district_id == cycle.districts[1].id))
    south_run.results.append(ProjectResult(project_id=stray.id, votes=1, is_funded=True, position=9))
    db.session.commit()
    with pytest.raises(NotFound):
        record(world, actor=official, project=stray)


@pytest.mark.parametrize("phase", [p for p in Phase if p not in (Phase.RESULTS, Phase.CLOSED)], ids=lambda p: p.value)
def test_nothing_is_tracked_before_publication(world, snapshot, phase):
    world["cycle"].phase = phase
    db.session.commit()
    before = snapshot()
    with pytest.raises(PhaseError, match="once the results are published"):
        record(world)
    with pytest.raises(PhaseError):
        implementation.post_update(world["official"], world["park"].id, utcnow().date(), "Hello")
    with pytest.raises(PhaseError):
        implementation.overview(world["cycle"])
    assert implementation.public_progress(world["park"]) is None
    assert snapshot() == before


def test_tracking_goes_on_after_the_cycle_closes(world):
    world["cycle"].phase = Phase.CLOSED
    db.session.commit()
    record(world)
    assert db.session.scalars(select(Implementation)).one().progress == 40


def test_updates_are_dated_public_and_audited(world, audit_log):
    today = utcnow().date()
    implementation.post_update(world["official"], world["park"].id, today - timedelta(days=3), " Trees ordered. ")
    implementation.post_update(world["other"], world["park"].id, today, "Planting started.")
    progress = implementation.public_progress(world["park"])
    assert [(u.posted_on, u.text) for u in progress.updates] == [
        (today, "Planting started."), (today - timedelta(days=3), "Trees ordered.")]
    assert [entry[1:3] for entry in audit_log("post-implementation-update")] == [
        ("post-implementation-update", f"project:{world['park'].id}")] * 2


def test_a_future_or_empty_update_is_refused(world, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError, match="future"):
        implementation.post_update(world["official"], world["park"].id, utcnow().date() + timedelta(days=1), "Soon")
    with pytest.raises(ValidationError, match="Write what happened"):
        implementation.post_update(world["official"], world["park"].id, utcnow().date(), "   ")
    assert snapshot() == before


def test_public_progress_reads_planned_until_something_is_recorded(world):
    progress = implementation.public_progress(world["park"])
    assert (progress.report.status, progress.report.progress, progress.report.spent, progress.version) == (
        S.PLANNED, 0, 0, 0)
    assert implementation.public_progress(world["lamps"]) is None


def test_the_overview_lists_funded_projects_by_district_with_totals(world):
    record(world, status="in_progress", progress=50, spent=70_000)  # the park overruns its 60,000
    record(world, project=world["swings"], status="cancelled", progress=10, spent=3_000, cancel_reason="Site sold.")
    summary = implementation.overview(world["cycle"])
    north, south = summary.districts
    assert [p.project.title for p in north.projects] == ["Park"]  # the unfunded lamps are not listed
    assert north.projects[0].is_over_budget
    assert (north.totals.budgeted, north.totals.spent) == (60_000, 70_000)
    assert (south.totals.budgeted, south.totals.spent, south.totals.released) == (0, 3_000, 20_000)
    assert (summary.totals.budgeted, summary.totals.spent, summary.totals.released) == (60_000, 73_000, 20_000)
    assert summary.totals.by_status[S.CANCELLED] == 1 and summary.totals.by_status[S.IN_PROGRESS] == 1
    assert _count(Implementation) == 2 and _count(ImplementationUpdate) == 0


def test_two_first_saves_at_once_store_one_record_and_refuse_the_other(world, monkeypatch, snapshot):
    # Both officials found no record and sent version 0; the first insert landed while the second was deciding.
    record(world)
    before = snapshot()
    monkeypatch.setattr(implementation, "_record_of", lambda project_id, for_update=False: None)
    with pytest.raises(ConflictError, match="Another official changed"):
        record(world, actor=world["other"], progress=90)
    assert snapshot() == before


def test_two_officials_saving_from_the_same_version_at_once_one_lands_the_other_is_told(app, world):
    record(world)  # version 1: both officials opened the page now
    project_id = world["park"].id
    official_ids = [world["official"].id, world["other"].id]
    barrier, outcomes = threading.Barrier(2), []

    def save(official_id: int, progress: int) -> None:
        with app.app_context():
            actor = db.session.get(User, official_id)
            barrier.wait(timeout=30)
            try:
                implementation.record_progress(actor, project_id, status="in_progress", progress=progress,
                                               spent=25_000, cancel_reason="", version=1)
                outcomes.append(("saved", progress))
            except ConflictError:
                outcomes.append(("refused", progress))

    threads = [threading.Thread(target=save, args=(official_id, progress))
               for official_id, progress in zip(official_ids, (60, 70), strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(kind for kind, _ in outcomes) == ["refused", "saved"]
    saved_progress = next(progress for kind, progress in outcomes if kind == "saved")
    db.session.expire_all()
    stored = db.session.scalars(select(Implementation)).one()
    assert (stored.progress, stored.version) == (saved_progress, 2)
