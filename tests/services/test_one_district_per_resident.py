"""One resident, one district, one ballot: every way of verifying or marking a resident refuses a second district of
the same cycle, the database backs it up, and a verification can be revoked (with a reason) until the resident votes."""

import threading
from datetime import date

import pytest
from sqlalchemy import select, update

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, DomainError, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Ballot, Cycle, Participation, Role, User, Verification
from pb.services import paper, verification, voting
from pb.services.verification import RegisterDetails

HOME = "192.0.2.7"
HEADER = "Document number,Date of birth,Postcode,District\n"


@pytest.fixture
def world(make_user, make_cycle, make_project):
    """A cycle in voting with a project in each district, an official, a moderator and a resident."""
    cycle = make_cycle(Phase.PROPOSALS)
    north, south = cycle.districts
    projects = {north.id: make_project(cycle, north), south.id: make_project(cycle, south)}
    db.session.execute(update(Cycle).where(Cycle.id == cycle.id).values(phase=Phase.VOTING))
    db.session.commit()
    return {
        "cycle": cycle, "north": north, "south": south, "projects": projects,
        "official": make_user(Role.OFFICIAL), "moderator": make_user(Role.MODERATOR),
        "resident": make_user(name="Rosa Resident"),
    }


_people = iter(range(10**6))


def _register_details(world, district) -> RegisterDetails:
    """A fresh register line for `district`, loaded by the official; returns what the resident types."""
    number = next(_people)
    document, born, postcode = f"DOC{number:07d}", date(1980, 1, 1), f"{number % 9000 + 1000} AB"
    data = (HEADER + f"{document},{born.isoformat()},{postcode},{district.name}\n").encode()
    upload, _ = verification.stage_register(world["official"], world["cycle"].id, data, "register.csv", {})
    verification.confirm_register(world["official"], world["cycle"].id, upload.id)
    return RegisterDetails(document=document, birth_date=born, postcode=postcode)


def by_moderator(world, district):
    return voting.verify_resident(world["moderator"], world["resident"].id, district.id)


def by_official(world, district):
    return voting.verify_resident(world["official"], world["resident"].id, district.id)


def with_register(world, district):
    details = _register_details(world, district)
    return verification.verify_with_register(world["resident"], world["cycle"].id, details, HOME)


def with_code(world, district):
    [issued] = verification.generate_codes(world["official"], world["cycle"].id, district.id, 1)
    return verification.verify_with_code(world["resident"], world["cycle"].id, issued.code, HOME)


def as_paper_voter(world, district):
    return paper.record_paper_voter(world["official"], world["resident"].id, district.id)


VERIFYING_PATHS = {"moderator": by_moderator, "official": by_official, "register": with_register, "code": with_code}
SECOND_PATHS = {**VERIFYING_PATHS, "paper": as_paper_voter}


def _verified_districts(user) -> list[int]:
    return db.session.scalars(select(Verification.district_id).where(Verification.user_id == user.id)).all()


@pytest.mark.parametrize("second", SECOND_PATHS)
@pytest.mark.parametrize("first", VERIFYING_PATHS)
def test_a_resident_verified_for_one_district_cannot_be_verified_or_marked_for_another(world, snapshot, first, second):
    north, south = world["north"], world["south"]
    VERIFYING_PATHS[first](world, north)
    if second == "register":  # the register line and the code are made first: the snapshot is of the attempt alone
        details = _register_details(world, south)
        attempt = lambda: verification.verify_with_register(world["resident"], world["cycle"].id, details, HOME)  # noqa: E731
    elif second == "code":
        [issued] = verification.generate_codes(world["official"], world["cycle"].id, south.id, 1)
        attempt = lambda: verification.verify_with_code(world["resident"], world["cycle"].id, issued.code, HOME)  # noqa: E731
    else:
        attempt = lambda: SECOND_PATHS[second](world, south)  # noqa: E731
    before = snapshot()
    with pytest.raises(DomainError) as refused:
        attempt()
    if second == "paper":
        assert "not verified to vote in South" in refused.value.message
    else:
        assert isinstance(refused.value, ConflictError)
        assert "already verified for North" in refused.value.message
    assert snapshot() == before
    assert _verified_districts(world["resident"]) == [north.id]


def test_a_moderators_refusal_names_the_district_held_and_the_way_out(world):
    by_moderator(world, world["north"])
    with pytest.raises(ConflictError) as refused:
        by_official(world, world["south"])
    assert refused.value.message == (
        "Rosa Resident is already verified for North in this cycle, and a resident votes in one district per cycle, "
        "so they were not verified for South. If North is wrong and they have not voted there, revoke that "
        "verification first, with the reason."
    )


@pytest.mark.parametrize("second", VERIFYING_PATHS)
def test_a_paper_voter_cannot_be_verified_or_marked_for_another_district(world, snapshot, second):
    north, south = world["north"], world["south"]
    by_moderator(world, north)
    as_paper_voter(world, north)
    before = snapshot() if second in ("moderator", "official") else None
    with pytest.raises(ConflictError, match="already verified for North"):
        VERIFYING_PATHS[second](world, south)
    if before is not None:
        assert snapshot() == before
    with pytest.raises(DomainError):
        as_paper_voter(world, south)
    assert _verified_districts(world["resident"]) == [north.id]


def test_the_double_vote_is_refused_end_to_end(world):
    """The attack as reported: verified and voted in North, verified again for South by a moderator, voting twice."""
    north, south, resident = world["north"], world["south"], world["resident"]
    by_moderator(world, north)
    voting.cast_ballot(resident, world["cycle"].id, north.id, [world["projects"][north.id].id])
    for verify_again in (by_moderator, by_official):
        with pytest.raises(ConflictError):
            verify_again(world, south)
    with pytest.raises(PermissionDenied):
        voting.cast_ballot(resident, world["cycle"].id, south.id, [world["projects"][south.id].id])
    assert db.session.scalar(select(Ballot.id).where(Ballot.district_id == south.id)) is None


def test_a_resident_who_voted_without_a_verification_left_cannot_be_verified_elsewhere(world, make_user):
    """Data from before the constraint (or written by hand): a vote in North still keeps the resident out of South."""
    north, south, resident = world["north"], world["south"], world["resident"]
    db.session.add(Participation(user_id=resident.id, cycle_id=world["cycle"].id, district_id=north.id, channel="paper"))
    db.session.commit()
    for path in (by_moderator, by_official, with_code):
        with pytest.raises(ConflictError, match="already voted in North"):
            path(world, south)
    assert _verified_districts(resident) == []


def test_the_database_refuses_a_second_district_of_the_same_cycle(world, make_cycle):
    from sqlalchemy.exc import IntegrityError

    north, south, resident, official = world["north"], world["south"], world["resident"], world["official"]
    db.session.add(Verification(user_id=resident.id, cycle_id=north.cycle_id, district_id=north.id, verified_by_id=official.id))
    db.session.commit()
    db.session.add(Verification(user_id=resident.id, cycle_id=south.cycle_id, district_id=south.id, verified_by_id=official.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()
    other = make_cycle(Phase.PROPOSALS).districts[0]
    db.session.add(Verification(user_id=resident.id, cycle_id=other.cycle_id, district_id=other.id, verified_by_id=official.id))
    db.session.commit()  # another cycle is another vote
    assert len(_verified_districts(resident)) == 2


# --- revoking --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("revoker", ["moderator", "official"])
def test_a_verification_is_revoked_with_its_reason_in_the_audit_log_and_the_right_district_follows(
    world, audit_log, revoker
):
    north, south, resident = world["north"], world["south"], world["resident"]
    by_moderator(world, north)
    district = verification.revoke_verification(
        world[revoker], world["cycle"].id, resident.id, "  Lives in South;\nwrong district chosen. "
    )
    assert district.id == north.id and _verified_districts(resident) == []
    [entry] = audit_log("revoke-verification")
    assert entry == (world[revoker].id, "revoke-verification", f"user:{resident.id}",
                     {"district": "North", "method": "in-person", "verified_by": world["moderator"].id},
                     {"reason": "Lives in South; wrong district chosen."})
    by_official(world, south)
    voting.cast_ballot(resident, world["cycle"].id, south.id, [world["projects"][south.id].id])
    assert _verified_districts(resident) == [south.id]


@pytest.mark.parametrize(("who", "reason", "error", "words"), [
    ("resident", "mistake", PermissionDenied, "Only moderators and officials"),
    ("self", "mistake", PermissionDenied, "your own verification"),
    ("moderator", "", ValidationError, "Say why"),
    ("moderator", "   \n ", ValidationError, "Say why"),
    ("moderator", "x" * 501, ValidationError, "under 500 characters"),
])
def test_a_revocation_without_the_right_or_a_reason_changes_nothing(world, make_user, snapshot, who, reason, error, words):
    north = world["north"]
    if who == "self":
        actor = world["moderator"]
        voting.verify_resident(world["official"], actor.id, north.id)
        subject = actor
    else:
        by_official(world, north)
        actor, subject = world[who], world["resident"]
    before = snapshot()
    with pytest.raises(error, match=words):
        verification.revoke_verification(actor, world["cycle"].id, subject.id, reason)
    assert snapshot() == before


def test_revoking_someone_not_verified_or_after_voting_closed_is_refused(world, snapshot):
    with pytest.raises(ConflictError, match="not verified in this cycle"):
        verification.revoke_verification(world["moderator"], world["cycle"].id, world["resident"].id, "mistake")
    by_moderator(world, world["north"])
    db.session.execute(update(Cycle).where(Cycle.id == world["cycle"].id).values(phase=Phase.TALLYING))
    db.session.commit()
    before = snapshot()
    with pytest.raises(PhaseError):
        verification.revoke_verification(world["moderator"], world["cycle"].id, world["resident"].id, "mistake")
    assert snapshot() == before


def test_a_verification_stands_once_the_resident_voted_online(world, snapshot):
    north, resident = world["north"], world["resident"]
    by_moderator(world, north)
    voting.cast_ballot(resident, world["cycle"].id, north.id, [world["projects"][north.id].id])
    before = snapshot()
    with pytest.raises(ConflictError, match="already voted online in North, so this verification stands") as refused:
        verification.revoke_verification(world["official"], world["cycle"].id, resident.id, "wrong district")
    assert "tell the election officer" in refused.value.message
    assert snapshot() == before
    assert verification.revocation_blockers(resident, world["cycle"]) == {north.id: refused.value.message}


def test_a_verification_stands_once_the_resident_is_marked_as_a_paper_voter(world, snapshot):
    north, resident = world["north"], world["resident"]
    by_moderator(world, north)
    as_paper_voter(world, north)
    before = snapshot()
    with pytest.raises(ConflictError, match="voted on paper in North") as refused:
        verification.revoke_verification(world["official"], world["cycle"].id, resident.id, "wrong district")
    assert "cannot be taken out" in refused.value.message
    assert snapshot() == before
    assert verification.revocation_blockers(resident, world["cycle"]) == {north.id: refused.value.message}


def test_a_revoked_self_verification_keeps_its_code_used(world):
    north, resident = world["north"], world["resident"]
    [issued] = verification.generate_codes(world["official"], world["cycle"].id, north.id, 1)
    verification.verify_with_code(resident, world["cycle"].id, issued.code, HOME)
    verification.revoke_verification(world["moderator"], world["cycle"].id, resident.id, "code sent to the wrong house")
    with pytest.raises(ValidationError, match="already been used"):
        verification.verify_with_code(resident, world["cycle"].id, issued.code, HOME)
    assert _verified_districts(resident) == []


# --- at the same moment (PostgreSQL: SQLite runs one use case at a time) --------------------------------------------


def _at_once(app, calls) -> list:
    """Run the calls in threads released together, each with its own session as in the server; returns outcomes."""
    barrier, outcomes, lock = threading.Barrier(len(calls)), [], threading.Lock()

    def run(call):
        with app.app_context():
            try:
                barrier.wait()
                result = call()
                outcome = result
            except DomainError as refusal:
                outcome = refusal
            except Exception as crash:  # anything else would be a 500 in the web
                outcome = crash
            finally:
                db.session.remove()
            with lock:
                outcomes.append(outcome)

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def _need_postgres(engine_name):
    if engine_name == "sqlite":
        pytest.skip("SQLite has one writer at a time, so no two use cases run at the same moment")


def test_two_officers_verifying_one_resident_for_two_districts_at_once_get_exactly_one(app, engine_name, world, make_user):
    _need_postgres(engine_name)
    north, south = world["north"], world["south"]
    moderator_id, official_id = world["moderator"].id, world["official"].id
    for _ in range(6):
        resident_id = make_user().id

        def verify(officer_id, district_id, resident_id=resident_id):
            return voting.verify_resident(db.session.get(User, officer_id), resident_id, district_id).district_id

        outcomes = _at_once(app, [lambda: verify(moderator_id, north.id), lambda: verify(official_id, south.id)])
        winners = [outcome for outcome in outcomes if isinstance(outcome, int)]
        losers = [outcome for outcome in outcomes if not isinstance(outcome, int)]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert isinstance(losers[0], ConflictError), losers
        held = "North" if winners[0] == north.id else "South"
        assert f"already verified for {held}" in losers[0].message
        assert db.session.scalars(select(Verification.district_id).where(Verification.user_id == resident_id)).all() == winners


def test_a_moderator_and_the_residents_own_code_at_once_give_one_district(app, engine_name, world, make_user):
    _need_postgres(engine_name)
    north, south, cycle_id = world["north"], world["south"], world["cycle"].id
    moderator_id = world["moderator"].id
    for _ in range(6):
        resident_id = make_user().id
        [issued] = verification.generate_codes(world["official"], cycle_id, south.id, 1)

        def by_officer(resident_id=resident_id):
            return voting.verify_resident(db.session.get(User, moderator_id), resident_id, north.id).district_id

        def by_code(resident_id=resident_id, code=issued.code):
            return verification.verify_with_code(db.session.get(User, resident_id), cycle_id, code, HOME).district_id

        outcomes = _at_once(app, [by_officer, by_code])
        assert sum(isinstance(outcome, int) for outcome in outcomes) == 1, outcomes
        assert all(isinstance(outcome, (int, ConflictError)) for outcome in outcomes), outcomes
        assert len(db.session.scalars(select(Verification.id).where(Verification.user_id == resident_id)).all()) == 1


def test_a_revocation_and_a_ballot_at_once_never_leave_a_ballot_without_its_verification(app, engine_name, world, make_user):
    _need_postgres(engine_name)
    north, cycle_id = world["north"], world["cycle"].id
    project_id, moderator_id, official_id = world["projects"][north.id].id, world["moderator"].id, world["official"].id
    for _ in range(8):
        resident_id = make_user().id
        voting.verify_resident(db.session.get(User, official_id), resident_id, north.id)

        def vote(resident_id=resident_id):
            return voting.cast_ballot(db.session.get(User, resident_id), cycle_id, north.id, [project_id]).version

        def revoke(resident_id=resident_id):
            return verification.revoke_verification(db.session.get(User, moderator_id), cycle_id, resident_id, "mistake").id

        outcomes = _at_once(app, [vote, revoke])
        assert all(isinstance(outcome, (int, DomainError)) for outcome in outcomes), outcomes
        resident = db.session.get(User, resident_id)
        has_ballot = voting.stored_version(resident, cycle_id, north.id) > 0
        is_verified = bool(_verified_districts(resident))
        assert has_ballot == is_verified, (outcomes, has_ballot, is_verified)


def test_the_constraint_refusing_a_racing_insert_reads_as_the_same_clear_message(app, engine_name, world):
    """A verification written by another transaction that has not committed yet: the checks cannot see it, the
    unique constraint makes the insert wait and then refuses it, and the refusal still names the district held."""
    _need_postgres(engine_name)
    north, south, resident_id = world["north"], world["south"], world["resident"].id
    official_id, moderator_id = world["official"].id, world["moderator"].id
    inserted, outcomes = threading.Event(), []

    def other_transaction():
        with app.app_context():
            db.session.add(Verification(user_id=resident_id, cycle_id=north.cycle_id, district_id=north.id,
                                        verified_by_id=official_id))
            db.session.flush()
            inserted.set()
            threading.Event().wait(0.5)  # the racing use case reaches its insert and waits on the constraint
            db.session.commit()
            db.session.remove()

    def racing_use_case():
        with app.app_context():
            inserted.wait()
            try:
                outcomes.append(voting.verify_resident(db.session.get(User, moderator_id), resident_id, south.id))
            except Exception as refusal:
                outcomes.append(refusal)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=other_transaction), threading.Thread(target=racing_use_case)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [refusal] = outcomes
    assert isinstance(refusal, ConflictError), refusal
    assert "Rosa Resident is already verified for North in this cycle" in refusal.message
    assert _verified_districts(db.session.get(User, resident_id)) == [north.id]
