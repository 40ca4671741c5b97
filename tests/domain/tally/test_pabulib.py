"""The pabulib reader and writer: real files round-trip byte for byte, every vote type, and precise refusals."""

import io
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb.domain.tally import ApprovalProfile, Instance, PointsProfile, Project, TallyError
from pb.domain.tally.pabulib import RULE_NAMES, PabulibElection, PabulibError, read, read_file, write, write_file

DATA = Path(__file__).resolve().parents[2] / "data"
# The shared pabulib folder sits beside the repository: /work/shared/pabulib next to /work/main.
SHARED = Path(__file__).resolve().parents[3] / ".." / "shared" / "pabulib"
SHARED_FILES = sorted(SHARED.glob("*.pb")) if SHARED.is_dir() else []

# Line numbers used in the refusals below: META 1-8, PROJECTS 9-13, VOTES 14-18.
APPROVAL = '''META
key;value
description;Test
num_projects;3
num_votes;3
budget;100
vote_type;approval
rule;greedy
PROJECTS
project_id;cost;votes;name;selected
a;60;2;Alpha;1
b;50;2;"Beta; with ""quotes""";0
c;40;1;Gamma;1
VOTES
voter_id;vote
1;a,b
2;a,c
3;b
'''

# META 1-4, PROJECTS 5-8, VOTES 9-13.
CUMULATIVE = """META
key;value
budget;100
vote_type;cumulative
PROJECTS
project_id;cost;score
a;60;5
b;50;3
VOTES
voter_id;vote;points
1;a,b;3,1
2;a;2
3;b;2
"""


def election_text(base: str = APPROVAL, old: str = "", new: str = "") -> str:
    assert old in base, f"{old!r} is not in the base file"
    return base.replace(old, new, 1)


# ---------------------------------------------------------------- real files


@pytest.mark.parametrize(
    "name, vote_type, projects, voters, budget, rule, published",
    [
        ("Netherlands_Assen_2024.pb", "approval", 14, 84, 100_000, "mes-add1-no-completion", 9),
        ("Netherlands_Assen_2025.pb", "approval", 32, 332, 100_000, "mes-add1-no-completion", 13),
        ("Poland_Swiecie_2023.pb", "approval", 22, 2553, 1_070_000, "mes-add1-no-completion", 17),
        ("Switzerland_Zurich_D10.pb", "cumulative", 24, 180, 60_000, None, None),
    ],
)
def test_small_real_files_read_as_published(name, vote_type, projects, voters, budget, rule, published):
    election = read_file(DATA / name)
    instance, profile = election.instance(), election.profile()
    assert election.vote_type == vote_type
    assert (len(instance.projects), profile.voter_count, instance.budget) == (projects, voters, budget)
    assert election.rule_name() == rule
    selection = election.published_selection()
    assert (None if selection is None else len(selection)) == published
    assert isinstance(profile, PointsProfile if vote_type == "cumulative" else ApprovalProfile)


@pytest.mark.parametrize("name", sorted(path.name for path in DATA.glob("*.pb")))
def test_small_real_files_round_trip_byte_for_byte(name):
    data = (DATA / name).read_bytes()
    election = read(data)
    assert write(election).encode("utf-8") == data
    assert read(write(election)) == election


def test_assen_2024_details_survive_reading():
    election = read_file(DATA / "Netherlands_Assen_2024.pb")
    assert list(election.meta)[:3] == ["description", "country", "unit"]
    assert election.project_columns == ["project_id", "cost", "votes", "name", "selected", "description"]
    assert election.projects[0] == {
        "project_id": "3",
        "cost": "7200",
        "votes": "43",
        "name": "PopUp Podium",
        "selected": "1",
        "description": "12x per jaar zal er een PopUp Podium opduiken in de stad",
    }
    assert election.votes[0]["voter_id"] == "vote01006bcf-62b6-435d-a0de-2966c3e75249"
    assert election.layout.line_ending == "\r\n"
    assert election.instance().project("3") == Project("3", 7200, "PopUp Podium")
    assert election.published_selection() == ["3", "9", "2", "11", "13", "14", "5", "6", "12"]


def test_zurich_points_add_up_to_the_published_scores():
    election = read_file(DATA / "Switzerland_Zurich_D10.pb")
    profile = election.profile()
    assert isinstance(profile, PointsProfile)
    for row in election.projects:
        assert profile.points(row["project_id"]) == int(row["score"])
        assert profile.approvals(row["project_id"]) == int(row["votes"])
    assert election.instance().project("14").categories  # the category column becomes the project's categories


@pytest.mark.skipif(not SHARED_FILES, reason="the shared pabulib folder (../shared/pabulib) is not beside the repo")
@pytest.mark.parametrize("path", SHARED_FILES, ids=lambda path: path.stem)
def test_every_shared_file_round_trips_and_matches_its_own_counts(path):
    """Also checks Kraków's ordinal ballots scored 3/2/1 against its `score` column (the benchmark re-checks it)."""
    data = path.read_bytes()
    election = read(data)
    assert write(election).encode("utf-8") == data
    instance, profile = election.instance(), election.profile()
    assert profile.voter_count == int(election.meta["num_votes"]) == len(election.votes)
    assert len(instance.projects) == int(election.meta["num_projects"])
    # One pass over the ballot groups: approvals() and points() per project would rescan them all each time.
    approvals, points = Counter(), Counter()
    for ballot, multiplicity in profile.groups:
        for entry in ballot:
            project_id, value = entry if isinstance(profile, PointsProfile) else (entry, 1)
            approvals[project_id] += multiplicity
            points[project_id] += value * multiplicity
    for row in election.projects:
        if "votes" in row:
            assert approvals[row["project_id"]] == int(row["votes"]), row["project_id"]
        if "score" in row:
            assert points[row["project_id"]] == int(row["score"]), row["project_id"]


# ---------------------------------------------------------------- the model


def test_a_small_approval_file_reads_into_instance_and_profile():
    election = read(APPROVAL)
    assert election.instance() == Instance(
        100, (Project("a", 60, "Alpha"), Project("b", 50, 'Beta; with "quotes"'), Project("c", 40, "Gamma"))
    )
    assert dict(election.profile().groups) == {frozenset("ab"): 1, frozenset("ac"): 1, frozenset("b"): 1}
    assert election.projects[1]["name"] == 'Beta; with "quotes"'
    assert election.published_selection() == ["a", "c"]
    assert election.rule_name() == "greedy"


def test_cumulative_points_come_from_the_points_column():
    profile = read(CUMULATIVE).profile()
    assert isinstance(profile, PointsProfile)
    assert dict(profile.groups) == {(("a", 3), ("b", 1)): 1, (("a", 2),): 1, (("b", 2),): 1}
    assert (profile.points("a"), profile.points("b")) == (5, 3)


def test_scoring_reads_like_cumulative_and_zero_points_are_no_support():
    profile = read(election_text(CUMULATIVE, "2;a;2", "2;a,b;2,0").replace("cumulative", "scoring")).profile()
    assert dict(profile.groups) == {(("a", 3), ("b", 1)): 1, (("a", 2),): 1, (("b", 2),): 1}


ORDINAL = """META
key;value
budget;100
vote_type;ordinal
max_length;3
PROJECTS
project_id;cost;votes;score
a;10;3;7
b;10;3;8
c;10;2;4
d;10;1;1
VOTES
voter_id;vote
1;a,b,c
2;b,a,d
3;c,a
4;b
"""


def test_ordinal_ranks_score_max_length_down_to_one_as_the_published_score_column():
    # Kraków 2024 scores ranks 3/2/1 the same way; its own file is checked by the benchmark and, when
    # ../shared/pabulib is present, by the shared-files test above.
    election = read(ORDINAL)
    profile = election.profile()
    assert dict(profile.groups) == {
        (("a", 3), ("b", 2), ("c", 1)): 1,
        (("a", 2), ("b", 3), ("d", 1)): 1,
        (("a", 2), ("c", 3)): 1,
        (("b", 3),): 1,
    }
    for row in election.projects:
        assert profile.points(row["project_id"]) == int(row["score"])
        assert profile.approvals(row["project_id"]) == int(row["votes"])


def test_ordinal_without_max_length_scores_from_the_longest_ballot():
    profile = read(ORDINAL.replace("max_length;3\n", "").replace("1;a,b,c", "1;a,b,c,d")).profile()
    # The longest ballot ranks 4 projects, so the first rank is worth 4 points.
    assert dict(profile.groups)[(("a", 4), ("b", 3), ("c", 2), ("d", 1))] == 1
    assert profile.points("b") == 3 + 4 + 4


def test_choose_one_is_an_approval_profile():
    text = (
        election_text(APPROVAL, "vote_type;approval", "vote_type;choose-1")
        .replace("1;a,b", "1;a")
        .replace("2;a,c", "2;a")
    )
    profile = read(text).profile()
    assert isinstance(profile, ApprovalProfile)
    assert dict(profile.groups) == {frozenset("a"): 2, frozenset("b"): 1}


def test_an_empty_vote_is_a_voter_with_an_empty_ballot():
    profile = read(election_text(APPROVAL, "3;b", "3;")).profile()
    assert profile.voter_count == 3
    assert dict(profile.groups)[frozenset()] == 1


@pytest.mark.parametrize(
    "meta_rule, pb_rule",
    [
        ("greedy", "greedy"),
        ("greedy-threshold", "greedy-threshold"),
        ("greedy-no-skip", "greedy-no-skip"),
        ("equalshares", "mes"),
        ("equalshares/add1", "mes-add1-no-completion"),
        ("equalshares/add1-comparison", "mes-add1-comparison"),
        ("unknown", None),
        ("sequential-phragmen-someday", None),
    ],
)
def test_the_file_rule_maps_to_a_pb_rule(meta_rule, pb_rule):
    assert read(election_text(APPROVAL, "rule;greedy", f"rule;{meta_rule}")).rule_name() == pb_rule
    assert RULE_NAMES.get(meta_rule) == pb_rule


def test_a_file_without_a_rule_or_selected_column_has_neither():
    election = read(
        election_text(APPROVAL, "rule;greedy\n", "")
        .replace(";1\n", "\n")
        .replace(";0\n", "\n")
        .replace(";selected", "")
    )
    assert election.rule_name() is None
    assert election.published_selection() is None


@pytest.mark.parametrize(
    "old, new, budget, costs, threshold",
    [
        ("", "", 100, (60, 50, 40), 0),
        ("budget;100", "budget;100.0", 100, (60, 50, 40), 0),  # Toulouse writes costs as "100000.0"
        ("a;60;", "a;60.00;", 100, (60, 50, 40), 0),
        ("rule;greedy", "rule;greedy-threshold\nmin_project_score_threshold;2", 100, (60, 50, 40), 2),
    ],
)
def test_money_is_whole_even_when_written_with_a_zero_fraction(old, new, budget, costs, threshold):
    instance = read(election_text(APPROVAL, old, new)).instance()
    assert instance.budget == budget
    assert tuple(project.cost for project in instance.projects) == costs
    assert instance.min_project_score == threshold


def test_categories_are_a_comma_separated_list():
    text = election_text(APPROVAL, "name;selected", "name;category;selected")
    text = text.replace("Alpha;1", 'Alpha;"parks, sport";1').replace('quotes""";0', 'quotes""";;0')
    text = text.replace("Gamma;1", "Gamma;culture;1")
    instance = read(text).instance()
    assert [project.categories for project in instance.projects] == [
        frozenset({"parks", "sport"}),
        frozenset(),
        frozenset({"culture"}),
    ]


# ---------------------------------------------------------------- sources and layout


@pytest.mark.parametrize(
    "source",
    [
        APPROVAL,
        APPROVAL.encode("utf-8"),
        io.StringIO(APPROVAL),
        io.BytesIO(APPROVAL.encode("utf-8")),
    ],
    ids=["text", "bytes", "text stream", "byte stream"],
)
def test_read_takes_text_bytes_or_a_stream(source):
    assert read(source) == read(APPROVAL)


def test_read_file_and_write_file_agree(tmp_path):
    path = tmp_path / "out.pb"
    write_file(read(APPROVAL), path)
    assert path.read_bytes() == APPROVAL.encode("utf-8")
    assert read_file(path) == read(APPROVAL)


@pytest.mark.parametrize(
    "text, is_plain",
    [
        (APPROVAL, True),
        (APPROVAL.replace("\n", "\r\n"), True),
        (APPROVAL.rstrip("\n"), True),
        ("\ufeff" + APPROVAL, True),
        (APPROVAL.replace("\n", "\r\n").replace("rule;greedy\r\n", "rule;greedy\n"), True),  # as Wieliczka 2023
        (APPROVAL.replace("Alpha", '"Alpha\nover two lines"'), False),
        (APPROVAL.replace("\n", "\r\n").replace("Alpha", '"Alpha\r\nover two lines"').rstrip("\r\n"), False),
    ],
    ids=["lf", "crlf", "no final newline", "byte order mark", "one odd line ending", "newline in a field", "all"],
)
def test_layouts_round_trip_byte_for_byte(text, is_plain):
    election = read(text)
    assert write(election) == text
    # The layout is how the file looked, not what it says: it takes no part in equality.
    assert (election == read(APPROVAL)) is is_plain


def test_blank_lines_are_skipped_wherever_they_are():
    text = "\n" + APPROVAL.replace("META\n", "META\n\n").replace("2;a,c\n", "2;a,c\n\n") + "\n\n"
    assert read(text) == read(APPROVAL)
    with pytest.raises(PabulibError) as refusal:
        read(text.replace("3;b", "3;z"))
    assert refusal.value.line == 21  # counted with the blank lines


def test_a_field_with_a_line_break_keeps_its_line_numbers_after_it():
    text = APPROVAL.replace("Alpha", '"Alpha\nover two lines"').replace("3;b", "3;z")
    with pytest.raises(PabulibError) as refusal:
        read(text)
    assert refusal.value.line == 19  # one line later than without the line break


def test_edits_are_written_with_minimal_quoting():
    election = read(APPROVAL)
    election.meta["comment"] = 'say "hi"; then leave'
    election.projects.append({"project_id": "d", "cost": "5", "votes": "0", "name": "Delta", "selected": "0"})
    text = write(election)
    assert 'comment;"say ""hi""; then leave"\nPROJECTS' in text
    assert "d;5;0;Delta;0\nVOTES" in text
    assert read(text) == election


# ---------------------------------------------------------------- from_parts


def test_from_parts_builds_a_file_that_reads_back_the_same():
    projects = [Project("p1", 3000, "Bench; park", frozenset({"parks"})), Project("p2", 5000, "Lamps")]
    election = PabulibElection.from_parts(
        {"description": "Demo", "budget": "8000"}, projects, [["p1"], ["p1", "p2"], []]
    )
    assert election.meta == {
        "description": "Demo",
        "budget": "8000",
        "num_projects": "2",
        "num_votes": "3",
        "vote_type": "approval",
    }
    again = read(write(election))
    assert again == election
    assert again.instance() == Instance(8000, tuple(projects))
    assert dict(again.profile().groups) == {frozenset({"p1"}): 1, frozenset({"p1", "p2"}): 1, frozenset(): 1}
    assert [row["votes"] for row in again.projects] == ["2", "1"]


@pytest.mark.parametrize(
    "meta, ballots, message",
    [
        ({"description": "no budget"}, [["p1"]], "META has no budget"),
        ({"budget": "10", "vote_type": "cumulative"}, [["p1"]], "approval elections only"),
        ({"budget": "10"}, [["nope"]], "voter '1' votes for 'nope', which is not in PROJECTS"),
    ],
)
def test_from_parts_refuses_what_it_cannot_write(meta, ballots, message):
    with pytest.raises(PabulibError, match=message):
        PabulibElection.from_parts(meta, [Project("p1", 5)], ballots)


def test_from_parts_refuses_a_project_id_with_a_comma():
    with pytest.raises(PabulibError, match="project id 'p,1' holds a comma"):
        PabulibElection.from_parts({"budget": "10"}, [Project("p,1", 5)], [["p,1"]])


# ---------------------------------------------------------------- decimal money (Kraków 2023-2025, Warszawa 2017-2019)

# Kraków's districts write budgets and costs with grosze: "budget;1261899.87", costs like "45000.50".
# META 1-4, PROJECTS 5-9, VOTES 10-13.
DECIMAL = """META
key;value
budget;1261899.87
vote_type;approval
PROJECTS
project_id;cost;name;selected
1;45000.50;Park;1
2;1000000;Library;1
3;300000.3;Lamps;0
VOTES
voter_id;vote
1;1,2
2;1,2
3;3,1
"""


def test_decimal_money_is_counted_exactly_in_the_smallest_unit_the_file_writes():
    instance = read(DECIMAL).instance()
    assert instance.money_exponent == 2
    assert instance.budget == 126_189_987
    assert [project.cost for project in instance.projects] == [4_500_050, 100_000_000, 30_000_030]
    # Explanations print the amounts as the file wrote them.
    assert instance.money(instance.budget) == "1,261,899.87"
    assert [instance.money(project.cost) for project in instance.projects] == ["45,000.50", "1,000,000", "300,000.30"]


@pytest.mark.parametrize(
    "budget, cost, exponent, units",
    [
        ("100000.0", "60", 0, (100_000, 60)),  # Toulouse: a zero fraction is whole
        ("100", "60.50", 1, (1_000, 605)),  # trailing zeros do not count: 60.50 needs one decimal
        ("100.125", "60", 3, (100_125, 60_000)),
        (" 100.5 ", "60.", 1, (1_005, 600)),
        ("100", ".25", 2, (10_000, 25)),
    ],
)
def test_the_unit_is_the_finest_any_amount_uses(budget, cost, exponent, units):
    election = read(election_text(APPROVAL, "budget;100", f"budget;{budget}").replace("a;60;", f"a;{cost};"))
    instance = election.instance()
    assert (election.money_exponent, instance.money_exponent) == (exponent, exponent)
    assert (instance.budget, instance.project("a").cost) == units


def test_a_decimal_file_round_trips_byte_for_byte_and_counts_as_its_own_whole_amounts():
    assert write(read(DECIMAL)) == DECIMAL
    # The same election in grosze, written whole, selects the same way.
    whole = DECIMAL.replace("1261899.87", "126189987").replace("45000.50", "4500050")
    whole = whole.replace("2;1000000;", "2;100000000;").replace("300000.3", "30000030")
    assert read(whole).instance().projects == read(DECIMAL).instance().projects


def test_a_decimal_threshold_or_points_value_is_still_refused():
    with pytest.raises(PabulibError, match="min_project_score_threshold is '2.5', not a whole number"):
        read(election_text(DECIMAL, "vote_type;approval", "vote_type;approval\nmin_project_score_threshold;2.5"))
    with pytest.raises(PabulibError, match="line 11: voter '1' gives '2.5' points to 'a', not a whole number"):
        read(election_text(CUMULATIVE, "1;a,b;3,1", "1;a,b;2.5,1"))


# ---------------------------------------------------------------- a ballot naming a project twice (Warszawa 2026)


def test_an_approval_ballot_naming_a_project_twice_counts_it_once_with_a_warning():
    # Warszawa 2026's districts have ballots like 1232,1232,1247; pabutools reads the ballot as a set.
    election = read(election_text(APPROVAL, "1;a,b", "1;a,a,b"))
    assert dict(election.profile().groups) == dict(read(APPROVAL).profile().groups)
    assert election.warnings == ["line 16: voter '1' names project 'a' twice; counted once"]


def test_one_warning_per_distinct_ballot_names_its_first_voter_and_how_many_cast_it():
    votes = "VOTES\nvoter_id;vote\n1;a,b\n2;a,c\n3;b\n"
    many = "VOTES\nvoter_id;vote\n1;a,b\n7;c,c,c\n8;b,a,b,a\n9;c,c,c\n10;c,c,c\n"
    election = read(election_text(APPROVAL, votes, many))
    assert election.warnings == [
        "line 17: voter '7' names project 'c' 3 times; counted once, here and on the 2 other ballots like it",
        "line 18: voter '8' names projects 'b' twice and 'a' twice; counted once",
    ]
    assert dict(election.profile().groups) == {frozenset("ab"): 2, frozenset("c"): 3}


def test_a_choose_one_ballot_naming_its_project_twice_is_one_choice():
    text = election_text(APPROVAL, "vote_type;approval", "vote_type;choose-1").replace("1;a,b", "1;a,a")
    election = read(text.replace("2;a,c", "2;a"))
    assert dict(election.profile().groups) == {frozenset("a"): 2, frozenset("b"): 1}
    assert election.warnings == ["line 16: voter '1' names project 'a' twice; counted once"]


def test_an_ordinal_ballot_keeps_the_first_rank_of_a_repeated_project():
    election = read(election_text(ORDINAL, "1;a,b,c", "1;a,b,a,c"))
    # b keeps second place and c moves up to third, as pabutools reads an ordinal ballot.
    assert dict(election.profile().groups)[(("a", 3), ("b", 2), ("c", 1))] == 1
    assert election.warnings == ["line 14: voter '1' names project 'a' twice; counted once"]
    # Without max_length the longest ballot sets the points, counting each project once.
    election = read(election_text(ORDINAL, "max_length;3\n", "").replace("1;a,b,c", "1;a,a,a,a,b"))
    assert dict(election.profile().groups)[(("a", 3), ("b", 2))] == 1


def test_a_ranking_longer_than_max_length_only_by_its_repeats_is_read():
    election = read(election_text(ORDINAL, "1;a,b,c", "1;a,b,c,c"))
    assert dict(election.profile().groups)[(("a", 3), ("b", 2), ("c", 1))] == 1


@pytest.mark.parametrize(
    "vote, points, counted, warning",
    [
        ("a,b,a", "3,1,3", {"a": 3, "b": 1}, "names project 'a' twice; counted once"),
        (
            "a,b,a",
            "3,1,2",
            {"a": 2, "b": 1},
            "names project 'a' twice; counted once, with the points given last",
        ),
    ],
)
def test_a_points_ballot_repeating_a_project_keeps_the_points_given_last(vote, points, counted, warning):
    # pabutools' parser stores a ballot's points by project, so the last value given to a project stands.
    election = read(election_text(CUMULATIVE, "1;a,b;3,1", f"1;{vote};{points}"))
    assert dict(election.profile().groups)[tuple(sorted(counted.items()))] == 1
    assert election.warnings == [f"line 11: voter '1' {warning}"]


def test_a_repeat_in_an_election_built_in_memory_is_noted_without_a_line():
    built = PabulibElection.from_parts({"budget": "100"}, read(APPROVAL).instance().projects, [["a", "a"]])
    assert built.warnings == ["voter '1' names project 'a' twice; counted once"]
    assert dict(built.profile().groups) == {frozenset("a"): 1}


# ---------------------------------------------------------------- quoting read as pabutools reads it


def test_a_quote_inside_an_unquoted_field_is_text():
    election = read(election_text(APPROVAL, "Gamma", 'Kino "Zorza" w parku'))
    assert election.projects[2]["name"] == 'Kino "Zorza" w parku'
    assert election.warnings == []


def test_a_field_quoted_then_continued_is_read_as_pabutools_reads_it_with_a_warning():
    # Strict CSV refuses text after a closing quote; pabutools' csv.reader (not strict) joins it to the field.
    election = read(election_text(APPROVAL, "Gamma", '"Plac" zabaw'))
    assert election.projects[2]["name"] == "Plac zabaw"
    assert election.warnings == [
        "line 13: a badly quoted field, read as pabutools reads it (Python's csv module, not strict)"
    ]
    assert election.profile() == read(APPROVAL).profile()


def test_lines_after_a_badly_quoted_field_keep_their_numbers():
    text = election_text(APPROVAL, "Alpha", '"Al"pha').replace("Gamma", '"Gam"ma').replace("3;b", "3;z")
    with pytest.raises(PabulibError) as refusal:
        read(text)
    assert str(refusal.value).startswith("line 18: voter '3' votes for 'z'")
    election = read(text.replace("3;z", "3;b"))
    assert [warning[:8] for warning in election.warnings] == ["line 11:", "line 13:"]
    assert [row["name"] for row in election.projects] == ["Alpha", 'Beta; with "quotes"', "Gamma"]


def test_a_badly_quoted_file_is_written_back_with_correct_quoting():
    election = read(election_text(APPROVAL, "Gamma", '"Plac" zabaw'))
    assert write(election) == election_text(APPROVAL, "Gamma", "Plac zabaw")


# ---------------------------------------------------------------- huge numbers


def test_huge_money_is_read_exactly():
    huge = 10**30 - 1
    instance = read(election_text(APPROVAL, "budget;100", f"budget;{huge}").replace("a;60;", f"a;{huge}.5;")).instance()
    assert (instance.budget, instance.project("a").cost, instance.money_exponent) == (huge * 10, huge * 10 + 5, 1)


def test_points_too_many_to_count_are_refused_by_the_profile_not_a_crash():
    election = read(election_text(CUMULATIVE, "1;a,b;3,1", f"1;a,b;{10**30 - 1},1"))
    with pytest.raises(TallyError, match="more than pb counts exactly"):
        election.profile()
    election.instance()


def test_a_huge_max_length_is_refused_with_where_the_points_come_from():
    election = read(election_text(ORDINAL, "max_length;3", f"max_length;{10**30}"))
    with pytest.raises(PabulibError, match="Ranked ballots score META max_length points for a first place"):
        election.profile()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("budget;100", "budget;" + "9" * 101, "line 6: META budget has 101 digits; pb reads numbers of at most 100"),
        ("budget;100", "budget;0." + "0" * 100 + "1", "line 6: META budget has 102 digits"),
        ("a;60;", "a;" + "7" * 5000 + ";", "line 11: the cost of 'a' has 5,000 digits"),
        ("rule;greedy", "max_length;" + "1" * 200, "line 8: META max_length has 200 digits"),
        ("rule;greedy", "min_project_score_threshold;" + "1" * 200, "line 8: META min_project_score_threshold has 200"),
    ],
)
def test_numbers_longer_than_any_real_file_writes_are_refused_in_one_line(old, new, message):
    with pytest.raises(PabulibError) as refusal:
        read(election_text(APPROVAL, old, new))
    assert str(refusal.value).startswith(message)
    assert "\n" not in str(refusal.value)


def test_points_with_too_many_digits_are_refused_naming_the_voter():
    with pytest.raises(PabulibError) as refusal:
        read(election_text(CUMULATIVE, "1;a,b;3,1", "1;a,b;3," + "1" * 150))
    assert str(refusal.value) == (
        "line 11: voter '1' gives 'b' a number of points that has 150 digits; pb reads numbers of at most 100 digits"
    )


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    "text, message",
    [
        (election_text(old="a;60;", new="a;abc;"), "line 11: project 'a' has cost 'abc', not an amount of money"),
        (election_text(old="a;60;", new="a;-60;"), "line 11: project 'a' has cost '-60', not an amount of money"),
        (election_text(old="a;60;", new="a;;"), "line 11: project 'a' has cost '', not an amount of money"),
        (election_text(old="a;60;", new="a;60,5;"), "line 11: project 'a' has cost '60,5', not an amount of money"),
        (election_text(old="a;60;", new="a;6e1;"), "line 11: project 'a' has cost '6e1', not an amount of money"),
        (election_text(old="a;60;", new="a;.;"), "line 11: project 'a' has cost '.', not an amount of money"),
        (election_text(old="a;60;", new="a;0.00;"), "line 11: project 'a' costs 0; a project must cost a positive"),
        (election_text(old="a;60;", new="a;0;"), "line 11: project 'a' costs 0; a project must cost a positive amount"),
        (election_text(old="a;60;", new=";60;"), "line 11: a project has an empty project_id"),
        (election_text(old="c;40;", new="a;40;"), "line 13: project 'a' appears twice (first on line 11)"),
        (election_text(old="budget;100\n"), "line 1: META has no budget"),
        (election_text(old="budget;100", new="budget;-100"), "line 6: META budget is '-100', not an amount of money"),
        (election_text(old="budget;100", new="budget;"), "line 6: META budget is '', not an amount of money"),
        (election_text(old="budget;100", new="budget;lots"), "line 6: META budget is 'lots', not an amount of money"),
        (
            election_text(old="budget;100", new="budget;1" + "0" * 100),
            "line 6: META budget has 101 digits; pb reads numbers of at most 100 digits",
        ),
        (
            election_text(old="rule;greedy", new="min_project_score_threshold;2.5"),
            "line 8: META min_project_score_threshold is '2.5', not a whole number",
        ),
        (election_text(old="vote_type;approval\n"), "line 1: META has no vote_type"),
        (
            election_text(old="vote_type;approval", new="vote_type;ranked"),
            "line 7: META vote_type is 'ranked'; pabulib knows approval, choose-1, cumulative, scoring, ordinal",
        ),
        (
            election_text(old="rule;greedy", new="min_project_score_threshold;lots"),
            "line 8: META min_project_score_threshold is 'lots', not a whole number",
        ),
        (election_text(old="num_votes;3", new="budget;7"), "line 6: META has 'budget' twice"),
        (
            election_text(old="key;value", new="name;value"),
            "line 2: the META header must be 'key;value', not 'name;value'",
        ),
        (
            election_text(old="a;60;2;Alpha;1", new="a;60;2;Alpha"),
            "line 11: PROJECTS rows have 5 fields (project_id;cost;votes;name;selected); this one has 4",
        ),
        (
            election_text(old="3;b", new="3;b;extra"),
            "line 18: VOTES rows have 2 fields (voter_id;vote); this one has 3",
        ),
        (election_text(old="description;Test", new="description;Test;more"), "line 3: META rows have 2 fields"),
        (
            election_text(old="project_id;cost;", new="id;cost;"),
            "line 10: the PROJECTS header has no project_id column",
        ),
        (election_text(old="voter_id;vote", new="voter_id;ballot"), "line 15: the VOTES header has no vote column"),
        (
            election_text(old="votes;name", new="votes;votes"),
            "line 10: the PROJECTS header has the column 'votes' twice",
        ),
        (election_text(old="votes;name", new="votes;"), "line 10: the PROJECTS header has an empty column name"),
        (election_text(old="3;b", new="3;z"), "line 18: voter '3' votes for 'z', which is not in PROJECTS"),
        (election_text(old="1;a,b", new="1;a,a,z"), "line 16: voter '1' votes for 'z', which is not in PROJECTS"),
        (election_text(old="3;b", new="1;b"), "line 18: voter '1' appears twice (first on line 16)"),
        (election_text(old="3;b", new=";b"), "line 18: a voter has an empty voter_id"),
        (
            election_text(old="vote_type;approval", new="vote_type;choose-1"),
            "line 16: voter '1' chooses 2 projects in a choose-1 vote",
        ),
        (
            election_text(old="vote_type;approval", new="vote_type;ordinal\nmax_length;1"),
            "line 17: voter '1' ranks 2 projects but META max_length is 1",
        ),
        (
            election_text(old="VOTES\nvoter_id;vote\n1;a,b\n2;a,c\n3;b\n"),
            "line 14: the file ends without a VOTES section",
        ),
        (
            election_text(old="VOTES\nvoter_id;vote\n1;a,b\n2;a,c\n3;b\n", new="VOTES\n"),
            "line 15: the VOTES section has no header",
        ),
        (election_text(old="3;b\n", new="3;b\nMETA\n"), "line 19: a second META section (the first starts on line 1)"),
        (election_text(old="META\n", new="Hello there\n"), "line 1: expected a section name (META, PROJECTS or VOTES)"),
        ("", "line 1: the file is empty"),
        ("\n\n", "line 1: the file is empty"),
        # A quote never closed swallows the rest of the file into one field: the row then lacks fields.
        (
            election_text(old='"Beta; with ""quotes"""', new='"Beta'),
            "line 12: PROJECTS rows have 5 fields (project_id;cost;votes;name;selected); this one has 4 "
            "(line 12 has a badly quoted field)",
        ),
        (
            election_text(old="a;60;2;Alpha;1", new='a;60;2;"Alpha;1'),
            "line 11: PROJECTS rows have 5 fields (project_id;cost;votes;name;selected); this one has 6 "
            "(line 11 has a badly quoted field)",
        ),
        (
            election_text(old="2;a,c", new='2;"a,c'),
            "line 17: voter '2' votes for 'c\\n3;b', which is not in PROJECTS (line 17 has a badly quoted field)",
        ),
        (
            election_text(old="num_votes;3", new='num_votes;"3'),
            "line 5: META rows have 2 fields (key;value); this one has 4 (line 5 has a badly quoted field)",
        ),
        (
            election_text(old="Gamma", new="Gam\rma"),
            "line 13: badly quoted field (a carriage return inside an unquoted field)",
        ),
    ],
    ids=lambda value: value if len(value) < 40 and "\n" not in value else None,
)
def test_malformed_files_are_refused_with_the_line(text, message):
    with pytest.raises(PabulibError) as refusal:
        read(text)
    assert str(refusal.value).startswith(message)
    assert isinstance(refusal.value, TallyError)


@settings(max_examples=300, deadline=None)
@given(
    base=st.sampled_from([APPROVAL, CUMULATIVE, ORDINAL]),
    edits=st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=1),
            st.integers(min_value=0, max_value=4),
            st.sampled_from([";", '"', ",", "\n", "\r", "\r\n", "a", "1", "-", ".", " ", "META", "VOTES", "é", ""]),
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_damaged_file_reads_or_is_refused_with_a_line_never_a_crash(base, edits):
    text = base
    for where, deleted, inserted in edits:
        position = int(where * len(text))
        text = text[:position] + inserted + text[position + deleted :]
    try:
        election = read(text)
    except PabulibError as refusal:
        assert refusal.line is not None and refusal.line >= 1
        return
    election.instance()
    election.profile()
    assert read(write(election)) == election


def test_a_file_without_projects_is_refused_at_the_line_it_ends():
    lines = APPROVAL.splitlines(keepends=True)
    text = "".join(lines[:8] + lines[13:])  # META, then VOTES straight away
    with pytest.raises(PabulibError) as refusal:
        read(text)
    assert str(refusal.value).startswith("line 14: the file ends without a PROJECTS section")


@pytest.mark.parametrize(
    "text, message",
    [
        (
            election_text(CUMULATIVE, "1;a,b;3,1", "1;a,b;3"),
            "line 11: voter '1' votes for 2 project(s) but gives 1 points value(s)",
        ),
        (
            election_text(CUMULATIVE, "1;a,b;3,1", "1;a,b;3,x"),
            "line 11: voter '1' gives 'x' points to 'b', not a whole number of at least 0",
        ),
        (
            election_text(CUMULATIVE, "2;a;2", "2;a;-2"),
            "line 12: voter '2' gives '-2' points to 'a', not a whole number of at least 0",
        ),
        (
            election_text(CUMULATIVE, "voter_id;vote;points", "voter_id;vote;pts"),
            "line 10: the VOTES header has no points column, which cumulative votes need",
        ),
    ],
)
def test_malformed_points_are_refused_with_the_line(text, message):
    with pytest.raises(PabulibError) as refusal:
        read(text)
    assert str(refusal.value) == message


def test_bytes_that_are_not_utf8_are_refused_with_their_line():
    data = APPROVAL.encode("utf-8").replace(b"Gamma", b"Gamm\xe9")
    with pytest.raises(PabulibError) as refusal:
        read(data)
    assert str(refusal.value) == "line 13: the file is not UTF-8 text (byte 0xe9)"
    assert (refusal.value.line, refusal.value.problem) == (13, "the file is not UTF-8 text (byte 0xe9)")


def test_an_edited_election_is_refused_without_a_line():
    election = read(APPROVAL)
    election.votes.append({"voter_id": "4", "vote": "nowhere"})
    with pytest.raises(PabulibError) as refusal:
        election.profile()
    assert str(refusal.value) == "voter '4' votes for 'nowhere', which is not in PROJECTS"
    assert refusal.value.line is None
    with pytest.raises(PabulibError, match="voter '4'"):
        election.check()
