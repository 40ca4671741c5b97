"""pb-tally starts light: the domain imports no Flask, --help imports no engine, and the bench times whole processes.

Each check runs in a fresh interpreter, since this test process has long imported everything; none asserts on
seconds (bench/tally.py --processes measures those).
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pb.domain.tally import RULES
from pb.tally_cli import RULE_NAMES

REPOSITORY = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
SMALL_FILE = "Netherlands_Assen_2024"


def modules_after(code: str) -> set[str]:
    """The modules a fresh interpreter holds after running code (which may print to standard output)."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    finished = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPOSITORY, check=True
    )
    return set(json.loads(finished.stdout.splitlines()[-1]))


def engine_modules(modules: set[str]) -> set[str]:
    return {name for name in modules if name == "numpy" or name.startswith(("pb.domain.tally", "numpy."))}


@pytest.mark.parametrize("module", ["pb", "pb.domain", "pb.domain.tally", "pb.domain.tally.pabulib", "pb.tally_cli"])
def test_importing_the_domain_or_the_command_leaves_flask_out(module):
    modules = modules_after(f"import {module}")
    assert module in modules
    assert not {name for name in modules if name.split(".")[0] in {"flask", "werkzeug", "sqlalchemy"}}


def test_create_app_still_builds_the_app_from_pb():
    modules = modules_after("from pb import create_app\ncreate_app({'TESTING': True, 'DATABASE_URL': 'sqlite://'})")
    assert "flask" in modules


def test_help_parses_the_command_line_without_the_engine():
    code = (
        "import contextlib, io\n"
        "from pb.tally_cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as help_text:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit as end:\n"
        "        assert end.code == 0\n"
        "assert '--rule NAME' in help_text.getvalue()\n"
    )
    assert engine_modules(modules_after(code)) == set()


@pytest.mark.parametrize(
    "argv", [["--rule", "nonsense", "x.pb"], ["x.pb", "--seed", "1", "--tie-break", "lexicographic"]]
)
def test_a_usage_error_is_answered_without_the_engine(argv):
    code = f"from pb.tally_cli import main\nassert main({argv!r}) == 2\n"
    assert engine_modules(modules_after(code)) == set()


def test_counting_a_file_imports_the_engine_and_counts():
    # The other side of the two tests above: the names the engine binds late are there when a file is counted.
    modules = modules_after(
        f"from pb.tally_cli import main\nassert main([{str(DATA / (SMALL_FILE + '.pb'))!r}, '--json']) == 0\n"
    )
    assert {"numpy", "pb.domain.tally.rules"} <= modules


def test_the_rule_names_written_out_for_the_parser_are_the_registered_rules_in_order():
    assert list(RULE_NAMES) == list(RULES)


def run_bench(*options: str) -> str:
    finished = subprocess.run(
        [sys.executable, str(REPOSITORY / "bench" / "tally.py"), "--processes", "--data", str(DATA), *options],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        check=True,
        timeout=300,
    )
    return finished.stdout


def row(output: str, start: str) -> list[str]:
    return next(line.split() for line in output.splitlines() if line.startswith(start))


def test_bench_times_whole_processes_side_by_side_with_pabutools():
    output = run_bench("--instances", SMALL_FILE, "--rules", "greedy")
    assert output.splitlines()[0].split() == "instance rule pb-tally s pabutools s its rule s agree goal".split()
    assert row(output, "pb-tally --help")[-1] in {"yes", "NO"}
    cells = row(output, SMALL_FILE)
    assert cells[1] == "greedy"
    assert all(float(cell) > 0 for cell in cells[2:5])  # pb-tally's and pabutools' whole process, its rule call
    assert cells[5] == "yes"  # the same selection
    assert cells[6] in {"-", "yes", "NO"}
    assert output.rstrip().splitlines()[-1].startswith(("Goal met on every row", "Short of the goal on"))


def test_bench_without_pabutools_times_pb_tally_alone():
    output = run_bench("--instances", SMALL_FILE, "--rules", "greedy,phragmen", "--no-pabutools")
    for rule in ("greedy", "phragmen"):
        cells = next(line.split() for line in output.splitlines() if line.split()[:2] == [SMALL_FILE, rule])
        assert float(cells[2]) > 0
        assert cells[3:] == ["-", "-", "-", "-"]
