"""What `pb-tally` does once its command line is read: load the file, choose the rule, count, and report.

See pb/tally_cli.py for the command line, and docs/tally.md for what the report says.
"""

import argparse
import json
import sys
from dataclasses import dataclass
from fractions import Fraction

from pb.domain.tally import (
    LEXICOGRAPHIC,
    RULES,
    Instance,
    Outcome,
    Profile,
    TallyError,
    TieBreak,
    format_money,
    run_rule,
    seeded_tie_break,
)
from pb.domain.tally.mismatch import diagnose
from pb.domain.tally.pabulib import PabulibElection, read, read_file
from pb.tally_cli import PROGRAM, UsageError

FALLBACK_RULE = "greedy"
NAME_WIDTH = 40


def run(args: argparse.Namespace) -> int:
    """Count the file the parsed command line names and print the report; UsageError for any bad input."""
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
    report = _Report(args, election, outcome, notes, _Count(instance, profile, tie_break))
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


# META rule values pb does not run, and why: --rule auto counts them with greedy and says so (docs/tally.md).
NOT_RUN = {
    "greedy-exclusive": "greedy in which some projects exclude each other, which the file does not record",
    "greedy-custom": "the city's own variant of greedy, described in the file's comment",
    "unknown": "the city's rule is not known",
}


def _choose_rule(asked: str, election: PabulibElection) -> tuple[str, list[str]]:
    """The rule to run and, when --rule auto does not run the file's own rule as named, a note saying why."""
    if asked != "auto":
        return asked, []
    file_rule = election.meta.get("rule", "").strip()
    wanted = election.rule_name()
    has_threshold = bool(election.meta.get("min_project_score_threshold", "").strip().strip("0"))
    if wanted == "greedy" and has_threshold:
        # pabulib's own checker reads a threshold beside rule greedy so too.
        threshold = election.meta["min_project_score_threshold"].strip()
        return "greedy-threshold", [
            f"The file's rule is greedy and it gives min_project_score_threshold {threshold}; counted with "
            "greedy-threshold."
        ]
    if wanted in RULES:
        return wanted, []
    fallback = "greedy-threshold" if has_threshold else FALLBACK_RULE
    if not file_rule:
        return fallback, [f"The file names no rule; counted with {fallback}."]
    if wanted is None:
        why = f" ({NOT_RUN[file_rule]})" if file_rule in NOT_RUN else ""
        return fallback, [f"The file's rule is {file_rule!r}{why}, which pb does not run; counted with {fallback}."]
    return fallback, [f"The file's rule {file_rule!r} ({wanted}) is not installed; counted with {fallback}."]


@dataclass(frozen=True)
class _Count:
    """What the outcome was counted from, for explaining how it differs from the city's selection."""

    instance: Instance
    profile: Profile
    tie_break: TieBreak


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
        notes: list[str],
        count: _Count,
    ) -> None:
        self.args, self.election, self.outcome, self.notes, self.count = args, election, outcome, notes, count
        self.cost = {project.id: project.cost for project in count.instance.projects}
        self.voters = len(election.votes)
        self.published = election.published_selection()
        self.rows = {row["project_id"].strip(): row for row in election.projects}
        self.exponent = count.instance.money_exponent
        # Rules record "score: points" when they counted points (cumulative, scoring, ordinal ballots).
        self.score = "points" if outcome.parameters.get("score") == "points" else "votes"

    @property
    def matches_published(self) -> bool | None:
        return None if self.published is None else set(self.published) == set(self.outcome.selected)

    def mismatch(self) -> list[str] | None:
        """How the count comes to differ from the city's selection, and what reproduces it ([] if it does not).

        Only under --rule auto, whose question is whether the file's own rule gives the city's selection; None
        otherwise: a rule the city did not use differs for that reason alone, and looking for another cause would
        count the file again (a second Add1 scan on a city-wide election).
        """
        if self.args.rule != "auto":
            return None
        if self.published is None:
            return []
        count = self.count
        comment = self.election.meta.get("comment", "")
        return diagnose(
            count.instance, count.profile, self.outcome, self.published, tie_break=count.tie_break, comment=comment
        )

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
            "mismatch": self.mismatch(),
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
        lines.extend(f"  {finding}" for finding in self.mismatch() or [])
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
