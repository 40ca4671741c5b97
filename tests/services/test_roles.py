"""Four eyes on the official role: requests, approvals, cancellations, the count freeze, the last official, and
independent pairs of officials for every two-person step."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from pb.domain.cycle import Phase
from pb.domain.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from pb.extensions import db
from pb.models import ResultRevision, Role, RoleChange, User
from pb.services import paper, publication, revisions, roles, tallying, users, voting
from tests.conftest import close_voting


@pytest.fixture
def officials(make_user):
    return [make_user(Role.OFFICIAL, name=name) for name in ("Olga", "Pieter", "Quinn")]


def _role(user_id: int) -> Role:
    db.session.expire_all()
    return db.session.get(User, user_id).role


def _promote(requester, approver, user) -> RoleChange:
    change = users.change_role(requester, user.id, Role.OFFICIAL, "Runs the polling stations this year.")
    return roles.approve_change(approver, change.id)


def test_one_official_cannot_make_an_account_of_their_own_an_official(officials, make_user, snapshot, audit_log):
    """The attack: an official promotes a second account they control. Now it is only a request."""
    olga = officials[0]
    own = make_user(name="Olga's other account")
    change = users.change_role(olga, own.id, Role.OFFICIAL, "Helps with the count.")
    assert isinstance(change, RoleChange) and change.status == roles.PENDING
    assert _role(own.id) is Role.RESIDENT
    before = snapshot()
    with pytest.raises(ConflictError, match="You requested this change; a different official must approve it"):
        roles.approve_change(olga, change.id)
    with pytest.raises(PermissionDenied):
        roles.approve_change(db.session.get(User, own.id), change.id)  # the account itself is no official yet
    assert snapshot() == before
    assert _role(own.id) is Role.RESIDENT
    assert [(actor, action, before, after) for actor, action, _, before, after in audit_log("request-role-change")] == [
        (olga.id, "request-role-change", {"role": "resident"},
         {"role": "official", "reason": "Helps with the count.", "request": change.id})]


def test_a_second_official_approves_and_only_then_the_role_changes(officials, make_user, audit_log):
    olga, pieter, _ = officials
    newcomer = make_user()
    change = _promote(olga, pieter, newcomer)
    assert (change.status, change.decided_by_id, change.pending_user_id) == (roles.APPROVED, pieter.id, None)
    assert _role(newcomer.id) is Role.OFFICIAL
    assert audit_log("approve-role-change") == [
        (pieter.id, "approve-role-change", f"user:{newcomer.id}", {"role": "resident"},
         {"role": "official", "request": change.id, "requested_by": olga.id,
          "reason": "Runs the polling stations this year."})]


@pytest.mark.parametrize("canceller", [0, 1])
def test_either_official_cancels_a_request_and_nothing_changes(officials, make_user, audit_log, canceller):
    olga, pieter, _ = officials
    newcomer = make_user()
    change = users.change_role(olga, newcomer.id, Role.OFFICIAL, "Needed at the town hall.")
    roles.cancel_change(officials[canceller], change.id)
    assert _role(newcomer.id) is Role.RESIDENT
    with pytest.raises(ConflictError, match="cancelled"):
        roles.approve_change(pieter, change.id)
    assert [(actor, action) for actor, action, *_ in audit_log() if "role" in action] == [
        (olga.id, "request-role-change"), (officials[canceller].id, "cancel-role-change")]


def test_an_official_cannot_demote_every_other_official_alone(officials, snapshot):
    """The attack: one official removes the others. Each removal is now a request waiting for a second official."""
    olga, pieter, quinn = officials
    for other in (pieter, quinn):
        users.change_role(olga, other.id, Role.RESIDENT, "Not needed any more.")
    assert (_role(pieter.id), _role(quinn.id)) == (Role.OFFICIAL, Role.OFFICIAL)
    before = snapshot()
    for change in roles.pending_changes():
        with pytest.raises(ConflictError):
            roles.approve_change(olga, change.id)
    assert snapshot() == before


def test_the_last_official_cannot_be_removed(make_user, snapshot):
    olga, pieter = make_user(Role.OFFICIAL, name="Olga"), make_user(Role.OFFICIAL, name="Pieter")
    removing_pieter = users.change_role(olga, pieter.id, Role.MODERATOR, "Moves to another department.")
    removing_olga = users.change_role(pieter, olga.id, Role.RESIDENT, "Leaves the city.")
    roles.approve_change(pieter, removing_pieter.id)  # Pieter agrees to his own removal while Olga remains
    assert _role(pieter.id) is Role.MODERATOR
    before = snapshot()
    with pytest.raises(ConflictError, match="Olga is the last official"):
        roles.approve_change(db.session.get(User, olga.id), removing_olga.id)
    assert snapshot() == before
    assert _role(olga.id) is Role.OFFICIAL


def test_an_official_cannot_remove_their_own_role(officials, snapshot):
    before = snapshot()
    with pytest.raises(ValidationError, match="cannot remove your own official role"):
        users.change_role(officials[0], officials[0].id, Role.RESIDENT, "Retiring.")
    assert snapshot() == before


@pytest.mark.parametrize(
    ("reason", "role", "error", "message"),
    [
        ("", Role.OFFICIAL, ValidationError, "Say why"),
        ("   ", Role.OFFICIAL, ValidationError, "Say why"),
        ("x" * 501, Role.OFFICIAL, ValidationError, "under 500"),
    ],
)
def test_a_request_needs_a_reason(officials, make_user, snapshot, reason, role, error, message):
    newcomer = make_user()
    before = snapshot()
    with pytest.raises(error, match=message):
        users.change_role(officials[0], newcomer.id, role, reason)
    assert snapshot() == before


def test_one_request_per_user_waits_at_a_time(officials, make_user, snapshot):
    newcomer = make_user()
    users.change_role(officials[0], newcomer.id, Role.OFFICIAL, "First.")
    before = snapshot()
    with pytest.raises(ConflictError, match="already waits for approval"):
        users.change_role(officials[1], newcomer.id, Role.OFFICIAL, "Second.")
    assert snapshot() == before


def test_the_database_keeps_one_pending_request_per_user(officials, make_user):
    newcomer = make_user()
    for requester in officials[:2]:
        db.session.add(RoleChange(user_id=newcomer.id, role_before=Role.RESIDENT, role_after=Role.OFFICIAL,
                                  reason="r", requested_by_id=requester.id, pending_user_id=newcomer.id))
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


@pytest.mark.parametrize("bad_id", [10_000, 2**63, "1", None])
def test_deciding_on_a_missing_request_is_refused(officials, snapshot, bad_id):
    before = snapshot()
    with pytest.raises(NotFound):
        roles.approve_change(officials[1], bad_id)
    with pytest.raises(NotFound):
        roles.cancel_change(officials[1], bad_id)
    assert snapshot() == before


def test_moderator_grants_are_immediate_and_in_the_audit_log(officials, make_user, audit_log):
    resident = make_user()
    assert users.change_role(officials[0], resident.id, Role.MODERATOR, "Checks documents at the library.").role \
        is Role.MODERATOR
    assert audit_log("change-role") == [
        (officials[0].id, "change-role", f"user:{resident.id}", {"role": "resident"},
         {"role": "moderator", "reason": "Checks documents at the library."})]
    assert roles.pending_changes() == []


@pytest.fixture
def counting(make_cycle):
    return make_cycle(Phase.TALLYING)


def test_no_official_is_added_or_removed_while_votes_are_counted(officials, make_user, make_cycle, snapshot):
    olga, pieter, quinn = officials
    newcomer = make_user()
    change = users.change_role(olga, newcomer.id, Role.OFFICIAL, "Before the count.")
    make_cycle(Phase.TALLYING, name="Budget 2027")
    before = snapshot()
    with pytest.raises(ConflictError, match=r"while votes are being counted \(Budget 2027\)"):
        roles.approve_change(pieter, change.id)
    with pytest.raises(ConflictError, match="while votes are being counted"):
        users.change_role(olga, quinn.id, Role.RESIDENT, "During the count.")
    assert snapshot() == before


def test_no_official_is_added_or_removed_while_a_correction_waits(officials, make_user, make_cycle, snapshot):
    olga, pieter, _ = officials
    cycle = make_cycle(Phase.RESULTS, name="Budget 2026")
    db.session.add(ResultRevision(cycle_id=cycle.id, number=2, snapshot="[]", count_digest="0" * 64,
                                  proposed_by_id=olga.id))
    db.session.commit()
    newcomer = make_user()
    before = snapshot()
    with pytest.raises(ConflictError, match=r"correction of published results waits for approval \(Budget 2026\)"):
        users.change_role(olga, newcomer.id, Role.OFFICIAL, "During the correction.")
    assert snapshot() == before


def test_disabling_an_official_needs_the_role_removed_first(officials, snapshot):
    olga, pieter, _ = officials
    before = snapshot()
    with pytest.raises(ConflictError, match="needs a second official"):
        users.set_enabled(olga, pieter.id, False)
    assert snapshot() == before
    change = users.change_role(olga, pieter.id, Role.RESIDENT, "Left the city.")
    roles.approve_change(officials[2], change.id)
    users.set_enabled(olga, pieter.id, False)
    assert db.session.get(User, pieter.id).is_enabled is False


def test_enabling_a_disabled_official_account_is_refused(officials, make_user, snapshot):
    dormant = make_user(Role.OFFICIAL, is_enabled=False)
    before = snapshot()
    with pytest.raises(ConflictError, match="has the official role"):
        users.set_enabled(officials[0], dormant.id, True)
    assert snapshot() == before


def test_an_official_cannot_create_an_official_account_directly(officials, snapshot, audit_log):
    before = snapshot()
    with pytest.raises(PermissionDenied, match="cannot create another official alone"):
        users.create_user("olga2@example.org", "Olga 2", "a-long-password", Role.OFFICIAL, actor=officials[0])
    assert snapshot() == before
    made = users.create_user("ops@example.org", "Operator's official", "a-long-password", Role.OFFICIAL)
    assert made.role is Role.OFFICIAL
    assert audit_log("create-user")[-1][4] == {"email": "ops@example.org", "role": "official", "via": "command line"}


def test_a_removed_official_is_logged_out_everywhere(officials):
    olga, pieter, quinn = officials
    version = pieter.session_version
    roles.approve_change(quinn, users.change_role(olga, pieter.id, Role.RESIDENT, "Left.").id)
    db.session.expire_all()
    assert db.session.get(User, pieter.id).session_version == version + 1


# Independence: an official and the official they proposed are never each other's second pair of eyes.


@pytest.fixture
def sponsored(officials, make_user):
    """Olga proposed Sam as an official and Quinn approved: Olga and Sam are not independent; Pieter is."""
    olga, pieter, quinn = officials
    sam = make_user(name="Sam")
    _promote(olga, quinn, sam)
    db.session.expire_all()
    return olga, pieter, quinn, db.session.get(User, sam.id)


def test_a_sponsor_and_the_official_they_proposed_are_not_independent(sponsored):
    olga, pieter, quinn, sam = sponsored
    assert not roles.are_independent(olga.id, sam.id)
    assert not roles.are_independent(sam.id, olga.id)
    assert roles.are_independent(pieter.id, sam.id)
    assert roles.are_independent(quinn.id, sam.id)  # approving is not proposing


def test_a_sponsored_official_cannot_approve_their_sponsors_request(sponsored, make_user, snapshot):
    olga, pieter, _, sam = sponsored
    change = users.change_role(olga, make_user().id, Role.OFFICIAL, "Another helper.")
    before = snapshot()
    with pytest.raises(ConflictError, match="one of you proposed the other as an official"):
        roles.approve_change(sam, change.id)
    assert snapshot() == before
    roles.approve_change(pieter, change.id)


@pytest.fixture
def counted(sponsored, make_cycle, make_project, make_user, verify):
    olga, pieter, quinn, sam = sponsored
    cycle = make_cycle(Phase.VOTING)
    for district in cycle.districts:
        project = make_project(cycle, district)
        voter = make_user()
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [project.id])
    close_voting(cycle)
    tallying.run_tally(olga, cycle.id)
    return cycle


def test_a_sponsor_and_their_official_cannot_approve_the_count_together(counted, sponsored, snapshot):
    olga, pieter, _, sam = sponsored
    publication.approve_results(olga, counted.id)
    before = snapshot()
    with pytest.raises(ConflictError, match="Approving the count needs two independent officials"):
        publication.approve_results(sam, counted.id)
    assert snapshot() == before
    publication.approve_results(pieter, counted.id)
    assert len(publication.approvals(counted)) == 2


def test_a_sponsor_and_their_official_cannot_agree_a_paper_sheet_together(sponsored, make_cycle, make_project,
                                                                          snapshot):
    olga, pieter, _, sam = sponsored
    cycle = make_cycle(Phase.VOTING)
    north = cycle.districts[0]
    project = make_project(cycle, north)
    paper.enter_sheet(olga, north.id, "Library", 1, [project.id])
    before = snapshot()
    with pytest.raises(ConflictError, match="Entering a paper sheet twice needs two independent officials"):
        paper.enter_sheet(sam, north.id, "Library", 1, [project.id])
    assert snapshot() == before
    assert paper.enter_sheet(pieter, north.id, "Library", 1, [project.id]).status == paper.AGREED


def test_a_sponsor_and_their_official_cannot_publish_a_correction_together(sponsored, counted, snapshot):
    olga, pieter, quinn, sam = sponsored
    publication.approve_results(olga, counted.id)
    publication.approve_results(pieter, counted.id)
    from pb.services import cycles

    cycles.advance_phase(olga, counted.id, Phase.TALLYING)
    funded = next(r.project_id for run in tallying.tally_runs(counted).values() for r in run.results if r.is_funded)
    revision = revisions.propose_correction(olga, counted.id, "Cannot be built.", [funded])
    before = snapshot()
    with pytest.raises(ConflictError, match="Approving a correction needs two independent officials"):
        revisions.approve_correction(sam, counted.id, revision.number)
    assert snapshot() == before
    assert revisions.approve_correction(quinn, counted.id, revision.number).status == "published"


def test_role_changes_are_listed_pending_and_recent(officials, make_user):
    olga, pieter, _ = officials
    first, second = make_user(), make_user()
    waiting = users.change_role(olga, first.id, Role.OFFICIAL, "One.")
    done = _promote(olga, pieter, second)
    assert [change.id for change in roles.pending_changes()] == [waiting.id]
    assert [change.id for change in roles.recent_changes()] == [done.id]
    assert db.session.scalar(select(func.count()).select_from(RoleChange)) == 2


def test_a_correction_cannot_make_a_sponsor_and_their_official_agree(officials, make_user, make_cycle, make_project,
                                                                     snapshot):
    """Sam entered a sheet, lost the role and got it back on Olga's request: his correction may not agree with hers."""
    olga, pieter, quinn = officials
    sam = make_user(Role.OFFICIAL, name="Sam")
    cycle = make_cycle(Phase.VOTING)
    north = cycle.districts[0]
    first, second = make_project(cycle, north), make_project(cycle, north)
    paper.enter_sheet(olga, north.id, "Library", 1, [first.id])
    paper.enter_sheet(sam, north.id, "Library", 1, [second.id])
    roles.approve_change(quinn, users.change_role(pieter, sam.id, Role.RESIDENT, "Away for a while.").id)
    _promote(olga, quinn, db.session.get(User, sam.id))
    sam = db.session.get(User, sam.id)
    before = snapshot()
    with pytest.raises(ConflictError, match="two independent officials"):
        paper.correct_entry(sam, north.id, "Library", 1, [first.id])
    assert snapshot() == before
