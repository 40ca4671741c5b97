"""The `pb-tally` command: tables, JSON, explanations, the file's own rule, and one-line refusals with exit 2."""

import json
import os
import signal
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest

from pb.domain.tally import LEXICOGRAPHIC, RULES, run_rule, seeded_tie_break
from pb.domain.tally.pabulib import read
from pb.tally_cli import main

DATA = Path(__file__).resolve().parent / "data"
REPOSITORY = Path(__file__).resolve().parents[1]

# Greedy by hand: a (3 votes, 60) fits in 100 and leaves 40; b (2 votes, 50) does not fit; c (1 vote, 40) does.
CITY = """META
key;value
description;Hand-counted city
budget;100
vote_type;approval
rule;{rule}
PROJECTS
project_id;cost;votes;name;selected
a;60;3;Alpha park;1
b;50;2;Beta library;0
c;40;1;Gamma lamps;1
VOTES
voter_id;vote
1;a,b
2;a,b
3;a,c
"""


@pytest.fixture
def city_file(tmp_path):
    """Write the hand-counted city with the given META rule (and, optionally, other text replaced)."""

    def write(rule: str = "greedy", old: str = "", new: str = "") -> str:
        path = tmp_path / "city.pb"
        path.write_text(CITY.format(rule=rule).replace(old, new), encoding="utf-8")
        return str(path)

    return write


def tally(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def tally_json(capsys, *argv: str) -> dict:
    status, out, err = tally(capsys, *argv, "--json")
    assert (status, err) == (0, "")
    return json.loads(out)


def test_the_table_lists_funded_projects_in_order_then_the_rest(capsys, city_file):
    status, out, err = tally(capsys, city_file())
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "Rule: greedy (the file's rule: greedy)"
    assert lines[1] == "Tie-break: lower cost, then more votes, then lottery (seed 0)"
    table = lines[lines.index("") + 1 :]
    assert table[0].split() == ["#", "project", "name", "cost", "votes", "selected"]
    assert table[1].split() == ["1", "a", "Alpha", "park", "60", "3", "yes"]
    assert table[2].split() == ["2", "c", "Gamma", "lamps", "40", "1", "yes"]
    assert table[3].split() == ["b", "Beta", "library", "50", "2", "no"]
    assert "Budget 100, spent 100, left 0." in lines
    assert "2 of 3 projects funded; 3 voters." in lines
    assert lines[-1] == "Matches the published selection (2 projects)."


def test_a_different_selection_names_the_differences(capsys, city_file):
    status, out, _ = tally(capsys, city_file(old="b;50;2;Beta library;0", new="b;50;2;Beta library;1"))
    assert status == 0
    assert out.splitlines()[-3:] == [
        "Differs from the published selection:",
        "  funded by the city, not by pb: b",
        "  The city's selection costs 150, more than the budget of 100: the city added money, so no count within the "
        "budget gives its selection.",
    ]


def test_a_tie_the_city_broke_otherwise_is_explained_with_what_reproduces_it(capsys, city_file):
    # b and c now tie on 2 votes, and only one of them fits beside a: pb's default funds the cheaper c, the city b.
    path = city_file(old="3;a,c", new="3;a,c\n4;c")
    path = Path(path)
    path.write_text(
        path.read_text(encoding="utf-8").replace("b;50;2;Beta library;0", "b;40;2;Beta library;1")
        .replace("c;40;1;Gamma lamps;1", "c;35;2;Gamma lamps;0"),
        encoding="utf-8",
    )
    status, out, _ = tally(capsys, str(path))
    assert status == 0
    assert out.splitlines()[-5:] == [
        "Differs from the published selection:",
        "  funded by pb, not by the city: c",
        "  funded by the city, not by pb: b",
        "  A tie (b with c (2 votes each)) was broken otherwise than by pb's tie-break (lower cost, then more votes, "
        "then lottery (seed 0)): greedy with ties broken in favour of the projects the city funded gives the city's "
        "selection.",
        "  --tie-break lexicographic reproduces it.",
    ]
    assert tally_json(capsys, str(path), "--tie-break", "lexicographic")["mismatch"] == []
    assert tally_json(capsys, str(path))["mismatch"][1] == "--tie-break lexicographic reproduces it."
    # Another rule than the file's differs for that reason alone: the difference is listed, not looked into.
    assert tally_json(capsys, str(path), "--rule", "greedy")["mismatch"] is None
    status, out, _ = tally(capsys, str(path), "--rule", "greedy")
    assert out.splitlines()[-1] == "  funded by the city, not by pb: b"


def test_json_has_the_outcome_and_the_comparison(capsys, city_file):
    document = tally_json(capsys, city_file())
    assert document["rule"] == "greedy"
    assert document["tie_break"] == "default"
    assert document["selected"] == ["a", "c"]
    assert (document["spent"], document["budget"], document["left"], document["voters"]) == (100, 100, 0, 3)
    assert document["parameters"]["seed"] == "0"
    assert document["matches_published"] is True
    assert document["published_selected"] == ["a", "c"]
    assert document["votes"] == {"a": 3, "b": 2, "c": 1}
    assert document["notes"] == []


@pytest.mark.parametrize(
    "old, new, matches",
    [
        ("", "", True),
        ("b;50;2;Beta library;0", "b;50;2;Beta library;1", False),
        (";selected", "", None),
    ],
)
def test_json_says_whether_the_published_selection_matches(capsys, city_file, old, new, matches):
    path = city_file(old=old, new=new)
    if matches is None:
        Path(path).write_text(Path(path).read_text().replace(";1\n", "\n").replace(";0\n", "\n"))
    assert tally_json(capsys, path)["matches_published"] is matches


@pytest.mark.parametrize(
    "file_rule, expected_rule",
    [
        ("greedy", "greedy"),
        ("equalshares", "mes"),
        ("equalshares/add1", "mes-add1-no-completion"),
    ],
)
def test_auto_runs_the_rule_the_file_names(capsys, city_file, file_rule, expected_rule):
    document = tally_json(capsys, city_file(file_rule))
    assert document["rule"] == expected_rule
    assert document["file_rule"] == file_rule
    assert document["notes"] == []


@pytest.mark.parametrize(
    "file_rule, why",
    [
        ("unknown", " (the city's rule is not known)"),
        ("greedy-exclusive", " (greedy in which some projects exclude each other, which the file does not record)"),
        ("greedy-custom", " (the city's own variant of greedy, described in the file's comment)"),
        ("borda-someday", ""),
    ],
)
def test_auto_falls_back_to_greedy_and_says_so(capsys, city_file, file_rule, why):
    status, out, _ = tally(capsys, city_file(file_rule))
    assert status == 0
    note = f"The file's rule is {file_rule!r}{why}, which pb does not run; counted with greedy."
    assert out.splitlines()[:3] == ["Rule: greedy", "Tie-break: lower cost, then more votes, then lottery (seed 0)", note]
    assert tally_json(capsys, city_file(file_rule))["notes"] == [note]


def test_auto_honours_a_threshold_given_beside_rule_greedy(capsys, city_file):
    # c has 1 vote, under the file's minimum of 2: greedy-threshold leaves it out, as pabulib's own checker reads it.
    document = tally_json(capsys, city_file(old="rule;greedy", new="rule;greedy\nmin_project_score_threshold;2"))
    assert (document["rule"], document["selected"]) == ("greedy-threshold", ["a"])
    assert document["notes"] == [
        "The file's rule is greedy and it gives min_project_score_threshold 2; counted with greedy-threshold."
    ]
    assert document["mismatch"][0].startswith("--rule greedy reproduces the city's selection.")
    unknown = tally_json(capsys, city_file("unknown", old="rule;unknown", new="rule;unknown\nmin_project_score_threshold;2"))
    assert unknown["rule"] == "greedy-threshold"
    plain = tally_json(capsys, city_file(old="rule;greedy", new="rule;greedy\nmin_project_score_threshold;0"))
    assert (plain["rule"], plain["notes"]) == ("greedy", [])


def test_auto_without_a_rule_in_the_file_uses_greedy(capsys, city_file):
    document = tally_json(capsys, city_file(old="rule;greedy\n", new=""))
    assert document["rule"] == "greedy"
    assert document["notes"] == ["The file names no rule; counted with greedy."]


def test_auto_falls_back_when_the_named_rule_is_not_installed(capsys, city_file, monkeypatch):
    # A copy, not RULES itself: restoring a deleted key would move it to the end of the shared registry.
    monkeypatch.setattr("pb.tally_report.RULES", {name: rule for name, rule in RULES.items() if name != "mes"})
    document = tally_json(capsys, city_file("equalshares"))
    assert document["rule"] == "greedy"
    assert document["notes"] == ["The file's rule 'equalshares' (mes) is not installed; counted with greedy."]


@pytest.mark.parametrize("rule", sorted(RULES))
def test_every_registered_rule_can_be_asked_for(capsys, city_file, rule):
    path = city_file()
    election = read(Path(path).read_text())
    expected = run_rule(rule, election.instance(), election.profile(), tie_break=LEXICOGRAPHIC)
    document = tally_json(capsys, path, "--rule", rule, "--tie-break", "lexicographic")
    assert document["rule"] == expected.rule
    assert document["selected"] == list(expected.selected)
    assert document["tie_break"] == "lexicographic"
    assert document["tie_break_description"] == "lexicographic (by project id)"


def test_the_seed_reaches_the_tie_break(capsys, city_file):
    path = city_file()
    document = tally_json(capsys, path, "--seed", "42")
    election = read(Path(path).read_text())
    expected = run_rule("greedy", election.instance(), election.profile(), tie_break=seeded_tie_break(42))
    assert document["parameters"] == expected.parameters
    assert document["parameters"]["seed"] == "42"


@pytest.mark.parametrize("project_id, status", [("a", "funded (position 1)"), ("b", "not funded")])
def test_explain_prints_the_project_explanation(capsys, city_file, project_id, status):
    path = city_file()
    election = read(Path(path).read_text())
    expected = run_rule("greedy", election.instance(), election.profile()).projects[project_id]
    code, out, err = tally(capsys, path, "--explain", project_id)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert status in lines[-2]
    assert lines[-2].startswith(f"Project {project_id} (")
    assert lines[-1] == expected.explanation
    assert "selected" not in out  # the explanation replaces the table


def test_explain_with_json_adds_the_explanation(capsys, city_file):
    document = tally_json(capsys, city_file(), "--explain", "b")
    explanation = document["explanation"]
    assert (explanation["project_id"], explanation["name"], explanation["cost"]) == ("b", "Beta library", 50)
    assert (explanation["votes"], explanation["is_selected"]) == (2, False)
    assert "40" in explanation["explanation"]  # 40 was left when b's turn came


def test_points_ballots_show_points(capsys):
    status, out, _ = tally(capsys, str(DATA / "Switzerland_Zurich_D10.pb"), "--rule", "greedy")
    assert status == 0
    header = next(line for line in out.splitlines() if line.lstrip().startswith("#"))
    assert header.split()[4] == "points"


def test_a_real_file_runs_with_its_published_selection(capsys):
    document = tally_json(capsys, str(DATA / "Netherlands_Assen_2025.pb"), "--rule", "greedy")
    assert document["voters"] == 332
    assert document["budget"] == 100_000
    assert document["spent"] <= document["budget"]
    assert len(document["published_selected"]) == 13
    assert isinstance(document["matches_published"], bool)


# ---------------------------------------------------------------- refusals


def one_line_refusal(capsys, *argv: str) -> str:
    status, out, err = tally(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("pb-tally: ")
    assert "Traceback" not in err
    return err.strip()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["missing.pb"], "pb-tally: cannot read missing.pb: No such file or directory"),
        ([], "pb-tally: the following arguments are required: FILE"),
        (["{file}", "--rule", "borda"], "pb-tally: argument --rule: invalid choice: 'borda'"),
        (["{file}", "--tie-break", "coin"], "pb-tally: argument --tie-break: invalid choice: 'coin'"),
        (["{file}", "--seed", "seven"], "pb-tally: argument --seed: invalid int value: 'seven'"),
        (["{file}", "--tie-break", "lexicographic", "--seed", "3"], "pb-tally: --seed applies to the default"),
        (["{file}", "--explain", "zz"], "pb-tally: project 'zz' is not in {file}"),
        (["{file}", "--colour"], "pb-tally: unrecognized arguments: --colour"),
    ],
)
def test_bad_command_lines_exit_2_with_one_line(capsys, city_file, argv, message):
    file = city_file()
    error = one_line_refusal(capsys, *(argument.format(file=file) for argument in argv))
    assert error.startswith(message.format(file=file))


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("a;60;", "a;6o;", "line 9: project 'a' has cost '6o', not an amount of money"),
        ("3;a,c", "3;a,z", "line 16: voter '3' votes for 'z', which is not in PROJECTS"),
        ("budget;100\n", "", "line 1: META has no budget"),
        ("VOTES\n", "", "line 12: PROJECTS rows have 5 fields"),
    ],
)
def test_a_bad_file_exits_2_with_the_line(capsys, city_file, old, new, message):
    file = city_file(old=old, new=new)
    assert one_line_refusal(capsys, file).startswith(f"pb-tally: {file}: {message}")


def test_a_directory_is_not_a_file(capsys, tmp_path):
    assert one_line_refusal(capsys, str(tmp_path)) == f"pb-tally: cannot read {tmp_path}: Is a directory"


# ---------------------------------------------------------------- as a program


def run_program(*argv: str, stdin: bytes = b"") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pb.tally_cli", *argv],
        input=stdin,
        check=False,
        capture_output=True,
        cwd=REPOSITORY,
        timeout=120,
    )


def test_standard_input_is_read_with_a_dash():
    result = run_program("-", "--json", stdin=CITY.format(rule="greedy").encode("utf-8"))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["selected"] == ["a", "c"]


def test_bad_bytes_on_standard_input_exit_2_without_a_traceback():
    data = CITY.format(rule="greedy").encode("utf-8").replace(b"Gamma", b"Gamm\xe9")
    result = run_program("-", stdin=data)
    assert result.returncode == 2
    assert result.stdout == b""
    assert result.stderr.decode() == "pb-tally: -: line 11: the file is not UTF-8 text (byte 0xe9)\n"


def test_the_program_prints_its_help():
    result = run_program("--help")
    assert result.returncode == 0
    assert b"--explain PROJECT_ID" in result.stdout
    # argparse wraps the help text (even at hyphens), so compare with the white space taken out.
    squashed = "".join(result.stdout.decode().split())
    assert ",".join(RULES) in squashed


def test_a_reader_that_stops_early_gets_no_traceback():
    process = subprocess.Popen(
        [sys.executable, "-m", "pb.tally_cli", str(DATA / "Netherlands_Assen_2025.pb"), "--rule", "greedy"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPOSITORY,
    )
    process.stdout.close()  # like `pb-tally FILE | head` once head has had enough
    assert process.wait(timeout=120) == 1
    assert process.stderr.read() == b""
    process.stderr.close()


@pytest.mark.parametrize("name", [
    "Netherlands_Assen_2024.pb", "Netherlands_Assen_2025.pb", "Poland_Swiecie_2023.pb",
    "Poland_Wieliczka_2023_Green_Budget.pb",
])
def test_each_city_file_run_with_its_own_rule_reproduces_the_published_winners(capsys, name):
    path = Path(__file__).resolve().parent / "data" / name
    assert main([str(path), "--rule", "auto", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["matches_published"] is True, document["selected"]


def test_points_too_large_to_add_exactly_are_refused_with_a_message(capsys, tmp_path):
    # Equal Shares adds voters' points in floating point, exactly only below 2**53 in all; far beyond any real ballot.
    file = tmp_path / "huge.pb"
    file.write_text(
        "META\nkey;value\ndescription;huge points\nnum_projects;2\nnum_votes;2\nbudget;100\nvote_type;cumulative\n"
        "PROJECTS\nproject_id;cost\n1;60\n2;50\nVOTES\nvoter_id;vote;points\n1;1,2;9000000000000000,1\n2;2;5\n",
        encoding="utf-8",
    )
    for rule in ("mes", "mes-add1"):
        error = one_line_refusal(capsys, str(file), "--rule", rule)
        assert "Equal Shares cannot count this election exactly" in error and "9,000,000,000,000,000" in error
    status, out, _ = tally(capsys, str(file), "--rule", "greedy")  # counting votes needs no such sum
    assert status == 0 and "9,000,000,000,000,000" in out


# ---------------------------------------------------------------- reader: every file pabutools reads (issue 21)

# Kraków 2023-2025's districts write money with grosze ("budget;1261899.87"); voter 3 names project c twice, as
# Warszawa 2026's districts do ("1232,1232,1247"). Greedy funds a (45,000.50) and b (1,000,000), then c does not fit.
KRAKOW = """META
key;value
budget;1261899.87
vote_type;approval
rule;greedy
PROJECTS
project_id;cost;votes;name;selected
a;45000.50;3;Park;1
b;1000000;2;Library;1
c;300000.3;1;Lamps;0
VOTES
voter_id;vote
1;a,b
2;a,b
3;c,a,c
"""


@pytest.fixture
def krakow_file(tmp_path):
    def write(old: str = "", new: str = "") -> str:
        path = tmp_path / "krakow.pb"
        path.write_text(KRAKOW.replace(old, new), encoding="utf-8")
        return str(path)

    return write


WARNING_C = "line 15: voter '3' names project 'c' twice; counted once"


def test_decimal_money_prints_as_the_file_wrote_it(capsys, krakow_file):
    file = krakow_file()
    status, out, err = tally(capsys, file)
    assert status == 0
    assert err == f"pb-tally: warning: {file}: {WARNING_C}\n"
    lines = out.splitlines()
    table = lines[lines.index("") + 1 :]
    assert table[1].split() == ["1", "a", "Park", "45,000.50", "3", "yes"]
    assert table[2].split() == ["2", "b", "Library", "1,000,000", "2", "yes"]
    assert table[3].split() == ["c", "Lamps", "300,000.30", "1", "no"]
    assert "Budget 1,261,899.87, spent 1,045,000.50, left 216,899.37." in lines
    assert lines[-1] == "Matches the published selection (2 projects)."


def test_decimal_money_in_explanations(capsys, krakow_file):
    status, out, _ = tally(capsys, krakow_file(), "--explain", "c")
    assert status == 0
    assert out.splitlines()[3] == "Project c (Lamps): costs 300,000.30, 1 votes, not funded."
    assert "216,899.37" in out and "21,689,937" not in out  # what was left, in złoty, not grosze
    status, out, _ = tally(capsys, krakow_file(), "--explain", "a", "--rule", "mes")
    assert status == 0
    assert "costs 45,000.50" in out and "Each supporter paid at most 15,000.17." in out


def test_decimal_money_in_json_is_exact_decimal_text_with_its_decimals(capsys, krakow_file):
    status, out, _ = tally(capsys, krakow_file(), "--json", "--explain", "a")
    assert status == 0
    document = json.loads(out)
    assert (document["budget"], document["spent"], document["left"]) == ("1261899.87", "1045000.50", "216899.37")
    assert document["money_decimals"] == 2
    assert document["explanation"]["cost"] == "45000.50"
    assert document["warnings"] == [WARNING_C]


def test_whole_money_in_json_stays_integers_without_a_decimals_field(capsys, city_file):
    document = tally_json(capsys, city_file())
    assert (document["budget"], document["spent"], document["left"]) == (100, 100, 0)
    assert "money_decimals" not in document
    assert document["warnings"] == []


def test_toulouse_zero_fractions_are_whole_money(capsys, city_file):
    document = tally_json(capsys, city_file(old="budget;100", new="budget;100.0"))
    assert document["budget"] == 100 and "money_decimals" not in document


def test_a_repeated_project_warns_once_per_ballot_naming_how_many_cast_it(capsys, krakow_file):
    file = krakow_file(old="3;c,a,c\n", new="3;c,a,c\n4;c,a,c\n5;c,a,c\n")
    status, out, err = tally(capsys, file, "--json")
    assert status == 0
    warning = "line 15: voter '3' names project 'c' twice; counted once, here and on the 2 other ballots like it"
    assert err == f"pb-tally: warning: {file}: {warning}\n"
    document = json.loads(out)
    assert document["warnings"] == [warning]
    assert document["votes"]["c"] == 3  # each voter counted once


def test_a_badly_quoted_field_is_read_as_pabutools_reads_it_with_a_warning(capsys, krakow_file):
    file = krakow_file(old="Lamps", new='"Plac" zabaw')
    status, out, err = tally(capsys, file, "--json", "--explain", "c")
    assert status == 0
    assert err.splitlines()[0] == (
        f"pb-tally: warning: {file}: line 10: a badly quoted field, read as pabutools reads it "
        "(Python's csv module, not strict)"
    )
    assert json.loads(out)["explanation"]["name"] == "Plac zabaw"


def test_a_quote_inside_a_field_is_text(capsys, krakow_file):
    status, out, err = tally(capsys, krakow_file(old="Lamps", new='Kino "Zorza" w parku'), "--explain", "c")
    assert status == 0 and 'Project c (Kino "Zorza" w parku)' in out
    assert "badly quoted" not in err


def test_a_quote_never_closed_is_still_refused_in_one_line(capsys, krakow_file):
    file = krakow_file(old="a;45000.50;3;Park;1", new='a;45000.50;3;"Park;1')
    assert one_line_refusal(capsys, file) == (
        f"pb-tally: {file}: line 8: PROJECTS rows have 5 fields (project_id;cost;votes;name;selected); "
        "this one has 4 (line 8 has a badly quoted field)"
    )


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("a;45000.50;", "a;-45000.50;", "line 8: project 'a' has cost '-45000.50', not an amount of money"),
        ("a;45000.50;", "a;;", "line 8: project 'a' has cost '', not an amount of money"),
        ("a;45000.50;", "a;45000,50;", "line 8: project 'a' has cost '45000,50', not an amount of money"),
        ("budget;1261899.87", "budget;-1", "line 3: META budget is '-1', not an amount of money"),
        ("budget;1261899.87", "budget;", "line 3: META budget is '', not an amount of money"),
        ("budget;1261899.87", "budget;1.2.3", "line 3: META budget is '1.2.3', not an amount of money"),
        ("rule;greedy", "min_project_score_threshold;2.5", "line 5: META min_project_score_threshold is '2.5'"),
    ],
)
def test_bad_money_is_still_refused_in_one_line(capsys, krakow_file, old, new, message):
    file = krakow_file(old=old, new=new)
    assert one_line_refusal(capsys, file).startswith(f"pb-tally: {file}: {message}")


# Huge numbers in each field, with every rule: an exact result or a one-line refusal, never a traceback.
HUGE = 10**30 - 1
CUMULATIVE_CITY = """META
key;value
budget;100
vote_type;cumulative
PROJECTS
project_id;cost
a;60
b;50
c;40
VOTES
voter_id;vote;points
1;a,b;{points}
2;a,b;1,1
3;a,c;2,3
"""
ORDINAL_CITY = CUMULATIVE_CITY.replace("cumulative", "ordinal\nmax_length;{max_length}").replace(";points", "")
ORDINAL_CITY = ORDINAL_CITY.replace(";{points}", "").replace(";1,1", "").replace(";2,3", "")
HUGE_FILES = {
    "budget": CITY.format(rule="greedy").replace("budget;100", f"budget;{HUGE}"),
    "cost": CITY.format(rule="greedy").replace("a;60;", f"a;{HUGE};"),
    "budget and costs": CITY.format(rule="greedy")
    .replace("budget;100", f"budget;{10**40}")
    .replace("a;60;", f"a;{6 * 10**39};")
    .replace("b;50;", f"b;{5 * 10**39};"),
    # 100 digits each, the most the reader takes: counted in units of 10**-100, amounts reach 10**200 units.
    "decimals": CITY.format(rule="greedy")
    .replace("budget;100", "budget;" + "9" * 100)
    .replace("a;60;", "a;" + "9" * 99 + ".1;")
    .replace("c;40;", "c;." + "0" * 99 + "1;"),
    "threshold": CITY.format(rule="greedy-threshold").replace("rule;", f"min_project_score_threshold;{HUGE}\nrule;"),
    "points": CUMULATIVE_CITY.format(points=f"{HUGE},2"),
    "points adding up beyond 64 bits": CUMULATIVE_CITY.format(points=f"{2**62},{2**62}"),
    "points Equal Shares cannot add exactly": CUMULATIVE_CITY.format(points=f"{10**16},1"),
    "max_length": ORDINAL_CITY.format(max_length=10**30),
    "a budget of 101 digits": CITY.format(rule="greedy").replace("budget;100", "budget;" + "9" * 101),
}
# Budgets huge beside the costs: Add1 may raise the budget step by step for a very long time (issue 21, the add1
# work); those runs go to a child process that is stopped after ADD1_SECONDS.
HUGE_BUDGETS = {"budget", "budget and costs", "decimals"}
ADD1_RULES = {"mes-add1", "mes-add1-comparison"}
ADD1_SECONDS = 60  # a hang guard, not a timing: these finish in under a second


def _tally_in_a_child(argv: list[str], seconds: float) -> tuple[int, str, str] | None:
    """pb-tally run as its own process group, killed whole after seconds (then None): nothing is left behind."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pb.tally_cli", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPOSITORY,
        start_new_session=True,
    )
    try:
        out, err = process.communicate(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("case", list(HUGE_FILES))
def test_huge_numbers_give_an_exact_result_or_one_line_never_a_traceback(capsys, tmp_path, case, rule):
    file = tmp_path / "huge.pb"
    file.write_text(HUGE_FILES[case], encoding="utf-8")
    argv = [str(file), "--rule", rule, "--json"]
    if rule in ADD1_RULES and case in HUGE_BUDGETS:
        result = _tally_in_a_child(argv, ADD1_SECONDS)
        assert result is not None, f"{rule} did not finish in {ADD1_SECONDS} s on a huge budget"
        status, out, err = result
    else:
        status, out, err = tally(capsys, *argv)
    assert "Traceback" not in err
    if status == 2:
        assert out == "" and err.count("\n") == 1 and err.startswith("pb-tally: ") and str(file) in err, err
        return
    assert (status, err) == (0, "")
    document = json.loads(out)
    assert set(document["selected"]) <= {"a", "b", "c"}, document
    # Exact amounts: integers, or decimal texts that Fraction reads without rounding (Decimal would, at 28 digits).
    spent, budget = Fraction(document["spent"]), Fraction(document["budget"])
    assert 0 <= spent <= budget and Fraction(document["left"]) == budget - spent


@pytest.mark.parametrize(
    "case, message",
    [
        ("points", "The ballots give 1,000,000,000,000,000,000,000,000,000,008 points in all, more than pb counts"),
        ("points adding up beyond 64 bits", "The ballots give 9,223,372,036,854,775,815 points in all"),
        ("max_length", "Ranked ballots score META max_length points for a first place."),
        ("a budget of 101 digits", "line 4: META budget has 101 digits; pb reads numbers of at most 100 digits"),
    ],
)
def test_numbers_no_rule_can_count_are_refused_whatever_the_rule(capsys, tmp_path, case, message):
    file = tmp_path / "huge.pb"
    file.write_text(HUGE_FILES[case], encoding="utf-8")
    for rule in ("greedy", "phragmen"):
        assert message in one_line_refusal(capsys, str(file), "--rule", rule)


@pytest.mark.parametrize(
    "case, rule, selected",
    [
        ("budget", "greedy", ["a", "b", "c"]),
        ("cost", "greedy", ["b", "c"]),
        ("budget and costs", "greedy-no-skip", ["a"]),  # b does not fit and stops the count
        ("threshold", "greedy-threshold", []),
    ],
)
def test_huge_money_and_thresholds_are_counted_exactly(capsys, tmp_path, case, rule, selected):
    file = tmp_path / "huge.pb"
    file.write_text(HUGE_FILES[case], encoding="utf-8")
    assert tally_json(capsys, str(file), "--rule", rule)["selected"] == selected


# --- the files in ../shared/pabulib: what --rule auto reproduces, and how it explains the one it does not
SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "pabulib"
SHARED_FILES = sorted(SHARED.glob("*.pb"))


@pytest.mark.skipif(not SHARED_FILES, reason="needs ../shared/pabulib beside the repository")
def test_auto_reproduces_every_shared_file_but_budapest_and_explains_budapest(capsys):
    reproduced, differing = [], {}
    for path in SHARED_FILES:
        document = tally_json(capsys, str(path))
        if document["matches_published"]:
            reproduced.append(path.stem)
            assert document["mismatch"] == []
        elif document["matches_published"] is False:
            differing[path.stem] = document["mismatch"]
    assert len(reproduced) == 10, reproduced
    assert list(differing) == ["Hungary_Budapest_2024"]
    finding, comment = differing["Hungary_Budapest_2024"]
    assert finding.startswith("The city did not fund 587 (8,512 votes, costing 50,000,000) though it fitted in the ")
    assert "no greedy count of these ballots gives the city's selection" in finding
    assert comment.startswith("The file's comment: #1: Each voter could approve at most 3 projects in each category.")
