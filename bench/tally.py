"""Benchmark: every registered tally rule on the pabulib files and on synthetic city-wide elections,
timed side by side with pabutools (the oracle) in the same run, with agreement and peak memory.

    .venv/bin/python bench/tally.py --quick
    .venv/bin/python bench/tally.py --rules mes,mes-add1 --instances Warszawa,Budapest --pabutools-timeout 120
    .venv/bin/python bench/tally.py --processes --repeat 5 --instances Assen,Swiecie,Toulouse

With --processes it times whole processes instead, as a researcher running pb-tally over a folder meets them:
`pb-tally FILE --rule RULE --tie-break lexicographic --json` against a Python process that imports pabutools,
parses the same file and runs the counterpart rule, with that rule call's own time beside it (see processes()).

pabutools runs in a child process with a time limit, so one 600 s run does not block the table;
it is shown as "> N s" when it runs out. Outcomes are compared as selected sets, with the
lexicographic tie-break on our side (pabutools' default). Rules pabutools has no counterpart for,
or vote types where its counterpart differs from ours, show "-" in the pabutools column.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# pb's engine (and multiprocessing) are imported where they are used, not here: `bench/tally.py --pabutools-child`
# is the pabutools side of --processes, and its whole-process time must not include what pabutools does not import.
if TYPE_CHECKING:
    from pb.domain.tally import ApprovalProfile, Instance

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "pabulib"
QUICK_FILES = ("Netherlands_Assen_2024", "Poland_Swiecie_2023", "Switzerland_Zurich")
SYNTHETIC = {"synthetic-100k": 100_000, "synthetic-1M": 1_000_000}
# --processes: the rules pabutools has a counterpart for, pb-tally beside the script a researcher would run, and
# the goal: pb-tally's whole process no slower than pabutools' rule call alone wherever that call takes over 0.1 s.
PROCESS_RULES = ("greedy", "mes", "mes-add1", "phragmen")
PB_TALLY = Path(sys.executable).parent / "pb-tally"
GOAL_SECONDS = 0.1


# ---------------------------------------------------------------------------------------------- synthetic
def synthetic_ballots(
    voters: int, seed: int = 2024, projects: int = 100
) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A city-wide election: 100 projects with skewed popularity, about 5 approvals per voter.

    Returns the budget, the costs, the distinct ballots as a (groups x projects) boolean matrix, and how
    many voters cast each. Ballots are built packed eight projects to a byte (no voters x projects matrix),
    so that generating a million voters does not dominate the peak memory the benchmark reports.
    """
    rng = np.random.default_rng(seed)
    costs = rng.integers(20, 400, size=projects) * 1_000
    popularity = rng.pareto(1.5, size=projects) + 0.2
    popularity /= popularity.sum()
    sizes = np.clip(rng.poisson(5, size=voters), 1, 12)
    packed = np.zeros((voters, (projects + 7) // 8), dtype=np.uint8)
    # Draw with replacement and keep the distinct picks: cheap, and still about five approvals each.
    for slot in range(12):
        active = np.nonzero(sizes > slot)[0]
        picks = rng.choice(projects, size=len(active), p=popularity)
        # Each voter appears once per slot, so the in-place OR sees no repeated index.
        packed[active, picks >> 3] |= (128 >> (picks & 7)).astype(np.uint8)
    unique, counts = np.unique(packed, axis=0, return_counts=True)
    del packed
    ballots = np.unpackbits(unique, axis=1)[:, :projects].astype(bool)
    budget = int(costs.sum() * 0.3)
    return budget, costs, ballots, counts


def synthetic_election(voters: int) -> tuple[Instance, ApprovalProfile]:
    from pb.domain.tally import ApprovalProfile, Instance, Project

    budget, costs, ballots, counts = synthetic_ballots(voters)
    ids = [f"p{index:03d}" for index in range(len(costs))]
    instance = Instance(budget, tuple(Project(pid, int(cost)) for pid, cost in zip(ids, costs)))
    groups: list[tuple[frozenset[str], int]] = []
    # A slice of ballots at a time: the profile's own size, not a Python list of every approval, sets the
    # peak memory the benchmark reports.
    piece = 65_536
    for first in range(0, len(counts), piece):
        rows, columns = np.nonzero(ballots[first : first + piece])
        ends = np.searchsorted(rows, np.arange(1, min(piece, len(counts) - first) + 1)).tolist()
        named = [ids[j] for j in columns.tolist()]
        starts = [0] + ends[:-1]
        pieces = counts[first : first + piece].tolist()
        groups.extend((frozenset(named[start:end]), count) for start, end, count in zip(starts, ends, pieces))
    del ballots
    return instance, ApprovalProfile(tuple(groups))


# ---------------------------------------------------------------------------------------------- pabutools side
def _pabutools_election(source: str):
    from pabutools.election import ApprovalBallot, ApprovalMultiProfile, parse_pabulib
    from pabutools.election import Instance as PInstance
    from pabutools.election import Project as PProject

    if source in SYNTHETIC:
        budget, costs, ballots, counts = synthetic_ballots(SYNTHETIC[source])
        projects = [PProject(f"p{index:03d}", int(cost)) for index, cost in enumerate(costs)]
        instance = PInstance(projects, budget_limit=budget)
        profile = ApprovalMultiProfile(instance=instance)
        for row, count in zip(ballots, counts.tolist()):
            # A multi-profile is a Counter of frozen ballots: the multiplicity is the count.
            profile[ApprovalBallot([projects[j] for j in np.nonzero(row)[0]]).frozen()] = count
        return instance, profile, "approval"
    instance, profile = parse_pabulib(source)
    return instance, profile, instance.meta.get("vote_type", "approval")


def pabutools_counterpart(rule: str, vote_type: str):
    """The pabutools call that should give our rule's selected set, or None."""
    from pabutools.election import Additive_Cardinal_Sat, Cost_Sat
    from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares, sequential_phragmen

    is_approval = vote_type in ("approval", "choose-1")
    if rule == "greedy" and is_approval:
        return lambda i, p: greedy_utilitarian_welfare(i, p, sat_class=Cost_Sat)
    if rule == "mes":
        sat = Cost_Sat if is_approval else Additive_Cardinal_Sat
        return None if vote_type == "ordinal" else (lambda i, p: method_of_equal_shares(i, p, sat_class=sat))
    if rule == "mes-add1" and is_approval:

        def add1(i, p):
            raised = method_of_equal_shares(i, p, sat_class=Cost_Sat, voter_budget_increment=1)
            return greedy_utilitarian_welfare(i, p, sat_class=Cost_Sat, initial_budget_allocation=raised)

        return add1
    if rule == "phragmen" and is_approval:
        return lambda i, p: sequential_phragmen(i, p)
    return None


def _pabutools_child(source: str, rule: str, connection) -> None:
    try:
        instance, profile, vote_type = _pabutools_election(source)
        call = pabutools_counterpart(rule, vote_type)
        if call is None:
            connection.send(None)
            return
        start, start_cpu = time.perf_counter(), time.process_time()
        allocation = call(instance, profile)
        seconds, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        connection.send((seconds, cpu, sorted(project.name for project in allocation)))
    except Exception as error:  # noqa: BLE001 - reported in the table, never fatal for the benchmark
        connection.send(("error", repr(error)))


def run_pabutools(source: str, rule: str, timeout: float):
    """(seconds, CPU seconds, selected) | None (no counterpart) | "timeout" | ("error", message)."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_pabutools_child, args=(source, rule, sender), daemon=True)
    child.start()
    # The clock includes parsing; the reported time is the rule's own, measured in the child.
    if receiver.poll(timeout + 30):
        answer = receiver.recv()
        child.join(5)
        return answer
    child.terminate()
    child.join(5)
    return "timeout"


# ---------------------------------------------------------------------------------------------- pb side
def pb_cpu_seconds() -> float:
    """CPU time of this process and of its children that have ended: Add1's helper process (ended, and so
    counted, when its scan ends) reads shares too, and its time is pb's. (os.times() counts in clock ticks,
    10 ms here, too coarse for counts that take a few milliseconds; these count in microseconds or finer.)"""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _pb_synthetic_child(voters: int, rule: str, connection) -> None:
    from pb.domain.tally import LEXICOGRAPHIC, RULES

    instance, profile = synthetic_election(voters)
    start, start_cpu = time.perf_counter(), pb_cpu_seconds()
    outcome = RULES[rule](instance, profile, tie_break=LEXICOGRAPHIC)
    seconds, cpu = time.perf_counter() - start, pb_cpu_seconds() - start_cpu
    # Add1 may fork a helper process that reads shares too: its peak is added, though the two share the
    # election's pages (counted twice here), so the figure is an upper bound.
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    connection.send((seconds, cpu, sorted(outcome.selected), peak_kb / 1024))


def run_pb_synthetic(voters: int, rule: str):
    """Run in a fresh process so that its peak memory is the tally's (plus Python and the profile)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_pb_synthetic_child, args=(voters, rule, sender))
    child.start()
    answer = receiver.recv()
    child.join()
    return answer


# ---------------------------------------------------------------------------------------------- table
def fmt_seconds(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--quick", action="store_true", help="a small subset (under a minute)")
    parser.add_argument("--rules", help="comma-separated rule names (default: every registered rule)")
    parser.add_argument("--instances", help="comma-separated substrings of file names, or synthetic-100k/synthetic-1M")
    parser.add_argument("--pabutools-timeout", type=float, default=60.0)
    parser.add_argument("--no-pabutools", action="store_true")
    parser.add_argument("--no-synthetic", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="time pb N times on each file and keep the fastest")
    parser.add_argument(
        "--processes",
        action="store_true",
        help="time whole processes: pb-tally against pabutools (import, parse, rule), per file and rule",
    )
    parser.add_argument("--pabutools-child", nargs=2, metavar=("FILE", "RULE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pabutools_child:
        pabutools_child(*args.pabutools_child)
        return
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")

    files = sorted(args.data.glob("*.pb"))
    wanted = args.instances.split(",") if args.instances else None
    if args.quick and wanted is None:
        wanted = list(QUICK_FILES)
        args.pabutools_timeout = min(args.pabutools_timeout, 5.0)
    if wanted is not None:
        files = [path for path in files if any(part in path.stem for part in wanted)]
    if args.processes:
        processes(files, args.rules.split(",") if args.rules else list(PROCESS_RULES), args)
        return

    from pb.domain.tally import LEXICOGRAPHIC, RULES
    from pb.domain.tally.pabulib import read_file

    rules = args.rules.split(",") if args.rules else list(RULES)
    synthetic = [] if args.no_synthetic else [name for name in SYNTHETIC if wanted is None or name in wanted]

    header = (
        f"{'instance':42} {'rule':20} {'pb s':>8} {'pb cpu':>8} {'pabutools s':>12} {'cpu':>8} {'ratio':>6} "
        f"{'cpu':>6} {'agree':>6} {'peak MB':>8}"
    )
    print(header)
    print("-" * len(header))
    short: list[str] = []  # rows that miss the goal, listed again at the end
    for path in files:
        election = read_file(path)
        instance, profile = election.instance(), election.profile()
        # Every rule is timed on pb's side before pabutools runs on this file: a pabutools child running or just
        # ended beside pb made its timings up to a third slower.
        measured = []
        for rule in rules:
            timings = []
            for _ in range(args.repeat):  # the first run is cold (imports, caches); the fastest is the steadiest
                start, start_cpu = time.perf_counter(), pb_cpu_seconds()
                outcome = RULES[rule](instance, profile, tie_break=LEXICOGRAPHIC)
                timings.append((time.perf_counter() - start, pb_cpu_seconds() - start_cpu))
            pb_times = (min(wall for wall, _ in timings), min(cpu for _, cpu in timings))
            measured.append((rule, pb_times, sorted(outcome.selected)))
        for rule, pb_times, selected in measured:
            report(path.stem, rule, pb_times, selected, None, str(path), args, short)
    for name in synthetic:
        for rule in rules:
            pb_seconds, pb_cpu, selected, peak = run_pb_synthetic(SYNTHETIC[name], rule)
            report(name, rule, (pb_seconds, pb_cpu), selected, peak, name, args, short)
    if not args.no_pabutools:
        print()
        if short:
            print("Short of the goal (pabutools over 1 s and pb less than 100 times faster, or outcomes differ):")
            for line in short:
                print(f"  {line}")
        else:
            print(
                "Goal met on every row timed against pabutools: same outcome, and 100 times faster where it needs over 1 s."
            )


def report(
    name: str, rule: str, pb_times: tuple[float, float], selected: list[str], peak, source: str, args, short: list[str]
) -> None:
    """One row: wall and CPU seconds on both sides, and their ratios (CPU time is steadier on a shared machine).

    A row that misses the goal (a different outcome, or pabutools over a second and pb under 100 times faster)
    is added to short.
    """
    pb_seconds, pb_cpu = pb_times
    theirs = None if args.no_pabutools else run_pabutools(source, rule, args.pabutools_timeout)
    their_cpu, cpu_ratio = "-", "-"
    if theirs is None:
        their_time, ratio, agree = "-", "-", "-"
    elif theirs == "timeout":
        their_time = f"> {args.pabutools_timeout:.0f}"
        ratio, agree = f"> {args.pabutools_timeout / pb_seconds:.0f}", "?"
        if args.pabutools_timeout / pb_seconds < 100:
            short.append(f"{name} {rule}: pabutools ran out of time ({their_time} s), so 100 times is not shown")
    elif theirs[0] == "error":
        their_time, ratio, agree = "error", "-", "?"
        print(f"   pabutools error on {name} {rule}: {theirs[1]}", file=sys.stderr)
    else:
        their_time, their_cpu = fmt_seconds(theirs[0]), fmt_seconds(theirs[1])
        ratio, cpu_ratio = f"{theirs[0] / pb_seconds:.0f}", f"{theirs[1] / max(pb_cpu, 1e-6):.0f}"
        agree = "yes" if theirs[2] == selected else "NO"
        if agree == "NO" or (theirs[0] > 1.0 and theirs[0] / pb_seconds < 100):
            short.append(
                f"{name} {rule}: pb {pb_seconds:.3f} s, pabutools {theirs[0]:.3f} s, ratio "
                f"{theirs[0] / pb_seconds:.0f}, outcomes {'agree' if agree == 'yes' else 'DIFFER'}"
            )
    peak_text = f"{peak:.0f}" if peak is not None else ""
    print(
        f"{name[:42]:42} {rule:20} {fmt_seconds(pb_seconds):>8} {fmt_seconds(pb_cpu):>8} {their_time:>12} "
        f"{their_cpu:>8} {ratio:>6} {cpu_ratio:>6} {agree:>6} {peak_text:>8}",
        flush=True,
    )


# ---------------------------------------------------------------------------------------------- whole processes
def pabutools_child(source: str, rule: str) -> None:
    """The pabutools side of --processes, run as `python bench/tally.py --pabutools-child FILE RULE`.

    It imports pabutools, parses the file and runs the counterpart of rule, printing one JSON line when the rule
    call starts (so that a run that times out still bounds that call from below) and one with its own seconds and
    the selected projects.
    """
    instance, profile, vote_type = _pabutools_election(source)
    call = pabutools_counterpart(rule, vote_type)
    if call is None:
        print(json.dumps({"counterpart": False}))
        return
    print(json.dumps({"started": time.time()}), flush=True)
    start = time.perf_counter()
    allocation = call(instance, profile)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "selected": sorted(project.name for project in allocation)}))


def _child_environment() -> dict[str, str]:
    """The environment of the timed processes: this one's, but letting Python cache compiled modules.

    pabutools and numpy come with their .pyc files from pip; pb, installed editable, gets them on its first run. A
    PYTHONDONTWRITEBYTECODE left in the environment would make pb alone recompile its modules every run (about
    0.06 s), which no installed pb does.
    """
    environment = dict(os.environ)
    environment.pop("PYTHONDONTWRITEBYTECODE", None)
    return environment


def _best_process(command: list[str], repeat: int, timeout: float | None = None):
    """The fastest of repeat runs: (wall seconds, the last run's CompletedProcess), or ("timeout", partial stdout)."""
    best, finished = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            finished = subprocess.run(
                command, capture_output=True, text=True, env=_child_environment(), timeout=timeout, check=False
            )
        except subprocess.TimeoutExpired as expired:
            output = expired.stdout or b""
            return "timeout", output.decode() if isinstance(output, bytes) else output
        best = min(best, time.perf_counter() - start)
    return best, finished


def time_pb_process(path: Path, rule: str, repeat: int):
    """pb-tally's best whole-process seconds and its selected projects (or ("error", its message))."""
    command = [str(PB_TALLY), str(path), "--rule", rule, "--tie-break", "lexicographic", "--json"]
    seconds, finished = _best_process(command, repeat)
    if finished.returncode != 0:
        return seconds, ("error", finished.stderr.strip())
    return seconds, sorted(json.loads(finished.stdout)["selected"])


def time_pabutools_process(path: Path, rule: str, repeat: int, timeout: float):
    """(whole-process seconds, rule-call seconds, selected), None where pabutools has no counterpart,
    ("timeout", the rule call's seconds at least) or ("error", message).

    Runs after a first slow run (over 5 s) are skipped: their noise is small beside what they cost.
    """
    command = [sys.executable, str(Path(__file__).resolve()), "--pabutools-child", str(path), rule]
    whole, call, selected = math.inf, math.inf, None
    for attempt in range(repeat):
        seconds, finished = _best_process(command, 1, timeout)
        if seconds == "timeout":
            lines = [json.loads(line) for line in finished.splitlines() if line.startswith("{")]
            started = next((line["started"] for line in lines if "started" in line), None)
            return ("timeout", None if started is None else time.time() - started)
        if finished.returncode != 0:
            return ("error", (finished.stderr.strip().splitlines() or ["no message"])[-1])
        answer = json.loads(finished.stdout.splitlines()[-1])
        if answer.get("counterpart") is False:
            return None
        whole, call, selected = min(whole, seconds), min(call, answer["seconds"]), answer["selected"]
        if seconds > 5:
            break
    return whole, call, selected


def processes(files: list[Path], rules: list[str], args) -> None:
    """The whole-process table: pb-tally against pabutools, per file and rule, and `pb-tally --help`.

    goal: "yes" when pb-tally's whole process took no longer than pabutools' rule call alone, where that call took
    over GOAL_SECONDS; "-" where it took less (or pabutools has no counterpart). A row whose selections differ, or
    whose goal is "NO", is listed in the verdict line at the end.
    """
    # One run to let Python compile and cache pb's modules, so that no timed run pays for it (see _child_environment).
    _best_process([str(PB_TALLY), "--help"], 1)
    _best_process([sys.executable, "-c", "import pb.tally_cli, pb.domain.tally"], 1)
    header = _process_line("instance", "rule", "pb-tally s", "pabutools s", "its rule s", "agree", "goal")
    print(header)
    print("-" * len(header))
    missed: list[str] = []
    seconds, _ = _best_process([str(PB_TALLY), "--help"], args.repeat)
    is_met = seconds < GOAL_SECONDS
    print(_process_line("pb-tally --help", "", fmt_seconds(seconds), "", "", "", "yes" if is_met else "NO"))
    if not is_met:
        missed.append(f"pb-tally --help ({seconds:.3f} s)")
    for path in files:
        for rule in rules:
            missed.extend(_process_row(path, rule, args))
    print()
    if missed:
        print(f"Short of the goal on {len(missed)} row(s): {'; '.join(missed)}")
    else:
        print(
            f"Goal met on every row: pb-tally --help under {GOAL_SECONDS} s, and pb-tally's whole process no slower "
            f"than pabutools' rule call wherever that call takes over {GOAL_SECONDS} s, with the same selections."
        )


def _process_row(path: Path, rule: str, args) -> list[str]:
    """Print one row of the whole-process table; return what it misses of the goal (nothing, or one line)."""
    pb_seconds, selected = time_pb_process(path, rule, args.repeat)
    theirs = None if args.no_pabutools else time_pabutools_process(path, rule, args.repeat, args.pabutools_timeout)
    whole = call = agree = goal = "-"
    missed = []
    if isinstance(selected, tuple):
        agree = "error"
        missed.append(f"{path.stem} {rule}: pb-tally failed: {selected[1]}")
    elif theirs is None:
        pass
    elif theirs[0] == "timeout":
        whole, call = f"> {args.pabutools_timeout:.0f}", "?" if theirs[1] is None else f"> {fmt_seconds(theirs[1])}"
        agree = "?"
        if theirs[1] is not None and theirs[1] > GOAL_SECONDS:
            goal = "yes" if pb_seconds <= theirs[1] else "?"
    elif theirs[0] == "error":
        whole = "error"
        print(f"   pabutools error on {path.stem} {rule}: {theirs[1]}", file=sys.stderr)
    else:
        their_whole, their_call, their_selected = theirs
        whole, call = fmt_seconds(their_whole), fmt_seconds(their_call)
        agree = "yes" if their_selected == selected else "NO"
        if their_call > GOAL_SECONDS:
            goal = "yes" if pb_seconds <= their_call else "NO"
        if agree == "NO" or goal == "NO":
            missed.append(
                f"{path.stem} {rule} (pb-tally {pb_seconds:.3f} s, pabutools' rule call {their_call:.3f} s"
                + (", selections differ)" if agree == "NO" else ")")
            )
    print(_process_line(path.stem[:42], rule, fmt_seconds(pb_seconds), whole, call, agree, goal), flush=True)
    return missed


def _process_line(name: str, rule: str, pb: str, whole: str, call: str, agree: str, goal: str) -> str:
    return f"{name:42} {rule:10} {pb:>10} {whole:>12} {call:>11} {agree:>6} {goal:>5}"


if __name__ == "__main__":
    main()
