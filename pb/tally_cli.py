"""The `pb-tally` command: tally a pabulib file with any pb rule and compare the result with the published one."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Bound for real by _import_engine, once a file is to be counted.
    from pb.domain.tally import LEXICOGRAPHIC, RULES, Outcome, TallyError, format_money, run_rule, seeded_tie_break
    from pb.domain.tally.pabulib import PabulibElection, read, read_file

PROGRAM = "pb-tally"
FALLBACK_RULE = "greedy"
NAME_WIDTH = 40
# The names of pb.domain.tally.RULES, in its order, written out so that the command line is parsed (and --help
# answered) without importing the engine; tests/test_tally_cli_startup.py checks that the two agree.
RULE_NAMES = (
    "greedy",
    "greedy-threshold",
    "greedy-no-skip",
    "mes",
    "mes-add1",
    "mes-add1-no-completion",
    "mes-add1-comparison",
    "phragmen",
)


class UsageError(Exception):
    """The command line itself is wrong; main prints the message on one line and exits with 2."""


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str):
        # argparse would print the whole usage first; one clear line is easier to read in a script's log.
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    rules = ", ".join(RULE_NAMES)
    parser = _ArgumentParser(
        prog=PROGRAM,
        description="Tally a participatory budgeting election stored as a pabulib .pb file.",
    )
    parser.add_argument("file", metavar="FILE", help="the .pb file, or - to read it from standard input")
    parser.add_argument(
        "--rule",
        default="auto",
        choices=["auto", *RULE_NAMES],
        metavar="NAME",
        help=f"auto (the file's own rule; greedy when pb does not run it) or one of: {rules} (default: auto)",
    )
    parser.add_argument(
        "--tie-break",
        default="default",
        choices=["default", "lexicographic"],
        help="default: lower cost, then more votes, then a seeded lottery; lexicographic: by project id",
    )
    parser.add_argument("--seed", type=int, help="the lottery seed of the default tie-break (default: 0)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--explain", metavar="PROJECT_ID", help="print why this project was or was not funded")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run pb-tally; 0 on success, 2 with a one-line message on standard error for any bad input."""
    try:
        return _run(build_parser().parse_args(argv))
    except UsageError as error:
        print(f"{PROGRAM}: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader stopped early (`pb-tally big.pb | head`); Python would complain again when flushing at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _import_engine() -> None:
    """Bind the tally engine's names that this module uses, once a file is to be counted.

    The engine brings numpy and every rule, a tenth of a second or more to import: longer than `pb-tally --help`
    or a mistyped option should take in all. So this module does not import it at the top.
    """
    global LEXICOGRAPHIC, RULES, TallyError, format_money, run_rule, seeded_tie_break, read, read_file
    from pb.domain import tally
    from pb.domain.tally import pabulib

    LEXICOGRAPHIC, RULES, TallyError = tally.LEXICOGRAPHIC, tally.RULES, tally.TallyError
    format_money, run_rule, seeded_tie_break = tally.format_money, tally.run_rule, tally.seeded_tie_break
    read, read_file = pabulib.read, pabulib.read_file


def _run(args: argparse.Namespace) -> int:
    if args.seed is not None and args.tie_break != "default":
        raise UsageError("--seed applies to the default tie-break only")
    _import_engine()
    election = _load(args.file)
    rule, notes = _choose_rule(args.rule, election)
    try:
        instance, profile = election.instance(), election.profile()
    except TallyError as error:
        raise UsageError(f"{args.file}: {error}") from None
    if args.explain is not None and args.explain not in instance:
        raise UsageError(f"project {args.explain!r} is not in {args.file}")
    tie_break = LEXICOGRAPHIC if args.tie_break == "lexicographic" else seeded_tie_break(args.seed or 0)
    try:
        outcome = run_rule(rule, instance, profile, tie_break=tie_break)
    except TallyError as error:
        raise UsageError(f"{rule} cannot tally {args.file}: {error}") from None
    report = _Report(args, election, outcome, {project.id: project.cost for project in instance.projects}, notes)
    print(report.json() if args.json else report.text())
    return 0


def _load(file: str) -> PabulibElection:
    """The election in file (or standard input), its warnings printed on standard error, one a line."""
    try:
        if file == "-":
            # Bytes, not text: the reader reports bytes that are not UTF-8 with their line number.
            election = read(getattr(sys.stdin, "buffer", sys.stdin).read())
        else:
            election = read_file(file)
    except OSError as error:
        raise UsageError(f"cannot read {file}: {error.strerror or error}") from None
    except TallyError as error:
        raise UsageError(f"{file}: {error}") from None
    for warning in election.warnings:
        print(f"{PROGRAM}: warning: {file}: {warning}", file=sys.stderr)
    return election


def _choose_rule(asked: str, election: PabulibElection) -> tuple[str, list[str]]:
    """The rule to run and, when --rule auto cannot use the file's own rule, a note saying so."""
    if asked != "auto":
        return asked, []
    file_rule = election.meta.get("rule", "").strip()
    wanted = election.rule_name()
    if wanted in RULES:
        return wanted, []
    if not file_rule:
        return FALLBACK_RULE, [f"The file names no rule; counted with {FALLBACK_RULE}."]
    if wanted is None:
        return FALLBACK_RULE, [
            f"The file's rule is {file_rule!r}, which pb does not run; counted with {FALLBACK_RULE}."
        ]
    return FALLBACK_RULE, [f"The file's rule {file_rule!r} ({wanted}) is not installed; counted with {FALLBACK_RULE}."]


class _Report:
    """One tally written out for a person (a table) or for a program (JSON).

    Amounts are counted in the smallest unit the file writes (see pabulib.py) and printed as the file wrote them:
    "1,261,899.87" in the text. In JSON a file of whole amounts gives them as integers; a file with decimals gives
    them as exact decimal strings with that many decimals ("1261899.87", "45000.00") and says how many in
    "money_decimals", so that a program reads them exactly (Decimal(text)) and never through a float.
    """

    def __init__(
        self,
        args: argparse.Namespace,
        election: PabulibElection,
        outcome: Outcome,
        cost: dict[str, int],
        notes: list[str],
    ) -> None:
        self.args, self.election, self.outcome, self.cost, self.notes = args, election, outcome, cost, notes
        self.voters = len(election.votes)
        self.published = election.published_selection()
        self.rows = {row["project_id"].strip(): row for row in election.projects}
        self.exponent = election.money_exponent
        # Rules record "score: points" when they counted points (cumulative, scoring, ordinal ballots).
        self.score = "points" if outcome.parameters.get("score") == "points" else "votes"

    @property
    def matches_published(self) -> bool | None:
        return None if self.published is None else set(self.published) == set(self.outcome.selected)

    def json(self) -> str:
        outcome, amount = self.outcome, self._json_amount
        document = {
            "file": self.args.file,
            "rule": outcome.rule,
            "file_rule": self.election.meta.get("rule"),
            "tie_break": self.args.tie_break,
            "tie_break_description": outcome.tie_break,
            "parameters": outcome.parameters,
            "vote_type": self.election.vote_type,
            "budget": amount(outcome.budget),
            "selected": list(outcome.selected),
            "spent": amount(outcome.spent),
            "left": amount(outcome.left),
            "voters": self.voters,
            "votes": outcome.votes,
            "published_selected": self.published,
            "matches_published": self.matches_published,
            "notes": self.notes,
            "warnings": self.election.warnings,
        }
        if self.exponent:
            document["money_decimals"] = self.exponent
        if self.args.explain is not None:
            result = outcome.projects[self.args.explain]
            document["explanation"] = {
                "project_id": result.project_id,
                "name": self.rows[result.project_id].get("name", ""),
                "cost": amount(self.cost[result.project_id]),
                "votes": result.votes,
                "is_selected": result.is_selected,
                "round": result.round,
                "phase": result.phase,
                "explanation": result.explanation,
                "supporter_payment": self._json_payment(result.supporter_payment),
            }
        return json.dumps(document, ensure_ascii=False, indent=2)

    def _json_amount(self, amount: int) -> int | str:
        """An amount of the smallest unit: as it is in a file of whole amounts, else as an exact decimal text."""
        if not self.exponent:
            return amount
        whole, rest = divmod(abs(amount), 10**self.exponent)
        return f"{'-' if amount < 0 else ''}{whole}.{rest:0{self.exponent}d}"

    def _json_payment(self, payment: str | None) -> str | None:
        """A payment the outcome records as a fraction of the smallest unit ("15000/103"); in main units (still
        an exact fraction) when the file has decimals."""
        if payment is None or not self.exponent:
            return payment
        try:
            return str(Fraction(payment) / 10**self.exponent)
        except (ValueError, ZeroDivisionError):
            return payment

    def _money(self, amount: int | Fraction) -> str:
        return format_money(amount, self.exponent)

    def text(self) -> str:
        lines = self._heading()
        if self.args.explain is not None:
            return "\n".join(lines + [""] + self._explanation(self.args.explain))
        lines += [""] + self._table() + [""] + self._summary()
        return "\n".join(lines)

    def _heading(self) -> list[str]:
        outcome = self.outcome
        file_rule = self.election.meta.get("rule")
        source = f" (the file's rule: {file_rule})" if self.args.rule == "auto" and not self.notes else ""
        return [f"Rule: {outcome.rule}{source}", f"Tie-break: {outcome.tie_break}", *self.notes]

    def _explanation(self, project_id: str) -> list[str]:
        result = self.outcome.projects[project_id]
        name = self.rows[project_id].get("name", "")
        status = f"funded (position {self._position(project_id)})" if result.is_selected else "not funded"
        label = f"Project {project_id}" + (f" ({name})" if name else "")
        lines = [
            f"{label}: costs {self._money(self.cost[project_id])}, {result.votes:,} {self.score}, {status}.",
            result.explanation,
        ]
        if result.supporter_payment:
            lines.append(f"Each supporter paid at most {_amount(result.supporter_payment, self.exponent)}.")
        return lines

    def _position(self, project_id: str) -> int | None:
        selected = self.outcome.selected
        return selected.index(project_id) + 1 if project_id in selected else None

    def _table(self) -> list[str]:
        outcome = self.outcome
        order = {project_id: index for index, project_id in enumerate(self.rows)}
        selected = set(outcome.selected)
        unselected = sorted(
            (project_id for project_id in self.rows if project_id not in selected),
            key=lambda project_id: (-outcome.votes.get(project_id, 0), order[project_id]),
        )
        header = ["#", "project", "name", "cost", self.score, "selected"]
        rows = []
        for project_id in [*outcome.selected, *unselected]:
            position = self._position(project_id)
            rows.append(
                [
                    str(position) if position else "",
                    project_id,
                    _shorten(self.rows[project_id].get("name", "")),
                    self._money(self.cost[project_id]),
                    f"{outcome.votes.get(project_id, 0):,}",
                    "yes" if position else "no",
                ]
            )
        widths = [max(len(row[column]) for row in [header, *rows]) for column in range(len(header))]
        right_aligned = {0, 3, 4}

        def line(cells: list[str]) -> str:
            padded = [
                cell.rjust(width) if column in right_aligned else cell.ljust(width)
                for column, (cell, width) in enumerate(zip(cells, widths))
            ]
            return "  ".join(padded).rstrip()

        return [line(header), *(line(row) for row in rows)]

    def _summary(self) -> list[str]:
        outcome = self.outcome
        money = self._money
        lines = [
            f"Budget {money(outcome.budget)}, spent {money(outcome.spent)}, left {money(outcome.left)}.",
            f"{len(outcome.selected)} of {len(self.rows)} projects funded; {self.voters:,} voters.",
        ]
        if self.published is None:
            return lines
        if self.matches_published:
            lines.append(f"Matches the published selection ({len(self.published)} projects).")
            return lines
        published, selected = set(self.published), set(outcome.selected)
        only_pb = [project_id for project_id in outcome.selected if project_id not in published]
        only_city = [project_id for project_id in self.published if project_id not in selected]
        lines.append("Differs from the published selection:")
        if only_pb:
            lines.append(f"  funded by pb, not by the city: {', '.join(only_pb)}")
        if only_city:
            lines.append(f"  funded by the city, not by pb: {', '.join(only_city)}")
        return lines


def _amount(text: str, exponent: int = 0) -> str:
    """An amount the outcome records as text ("15000/103"), printed as money ("145.63") when it is a number."""
    try:
        return format_money(Fraction(text), exponent)
    except (ValueError, ZeroDivisionError):
        return text


def _shorten(name: str) -> str:
    name = " ".join(name.split())
    return name if len(name) <= NAME_WIDTH else name[: NAME_WIDTH - 1] + "…"


if __name__ == "__main__":
    raise SystemExit(main())
