"""After a vote, no stored row links a person to the projects they chose."""

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.services import voting


def _foreign_targets(table) -> dict[str, str]:
    return {column.name: next(iter(column.foreign_keys)).column.table.name for column in table.columns if column.foreign_keys}


def test_no_row_holds_both_a_voter_and_their_choices(app, make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.VOTING, districts=(("North", 100_000),))
    district = cycle.districts[0]
    projects = [make_project(cycle, cost=10_000) for _ in range(3)]
    voters = [make_user() for _ in range(3)]
    for number, voter in enumerate(voters):
        verify(voter, district)
        voting.cast_ballot(voter, cycle.id, district.id, [projects[number].id])
    checked = 0
    for table in db.metadata.sorted_tables:
        targets = _foreign_targets(table)
        user_columns = [name for name, target in targets.items() if target == "users"]
        project_columns = [name for name, target in targets.items() if target == "proposals"]
        for row in db.session.execute(table.select()).mappings():
            checked += 1
            holds_voter = any(row[name] in {v.id for v in voters} for name in user_columns)
            holds_choice = any(row[name] is not None for name in project_columns)
            assert not (holds_voter and holds_choice), f"{table.name} links a voter to a choice: {dict(row)}"
    assert checked > 10
    ballot_columns = {column.name for column in db.metadata.tables["ballots"].columns}
    assert not ballot_columns & {"user_id", "voter_id", "created_at", "updated_at", "cast_at"}
