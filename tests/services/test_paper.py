"""Paper ballots: double entry by different officials, agreement into one anonymous ballot, paper/online exclusivity."""

import pytest
from sqlalchemy import func, select

from pb.domain.cycle import Phase
from pb.domain.errors import BallotError, ConflictError, NotFound, PermissionDenied, PhaseError, ValidationError
from pb.extensions import db
from pb.models import Ballot, PaperEntry, PaperSheet, Participation, Role, TallyRun, User
from pb.services import paper, tallying, voting
from tests.conftest import close_voting


@pytest.fixture
def cycle(make_cycle):
    return make_cycle(Phase.VOTING, max_projects=2)


@pytest.fixture
def north(cycle):
    return cycle.districts[0]


@pytest.fixture
def projects(cycle, north, make_project):
    """North (budget 1,000 EUR): 600, 400 and 100 EUR."""
    return [make_project(cycle, north, cost=cost) for cost in (60_000, 40_000, 10_000)]


@pytest.fixture
def officials(make_user):
    return [make_user(Role.OFFICIAL) for _ in range(3)]


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _ballot_choices() -> list[list[int]]:
    db.session.expire_all()
    return [[choice.project_id for choice in ballot.choices] for ballot in db.session.scalars(select(Ballot))]


def test_two_agreeing_entries_make_exactly_one_anonymous_ballot(officials, north, projects, audit_log):
    first, second, _ = officials
    chosen = [projects[0].id, projects[2].id]
    sheet = paper.enter_sheet(first, north.id, "Library", 7, chosen)
    assert (sheet.status, _count(Ballot)) == (paper.PENDING, 0)
    sheet = paper.enter_sheet(second, north.id, " library ", 7, list(reversed(chosen)))
    assert sheet.status == paper.AGREED
    assert _ballot_choices() == [sorted(chosen)]
    ballot = db.session.scalar(select(Ballot))
    assert (sheet.ballot_id, ballot.district_id, len(ballot.receipt)) == (ballot.id, north.id, 12)
    assert not {"token", "version", "created_at"} & set(Ballot.__table__.columns.keys())
    assert (_count(PaperSheet), _count(PaperEntry), _count(Participation)) == (1, 2, 0)
    entries = audit_log("enter-paper-sheet")
    assert [(actor, after["status"], after["choices"]) for actor, _, _, _, after in entries] == [
        (first.id, "pending", sorted(chosen)), (second.id, "agreed", sorted(chosen))]


def test_the_same_official_cannot_enter_a_sheet_twice(officials, north, projects, snapshot):
    paper.enter_sheet(officials[0], north.id, "Library", 7, [projects[0].id])
    before = snapshot()
    with pytest.raises(ConflictError, match="second entry must come from a different official"):
        paper.enter_sheet(officials[0], north.id, "LIBRARY", 7, [projects[0].id])
    assert snapshot() == before


def test_the_database_refuses_a_second_entry_by_the_same_official(officials, north, projects):
    sheet = paper.enter_sheet(officials[0], north.id, "Library", 7, [projects[0].id])
    db.session.add(PaperEntry(sheet_id=sheet.id, entered_by_id=officials[0].id, choices="[]"))
    with pytest.raises(Exception, match="(?i)unique"):
        db.session.commit()
    db.session.rollback()


def test_disagreeing_entries_are_flagged_and_not_counted(officials, north, projects):
    first, second, _ = officials
    paper.enter_sheet(first, north.id, "Library", 7, [projects[0].id])
    sheet = paper.enter_sheet(second, north.id, "Library", 7, [projects[1].id])
    assert sheet.status == paper.DISAGREED and _count(Ballot) == 0
    [listed] = paper.unresolved_sheets(north.cycle)
    assert [(e.entered_by_id, paper.entry_choices(e)) for e in listed.entries] == [
        (first.id, [projects[0].id]), (second.id, [projects[1].id])]
    assert paper.unresolved_problems(north.cycle) == ["1 paper sheet in North has entries that disagree."]


def test_a_third_entry_resolves_a_disagreement(officials, north, projects):
    first, second, third = officials
    paper.enter_sheet(first, north.id, "Library", 7, [projects[0].id])
    paper.enter_sheet(second, north.id, "Library", 7, [projects[1].id])
    sheet = paper.enter_sheet(third, north.id, "Library", 7, [projects[1].id])
    assert sheet.status == paper.AGREED and _ballot_choices() == [[projects[1].id]]
    assert paper.unresolved_sheets(north.cycle) == []


def test_a_correction_resolves_a_disagreement_and_is_audited(officials, north, projects, audit_log):
    first, second, _ = officials
    paper.enter_sheet(first, north.id, "Library", 7, [projects[0].id])
    paper.enter_sheet(second, north.id, "Library", 7, [projects[1].id])
    sheet = paper.correct_entry(first, north.id, "Library", 7, [projects[1].id])
    assert sheet.status == paper.AGREED and _ballot_choices() == [[projects[1].id]]
    [(actor, _, _, before, after)] = audit_log("correct-paper-sheet")
    assert (actor, before["choices"], after["choices"], after["status"]) == (
        first.id, [projects[0].id], [projects[1].id], "agreed")


def test_an_agreed_sheet_is_final(officials, north, projects, snapshot):
    first, second, third = officials
    paper.enter_sheet(first, north.id, "Library", 7, [projects[0].id])
    paper.enter_sheet(second, north.id, "Library", 7, [projects[0].id])
    before = snapshot()
    with pytest.raises(ConflictError, match="already agreed and counted"):
        paper.enter_sheet(third, north.id, "Library", 7, [projects[1].id])
    with pytest.raises(ConflictError, match="already agreed and counted"):
        paper.correct_entry(first, north.id, "Library", 7, [projects[1].id])
    assert snapshot() == before


def test_correcting_needs_an_entry_of_ones_own(officials, north, projects):
    paper.enter_sheet(officials[0], north.id, "Library", 7, [projects[0].id])
    with pytest.raises(ConflictError, match="no entry of yours to correct"):
        paper.correct_entry(officials[1], north.id, "Library", 7, [projects[0].id])


def test_an_invalid_sheet_is_refused_by_the_ballot_rules_with_the_reason(officials, north, projects, snapshot):
    before = snapshot()
    with pytest.raises(BallotError) as refusal:
        paper.enter_sheet(officials[0], north.id, "Library", 7, [p.id for p in projects])  # 1,100 EUR, 3 projects
    assert refusal.value.message.startswith("Sheet 7 from Library was not saved: Your choices cost")
    assert "Choose at most 2 projects (you chose 3)." in refusal.value.message
    assert "record the sheet as spoilt" in refusal.value.message
    assert snapshot() == before


def test_a_sheet_agreed_as_spoilt_is_recorded_but_makes_no_ballot(officials, north, projects):
    paper.enter_sheet(officials[0], north.id, "Library", 7, [], is_spoilt=True)
    sheet = paper.enter_sheet(officials[1], north.id, "Library", 7, [p.id for p in projects], is_spoilt=True)
    assert (sheet.status, sheet.ballot_id, _count(Ballot)) == (paper.SPOILT, None, 0)
    assert paper.sheet_counts(north.cycle)[north.id].spoilt == 1


@pytest.mark.parametrize(
    ("case", "error"),
    [("moderator", PermissionDenied), (Phase.REVIEW, PhaseError), (Phase.RESULTS, PhaseError)], ids=str,
)
def test_entering_sheets_is_for_officials_while_voting_or_counting(make_user, make_cycle, make_project, snapshot,
                                                                   case, error):
    cycle = make_cycle(case if isinstance(case, Phase) else Phase.VOTING)
    project = make_project(cycle)
    actor = make_user(Role.MODERATOR if case == "moderator" else Role.OFFICIAL)
    before = snapshot()
    with pytest.raises(error):
        paper.enter_sheet(actor, cycle.districts[0].id, "Library", 1, [project.id])
    assert snapshot() == before


def test_a_paper_voter_cannot_vote_online(officials, north, projects, make_user, verify, snapshot, audit_log):
    resident = make_user(name="Ada")
    verify(resident, north)
    paper.record_paper_voter(officials[0], resident.id, north.id)
    stored = db.session.scalar(select(Participation))
    assert (stored.user_id, stored.district_id, stored.channel) == (resident.id, north.id, "paper")
    assert audit_log("record-paper-voter")[0][4] == {"district": "North", "channel": "paper"}
    before = snapshot()
    with pytest.raises(PermissionDenied) as refusal:
        voting.cast_ballot(resident, north.cycle_id, north.id, [projects[0].id])
    assert refusal.value.message == (
        "You have already voted on paper at a polling station in North; you cannot also vote online.")
    with pytest.raises(ConflictError, match="Ada is already recorded as having voted on paper in North"):
        paper.record_paper_voter(officials[1], resident.id, north.id)
    assert snapshot() == before


def test_a_mistaken_paper_mark_is_taken_back_with_a_reason_and_the_resident_may_vote_online(
    officials, north, projects, make_user, verify, audit_log
):
    resident = make_user(name="Ada")
    verify(resident, north)
    paper.record_paper_voter(officials[0], resident.id, north.id)
    paper.undo_paper_voter(officials[1], resident.id, north.id, "  Marked the wrong Ada;\nit was her neighbour. ")
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0
    [(actor, action, subject, before, after)] = audit_log("undo-paper-voter")
    assert (actor, subject, before, after) == (
        officials[1].id, f"user:{resident.id}", {"district": "North", "channel": "paper"},
        {"reason": "Marked the wrong Ada; it was her neighbour."})
    voting.cast_ballot(resident, north.cycle_id, north.id, [projects[0].id])
    assert paper.channels_voted(resident, north.cycle_id) == {north.id: "online"}
    assert db.session.scalar(select(func.count()).select_from(Participation)) == 0


@pytest.mark.parametrize(
    ("case", "error", "message"),
    [("no-reason", ValidationError, "Say why the mark is taken back"),
     ("long-reason", ValidationError, "under 500 characters"),
     ("online-voter", ConflictError, "Ada is not recorded as having voted on paper in North"),
     ("not-marked", ConflictError, "Bo is not recorded as having voted on paper in North"),
     ("moderator", PermissionDenied, "Only officials"),
     ("unknown-user", NotFound, "no such user"),
     ("closed", PhaseError, "Paper ballots and paper voters can only be entered")],
)
def test_taking_back_a_paper_mark_refuses_bad_requests_and_changes_nothing(
    cycle, officials, north, projects, make_user, verify, snapshot, case, error, message
):
    ada, bo = make_user(name="Ada"), make_user(name="Bo")
    for resident in (ada, bo):
        verify(resident, north)
    voting.cast_ballot(ada, cycle.id, north.id, [projects[0].id])
    if case != "not-marked":
        paper.record_paper_voter(officials[0], bo.id, north.id)
    actor, user_id, reason = officials[0], bo.id, "Mistake."
    if case == "no-reason":
        reason = " \n "
    elif case == "long-reason":
        reason = "x" * 501
    elif case == "online-voter":
        user_id = ada.id
    elif case == "moderator":
        actor = make_user(Role.MODERATOR)
    elif case == "unknown-user":
        user_id = 10**6
    elif case == "closed":
        cycle.phase = Phase.RESULTS
        db.session.commit()
    before = snapshot()
    with pytest.raises(error, match=message):
        paper.undo_paper_voter(actor, user_id, north.id, reason)
    assert snapshot() == before


def test_an_online_voter_cannot_be_recorded_as_a_paper_voter(officials, north, projects, make_user, verify, snapshot):
    resident = make_user(name="Ada")
    verify(resident, north)
    voting.cast_ballot(resident, north.cycle_id, north.id, [projects[0].id])
    before = snapshot()
    with pytest.raises(ConflictError) as refusal:
        paper.record_paper_voter(officials[0], resident.id, north.id)
    assert refusal.value.message.startswith("Ada has already voted online in North; they cannot also vote on paper.")
    assert snapshot() == before


def test_a_paper_voter_must_be_verified_for_the_district(officials, north, make_user, snapshot):
    resident = make_user(name="Ada")
    before = snapshot()
    with pytest.raises(PermissionDenied, match="Ada is not verified to vote in North"):
        paper.record_paper_voter(officials[0], resident.id, north.id)
    assert snapshot() == before


def test_turnout_counts_online_and_paper_voters_separately(cycle, officials, north, projects, make_user, verify):
    south = cycle.districts[1]
    for channel in ["online", "online", "paper"]:
        resident = make_user()
        verify(resident, north)
        if channel == "online":
            voting.cast_ballot(resident, cycle.id, north.id, [projects[0].id])
        else:
            paper.record_paper_voter(officials[0], resident.id, north.id)
    assert voting.turnout_by_channel(cycle) == {north.id: {"online": 2, "paper": 1}, south.id: {"online": 0, "paper": 0}}
    assert voting.turnout(cycle) == {north.id: 3, south.id: 0}


@pytest.fixture
def mixed_votes(cycle, officials, north, projects, make_user, verify):
    """North: two online ballots for the 600 EUR project, three paper voters and two agreed sheets for the 400 EUR one."""
    for _ in range(2):
        resident = make_user()
        verify(resident, north)
        voting.cast_ballot(resident, cycle.id, north.id, [projects[0].id])
    for _ in range(3):
        resident = make_user()
        verify(resident, north)
        paper.record_paper_voter(officials[0], resident.id, north.id)
    for number in (1, 2):
        for official in officials[:2]:
            paper.enter_sheet(official, north.id, "Library", number, [projects[1].id, projects[2].id])
    close_voting(cycle)
    return cycle


def test_the_count_includes_agreed_paper_ballots(mixed_votes, officials, north, projects, audit_log):
    [run, _] = sorted(tallying.run_tally(officials[2], mixed_votes.id), key=lambda r: r.district_id != north.id)
    votes = {result.project_id: result.votes for result in run.results}
    assert run.ballot_count == 4
    assert votes == {projects[0].id: 2, projects[1].id: 2, projects[2].id: 2}
    assert audit_log("run-tally")[0][4]["paper_sheets"] == {"entered": 2, "agreed": 2, "spoilt": 0}


def test_the_count_waits_for_pending_and_disputed_sheets(mixed_votes, officials, north, projects, snapshot):
    for number in (3, 4, 5):
        paper.enter_sheet(officials[0], north.id, "School", number, [projects[1].id])
    paper.enter_sheet(officials[0], north.id, "School", 6, [projects[1].id])
    paper.enter_sheet(officials[1], north.id, "School", 6, [projects[2].id])
    before = snapshot()
    with pytest.raises(ConflictError) as refusal:
        tallying.run_tally(officials[2], mixed_votes.id)
    assert refusal.value.problems == ["3 paper sheets in North still need a second entry.",
                                      "1 paper sheet in North has entries that disagree."]
    assert snapshot() == before


def test_a_sheet_entered_after_the_count_discards_that_districts_count(mixed_votes, officials, north, projects):
    tallying.run_tally(officials[2], mixed_votes.id)
    assert _count(TallyRun, TallyRun.district_id == north.id) == 1
    paper.enter_sheet(officials[0], north.id, "School", 1, [projects[1].id])
    assert _count(TallyRun, TallyRun.district_id == north.id) == 0
    assert _count(TallyRun) == 1  # South's count stands


def test_the_add_up_check_still_catches_a_lost_online_ballot(mixed_votes, officials, north):
    paper_ballots = select(PaperSheet.ballot_id).where(PaperSheet.ballot_id.is_not(None))
    lost = db.session.scalars(select(Ballot).where(Ballot.id.not_in(paper_ballots))).first()
    db.session.delete(lost)
    db.session.commit()
    with pytest.raises(ConflictError) as refusal:
        tallying.run_tally(officials[2], mixed_votes.id)
    assert "2 voters were told their ballot was saved, 1 ballots are stored and 1 were read" in refusal.value.message
    assert "2 paper sheets are agreed and 2 ballots are stored for them" in refusal.value.message


def test_the_add_up_check_catches_an_agreed_sheet_without_its_ballot(mixed_votes, officials):
    sheet = db.session.scalars(select(PaperSheet)).first()
    sheet.ballot_id = None
    db.session.commit()
    with pytest.raises(ConflictError, match="2 paper sheets are agreed and 1 ballots are stored for them"):
        tallying.run_tally(officials[2], mixed_votes.id)


def test_simultaneous_second_entries_make_one_ballot(app, engine_name, officials, north, projects):
    if engine_name != "postgresql":
        pytest.skip("SQLite has one writer at a time; the row lock under test is PostgreSQL's")
    import threading

    first, second, third = officials
    rounds = 10
    for number in range(1, rounds + 1):
        paper.enter_sheet(first, north.id, "Library", number, [projects[0].id])
    outcomes = []

    def enter(official_id, number, barrier):
        with app.app_context():  # each thread its own session: a request of its own, as in the server
            official = db.session.get(User, official_id)
            barrier.wait()
            try:
                outcomes.append(paper.enter_sheet(official, north.id, "Library", number, [projects[0].id]).status)
            except ConflictError as refusal:
                outcomes.append(refusal.message)
            finally:
                db.session.remove()

    for number in range(1, rounds + 1):
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=enter, args=(official.id, number, barrier)) for official in (second, third)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outcomes.count("agreed") == rounds
    assert all("already agreed and counted" in outcome for outcome in outcomes if outcome != "agreed")
    assert _count(Ballot) == rounds
    assert _count(PaperSheet, PaperSheet.status == paper.AGREED, PaperSheet.ballot_id.is_not(None)) == rounds


def test_a_resident_voting_online_while_marked_on_paper_ends_with_exactly_one_of_the_two(
    app, engine_name, officials, north, projects, make_user, verify
):
    """No row names an online voter any more, so the database's unique participation cannot keep the two channels
    apart: both use cases take the voter's advisory lock first, and then see each other's work."""
    if engine_name != "postgresql":
        pytest.skip("SQLite has one writer at a time; the lock under test is PostgreSQL's")
    import threading

    from pb.models import SealedBallot

    rounds = 12
    residents = [make_user() for _ in range(rounds)]
    for resident in residents:
        verify(resident, north)
    resident_ids, official_id, cycle_id, district_id = [r.id for r in residents], officials[0].id, north.cycle_id, north.id
    outcomes: list[tuple[str, str]] = []

    def online(user_id, barrier):
        with app.app_context():
            voter = db.session.get(User, user_id)
            barrier.wait()
            try:
                voting.cast_ballot(voter, cycle_id, district_id, [projects[0].id])
                outcomes.append(("online", "stored"))
            except PermissionDenied:
                outcomes.append(("online", "refused"))
            finally:
                db.session.remove()

    def on_paper(user_id, barrier):
        with app.app_context():
            official = db.session.get(User, official_id)
            barrier.wait()
            try:
                paper.record_paper_voter(official, user_id, district_id)
                outcomes.append(("paper", "stored"))
            except ConflictError:
                outcomes.append(("paper", "refused"))
            finally:
                db.session.remove()

    for user_id in resident_ids:
        barrier = threading.Barrier(2)
        threads = [threading.Thread(target=work, args=(user_id, barrier)) for work in (online, on_paper)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert len(outcomes) == 2 * rounds and outcomes.count(("online", "stored")) + outcomes.count(("paper", "stored")) == rounds
    marked = set(db.session.scalars(select(Participation.user_id).where(Participation.channel == "paper")))
    sealed = {user_id for user_id in resident_ids
              if voting.has_voted_online(db.session.get(User, user_id), north)}
    assert marked.isdisjoint(sealed) and marked | sealed == set(resident_ids)
    assert _count(SealedBallot) == len(sealed)
