"""Reading and writing pabulib `.pb` files (META, PROJECTS and VOTES), kept as text so a file round-trips exactly.

Ordinal ballots (vote_type "ordinal", best first) become points: with ballots of at most L projects, where
L is META ``max_length`` or, without it, the longest ballot in the file, the project ranked r-th
(1 = best) scores L - r + 1. For Kraków 2024 (L = 3) that is 3, 2 and 1 points, which reproduces the
``score`` column the city published. Choose-1 ballots are approval ballots naming at most one project;
cumulative and scoring ballots take their points from the VOTES ``points`` column.

Money is counted exactly in the smallest unit the file writes. A file whose budget or costs have decimals
(Kraków 2023-2025, Warszawa 2017-2019: ``budget;1261899.87``) is counted in units of 10**-d, d being the most
decimals any of them has once trailing zeros are dropped (Toulouse's "100000.0" is whole, d = 0), and its
Instance carries money_exponent d so that explanations print the amounts as the file wrote them. Points,
max_length and min_project_score_threshold stay whole numbers. A number the reader reads has at most
MAX_DIGITS digits: far beyond any real file, and below what Python turns into an integer without complaint.

A ballot that names a project more than once (Warszawa 2026's districts have ``1232,1232,1247``) counts it
once, as pabutools reads it, and leaves a warning in ``PabulibElection.warnings`` naming the first voter who
cast that ballot and the line, with how many others cast the same one (one warning per distinct ballot, not
per voter: a city's file would otherwise print thousands). An ordinal ballot keeps the project's first, best,
rank and the later projects move up (``a,a,b`` ranks a then b); a cumulative or scoring ballot keeps the points
given last, as pabutools' parser does (it stores the points in a dictionary keyed by project).

Quoting is read as pabutools reads it (Python's csv module, not strict): a field like ``"Plac" zabaw`` reads
as ``Plac zabaw``, with a warning naming the line. A quote that is never closed swallows the lines after it;
the rows or sections then missing are refused as in any other broken file. Such a file does not round-trip:
write() quotes the field as it should have been.
"""

import csv
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import IO

from pb.domain.tally.model import ApprovalProfile, Instance, PointsProfile, Project, TallyError

SECTIONS = ("META", "PROJECTS", "VOTES")
VOTE_TYPES = ("approval", "choose-1", "cumulative", "scoring", "ordinal")
POINTS_VOTE_TYPES = ("cumulative", "scoring")
REQUIRED_COLUMNS = {"META": ["key", "value"], "PROJECTS": ["project_id", "cost"], "VOTES": ["voter_id", "vote"]}

# The META `rule` values pabulib uses, and the pb rule each one means.
RULE_NAMES = {
    "greedy": "greedy",
    "greedy-threshold": "greedy-threshold",
    "greedy-no-skip": "greedy-no-skip",
    "equalshares": "mes",
    "equalshares/add1": "mes-add1-no-completion",
    "equalshares/add1-comparison": "mes-add1-comparison",
}

# Points and counts are whole numbers, some written with a zero fraction ("100000.0", Toulouse); money may have
# decimals ("1261899.87", Kraków). Both are written with digits and at most one decimal point.
_NUMBER = re.compile(r"\s*(\d*)(?:\.(\d*))?\s*")
MAX_DIGITS = 100
_NEEDS_QUOTES = re.compile(r'[;"\r\n]')


class PabulibError(TallyError):
    """A `.pb` file breaks the pabulib format; the message names the line when there is one."""

    def __init__(self, problem: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {problem}" if line is not None else problem)
        self.problem = problem
        self.line = line


@dataclass
class Layout:
    """How a file was laid out beyond its content, so that writing it back gives the same bytes.

    Records ending unlike the rest are keyed by (section, position): position 0 is the section's name
    line, 1 its header, 2 its first row. Blank lines are not kept.
    """

    line_ending: str = "\n"
    has_final_line_ending: bool = True
    has_byte_order_mark: bool = False
    other_line_endings: dict[tuple[str, int], str] = field(default_factory=dict)


@dataclass
class PabulibElection:
    """One pabulib file: every section as the text it holds, in file order."""

    meta: dict[str, str]
    project_columns: list[str]
    projects: list[dict[str, str]]
    vote_columns: list[str]
    votes: list[dict[str, str]]
    layout: Layout = field(default_factory=Layout, compare=False, repr=False)
    # What read() accepted but a reader should know: "line 812: voter '1234' names project '1232' twice; ...".
    warnings: list[str] = field(default_factory=list, compare=False, repr=False)

    @property
    def vote_type(self) -> str:
        return self.meta.get("vote_type", "").strip()

    @property
    def money_exponent(self) -> int:
        """The most decimals the budget or a cost is written with (trailing zeros aside): money counts in 10**-d."""
        _check_meta(self.meta)
        decimals = [_amount(self.meta["budget"], "META budget")[1]]
        for row in self.projects:
            _project_from_row(row)  # refuses a cost that is not an amount, with its message
            decimals.append(_amount(row["cost"], "cost")[1])
        return max(decimals)

    def check(self) -> None:
        """PabulibError unless instance() and profile() can be built (read() has already checked)."""
        _check(self)

    def instance(self) -> Instance:
        """The budget and projects; min_project_score from META min_project_score_threshold (else 0)."""
        exponent = self.money_exponent
        threshold = self.meta.get("min_project_score_threshold", "").strip() or "0"
        return Instance(
            budget=_money(self.meta["budget"], exponent, "META budget is not an amount of money", "META budget"),
            projects=tuple(_project_from_row(row, exponent) for row in self.projects),
            min_project_score=_whole_number(threshold, "META min_project_score_threshold is not a whole number"),
            money_exponent=exponent,
        )

    def profile(self) -> ApprovalProfile | PointsProfile:
        """Approval and choose-1 ballots as approvals; cumulative and scoring as points; ordinal as rank points."""
        _check_meta(self.meta)
        ballots = _BallotReader(self).distinct(self.votes)
        if self.vote_type in ("approval", "choose-1"):
            approvals: Counter[frozenset[str]] = Counter()
            for ballot, multiplicity in ballots:
                approvals[frozenset(ballot)] += multiplicity
            return ApprovalProfile(tuple(approvals.items()))
        points: Counter[tuple[tuple[str, int], ...]] = Counter()
        for ballot, multiplicity in ballots:
            points[tuple(sorted((project_id, n) for project_id, n in ballot.items() if n))] += multiplicity
        try:
            return PointsProfile(tuple(points.items()))
        except TallyError as error:
            if self.vote_type != "ordinal":
                raise
            # The points were not written but made from ranks: say where they come from.
            raise PabulibError(f"{error} Ranked ballots score META max_length points for a first place.") from None

    def rule_name(self) -> str | None:
        """The pb rule named by META `rule`, or None when the file's rule is not one pb runs (e.g. "unknown")."""
        return RULE_NAMES.get(self.meta.get("rule", "").strip())

    def published_selection(self) -> list[str] | None:
        """The projects the city funded (PROJECTS `selected` is 1), in file order; None without that column."""
        if "selected" not in self.project_columns:
            return None
        return [row["project_id"].strip() for row in self.projects if row.get("selected", "").strip() == "1"]

    @classmethod
    def from_parts(
        cls, meta: Mapping[str, str], projects: Iterable[Project], ballots: Iterable[Iterable[str]]
    ) -> "PabulibElection":
        """An approval election ready to write: meta must hold the budget; voters are numbered from 1."""
        projects = list(projects)
        ballots = [list(ballot) for ballot in ballots]
        votes = Counter(project_id for ballot in ballots for project_id in ballot)
        meta = {key: str(value) for key, value in meta.items()}
        meta.setdefault("num_projects", str(len(projects)))
        meta.setdefault("num_votes", str(len(ballots)))
        meta.setdefault("vote_type", "approval")
        if meta["vote_type"] != "approval":
            raise PabulibError(f"from_parts builds approval elections only, not {meta['vote_type']!r}")
        for project in projects:
            if "," in project.id:
                raise PabulibError(f"project id {project.id!r} holds a comma, which a VOTES list cannot carry")
        has_categories = any(project.categories for project in projects)
        project_columns = ["project_id", "cost", "votes", "name"] + (["category"] if has_categories else [])
        rows = []
        for project in projects:
            row = {"project_id": project.id, "cost": str(project.cost), "votes": str(votes[project.id])}
            row["name"] = project.name
            if has_categories:
                row["category"] = ",".join(sorted(project.categories))
            rows.append(row)
        voters = [{"voter_id": str(number), "vote": ",".join(ballot)} for number, ballot in enumerate(ballots, 1)]
        election = cls(meta, project_columns, rows, ["voter_id", "vote"], voters)
        election.warnings = _check(election)
        return election


def read(source: str | bytes | IO[str] | IO[bytes]) -> PabulibElection:
    """Parse a pabulib file from its text, its bytes or an open file; PabulibError if it is malformed."""
    if hasattr(source, "read"):
        try:
            source = source.read()
        except UnicodeDecodeError as error:
            raise PabulibError(f"the file is not UTF-8 text ({error.reason})") from None
    if isinstance(source, (bytes, bytearray)):
        source = _decode(bytes(source))
    return _Parser(source).election()


def read_file(path: str | Path) -> PabulibElection:
    """Parse the pabulib file at path; OSError if it cannot be opened, PabulibError if it is malformed."""
    return read(Path(path).read_bytes())


def write(election: PabulibElection) -> str:
    """The pabulib text of the election: `;`-separated with CSV quoting, laid out as the file it came from."""
    layout, others = election.layout, election.layout.other_line_endings
    sections = (
        ("META", ["key", "value"], [[key, value] for key, value in election.meta.items()]),
        (
            "PROJECTS",
            election.project_columns,
            [[row.get(c, "") for c in election.project_columns] for row in election.projects],
        ),
        ("VOTES", election.vote_columns, [[row.get(c, "") for c in election.vote_columns] for row in election.votes]),
    )
    parts = ["\ufeff"] if layout.has_byte_order_mark else []
    for name, columns, rows in sections:
        for position, record in enumerate([[name], columns, *rows]):
            parts.append(";".join(map(_quote, record)))
            parts.append(others.get((name, position), layout.line_ending))
    if not layout.has_final_line_ending:
        parts.pop()
    return "".join(parts)


def write_file(election: PabulibElection, path: str | Path) -> None:
    """Write the election as a UTF-8 pabulib file, byte for byte what write() gives."""
    Path(path).write_bytes(write(election).encode("utf-8"))


def _quote(text: str) -> str:
    # The csv module's minimal quoting, inlined: it is the hot loop of writing 100,000 ballots.
    if _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _amount(text: str, problem: str, what: str = "a number") -> tuple[int, int]:
    """(digits, decimals) of the number text writes: "1261899.87" -> (126189987, 2), "100000.0" -> (100000, 0).

    PabulibError(problem), phrased by the caller for its context, unless text is digits with at most one point;
    PabulibError naming `what` if it has more than MAX_DIGITS digits.
    """
    match = _NUMBER.fullmatch(text)
    if match is None or not (match.group(1) or match.group(2)):
        raise PabulibError(problem)
    whole, decimals = match.group(1), (match.group(2) or "").rstrip("0")
    if len(whole) + len(decimals) > MAX_DIGITS:
        # int() refuses texts of over 4,300 digits; no amount or count in a real file has more than twenty.
        written = len(whole) + len(decimals)
        raise PabulibError(f"{what} has {written:,} digits; pb reads numbers of at most {MAX_DIGITS} digits")
    return int(whole + decimals or "0"), len(decimals)


def _whole_number(text: str, problem: str, what: str = "a number") -> int:
    """The whole number text writes ("100000.0" is whole); otherwise PabulibError(problem)."""
    number, decimals = _amount(text, problem, what)
    if decimals:
        raise PabulibError(problem)
    return number


def _money(text: str, exponent: int, problem: str, what: str) -> int:
    """The amount text writes, in units of 10**-exponent (exponent is at least its number of decimals)."""
    number, decimals = _amount(text, problem, what)
    return number * 10 ** (exponent - decimals)


def _check_meta(meta: Mapping[str, str], line_of: Callable[[str | None], int | None] = lambda key: None) -> None:
    """A budget, a known vote_type, and whole numbers where the tally reads numbers; line_of(key) locates a key."""
    for key in ("budget", "vote_type"):
        if key not in meta:
            raise PabulibError(f"META has no {key}", line=line_of(None))
    if meta["vote_type"].strip() not in VOTE_TYPES:
        known = ", ".join(VOTE_TYPES)
        raise PabulibError(f"META vote_type is {meta['vote_type']!r}; pabulib knows {known}", line=line_of("vote_type"))
    for key in ("budget", "min_project_score_threshold", "max_length"):
        if key == "budget" or meta.get(key, "").strip():
            try:
                if key == "budget":
                    _amount(meta[key], f"META budget is {meta[key]!r}, not an amount of money", "META budget")
                else:
                    _whole_number(meta[key], f"META {key} is {meta[key]!r}, not a whole number", f"META {key}")
            except PabulibError as error:
                raise PabulibError(error.problem, line=line_of(key)) from None


def _missing_columns(section: str, columns: Sequence[str], vote_type: str | None) -> str | None:
    required = REQUIRED_COLUMNS[section] + (["points"] if section == "VOTES" and vote_type in POINTS_VOTE_TYPES else [])
    missing = [column for column in required if column not in columns]
    if not missing:
        return None
    needed_by = f", which {vote_type} votes need" if missing == ["points"] else ""
    return f"the {section} header has no {' or '.join(missing)} column{needed_by}"


def _project_from_row(row: Mapping[str, str], exponent: int | None = None) -> Project:
    """The project a PROJECTS row describes, its cost in units of 10**-exponent (None: as many as it writes)."""
    project_id = row["project_id"].strip()
    if not project_id:
        raise PabulibError("a project has an empty project_id")
    problem = f"project {project_id!r} has cost {row['cost']!r}, not an amount of money"
    what = f"the cost of {project_id!r}"
    cost = _amount(row["cost"], problem, what)[0] if exponent is None else _money(row["cost"], exponent, problem, what)
    if cost == 0:
        raise PabulibError(f"project {project_id!r} costs 0; a project must cost a positive amount")
    categories = frozenset(part.strip() for part in row.get("category", "").split(",") if part.strip())
    return Project(project_id, cost, row.get("name", ""), categories)


class _BallotReader:
    """Turns VOTES rows into ballots (project id -> points), checking them against PROJECTS and the vote type."""

    def __init__(self, election: PabulibElection) -> None:
        self.vote_type = election.vote_type
        self.has_points = self.vote_type in POINTS_VOTE_TYPES
        self.known = {row["project_id"].strip() for row in election.projects}
        self.max_length: int | None = None
        self.warnings: list[str] = []
        if self.vote_type == "ordinal":
            limit = election.meta.get("max_length", "").strip()
            if limit:
                self.max_length = _whole_number(limit, "META max_length is not a whole number")
            else:
                # Projects named twice count once (see ballot), so the longest ballot counts distinct projects.
                votes = {row["vote"] for row in election.votes if row["vote"].strip()}
                self.max_length = max((len({part.strip() for part in vote.split(",")}) for vote in votes), default=0)

    def key(self, row: Mapping[str, str]) -> tuple[str, str]:
        return row["vote"], row["points"] if self.has_points else ""

    def distinct(
        self, rows: Sequence[Mapping[str, str]], line_of: Callable[[int], int | None] = lambda index: None
    ) -> list[tuple[dict[str, int], int]]:
        """Each distinct ballot with how many voters cast it; the text is parsed once, not once per voter.

        A ballot naming a project more than once adds one warning to self.warnings, however many cast it.
        """
        keys = [self.key(row) for row in rows]
        ballots, repeats = [], {}
        for key, multiplicity in Counter(keys).items():
            try:
                ballot, repeat = self.ballot(*key)
            except PabulibError as error:
                index = keys.index(key)
                voter = rows[index]["voter_id"].strip()
                raise PabulibError(f"voter {voter!r} {error.problem}", line=line_of(index)) from None
            ballots.append((ballot, multiplicity))
            if repeat:
                repeats[key] = (repeat, multiplicity)
        if repeats:
            # One pass for the first voter of every such ballot: keys.index for each would pass once per ballot.
            first: dict[tuple[str, str], int] = {}
            for index, key in enumerate(keys):
                if key in repeats:
                    first.setdefault(key, index)
            for key, (repeat, multiplicity) in repeats.items():
                index = first[key]
                line = line_of(index)
                where = f"line {line}: " if line is not None else ""
                voter = rows[index]["voter_id"].strip()
                others = multiplicity - 1
                also = f", here and on the {others:,} other ballot{'s' if others > 1 else ''} like it" if others else ""
                self.warnings.append(f"{where}voter {voter!r} {repeat}{also}")
        return ballots

    def ballot(self, vote: str, points: str) -> tuple[dict[str, int], str]:
        """The ballot and, if it names a project more than once, a note of it ("names project 'a' twice; ...")."""
        named = [part.strip() for part in vote.split(",")] if vote.strip() else []
        for project_id in named:
            if project_id not in self.known:
                raise PabulibError(f"votes for {project_id!r}, which is not in PROJECTS")
        project_ids = list(dict.fromkeys(named))
        note = "" if len(project_ids) == len(named) else f"{_repeat(named)}; counted once"
        if self.vote_type == "choose-1" and len(project_ids) > 1:
            raise PabulibError(f"chooses {len(project_ids)} projects in a choose-1 vote")
        if self.vote_type == "ordinal":
            if len(project_ids) > self.max_length:
                raise PabulibError(f"ranks {len(project_ids)} projects but META max_length is {self.max_length}")
            # A repeated project keeps its first, best, rank; the projects after it move up, as pabutools reads it.
            return {project_id: self.max_length - rank for rank, project_id in enumerate(project_ids)}, note
        if not self.has_points:
            return dict.fromkeys(project_ids, 1), note
        texts = points.split(",") if points.strip() else []
        if len(texts) != len(named):
            raise PabulibError(f"votes for {len(named)} project(s) but gives {len(texts)} points value(s)")
        given = [
            _whole_number(
                text,
                f"gives {text!r} points to {project_id!r}, not a whole number of at least 0",
                f"gives {project_id!r} a number of points that",
            )
            for project_id, text in zip(named, texts)
        ]
        # A repeated project keeps the points given last, as in pabutools, whose parser stores them by project.
        ballot = dict(zip(named, given))
        if any(ballot[project_id] != n for project_id, n in zip(named, given)):
            note += ", with the points given last"
        return ballot, note


def _repeat(named: Sequence[str]) -> str:
    """What a ballot repeats, for a warning: "names project 'a' twice", "names projects 'a' twice and 'b' 3 times"."""
    counts = Counter(named)
    repeated = [(project_id, n) for project_id, n in counts.items() if n > 1]
    phrases = [f"{project_id!r} {'twice' if n == 2 else f'{n} times'}" for project_id, n in repeated]
    noun = "project" if len(phrases) == 1 else "projects"
    listed = phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
    return f"names {noun} {listed}"


@dataclass
class _Lines:
    """Where each section and row of a file starts, for error messages."""

    sections: dict[str, int] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(default_factory=dict)
    meta_keys: list[str] = field(default_factory=list)


def _check(election: PabulibElection, lines: _Lines | None = None) -> list[str]:
    """Refuse an election the tally could not read, naming the file line of the problem when it is known.

    Returns the warnings about what it reads all the same: ballots naming a project twice.
    """

    def row_line(section: str, index: int) -> int | None:
        return None if lines is None else lines.rows[section][index]

    def section_line(section: str, header: bool = False) -> int | None:
        return None if lines is None else lines.sections[section] + header

    def meta_line(key: str | None) -> int | None:
        if lines is None or key not in lines.meta_keys:
            return section_line("META")
        return row_line("META", lines.meta_keys.index(key))

    _check_meta(election.meta, meta_line)
    for section, columns in (("PROJECTS", election.project_columns), ("VOTES", election.vote_columns)):
        problem = _missing_columns(section, columns, election.vote_type)
        if problem:
            raise PabulibError(problem, line=section_line(section, header=True))
    seen: dict[str, int] = {}
    for index, row in enumerate(election.projects):
        try:
            project = _project_from_row(row)
        except PabulibError as error:
            raise PabulibError(error.problem, line=row_line("PROJECTS", index)) from None
        if project.id in seen:
            first = row_line("PROJECTS", seen[project.id])
            where = f" (first on line {first})" if first is not None else ""
            raise PabulibError(f"project {project.id!r} appears twice{where}", line=row_line("PROJECTS", index))
        seen[project.id] = index
    voter_ids = [row["voter_id"].strip() for row in election.votes]
    if len(set(voter_ids)) != len(voter_ids) or "" in voter_ids:
        first_index: dict[str, int] = {}
        for index, voter_id in enumerate(voter_ids):
            if not voter_id:
                raise PabulibError("a voter has an empty voter_id", line=row_line("VOTES", index))
            if voter_id in first_index:
                first = row_line("VOTES", first_index[voter_id])
                where = f" (first on line {first})" if first is not None else ""
                raise PabulibError(f"voter {voter_id!r} appears twice{where}", line=row_line("VOTES", index))
            first_index[voter_id] = index
    reader = _BallotReader(election)
    reader.distinct(election.votes, lambda index: row_line("VOTES", index))
    return reader.warnings


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise PabulibError(f"the file is not UTF-8 text (byte 0x{data[error.start]:02x})", line=line) from None


class _Parser:
    """One pass over the file's records with the csv module, remembering where records start and end."""

    def __init__(self, text: str) -> None:
        self.layout = Layout()
        if text.startswith("\ufeff"):
            self.layout.has_byte_order_mark = True
            text = text[1:]
        pieces = text.split("\n")
        if pieces[-1] == "":
            pieces.pop()
        else:
            self.layout.has_final_line_ending = False
        # csv needs each line with its ending so that a quoted field may run over several lines.
        self.physical = [piece + "\n" for piece in pieces]
        if pieces and not self.layout.has_final_line_ending:
            self.physical[-1] = pieces[-1]
        self.lines = _Lines()
        self.headers: dict[str, list[str]] = {}
        self.records: dict[str, list[list[str]]] = {}
        self.ends: dict[str, list[int]] = {}  # per section, the line each record (name, header, rows) ends on
        self.quote_lines: list[int] = []  # where records start that strict quoting refuses (read leniently)

    def election(self) -> PabulibElection:
        try:
            election = self.read()
        except PabulibError as error:
            # A quote left open swallows the lines after it: the refusal is then about a later line.
            before = [line for line in self.quote_lines if error.line is None or line <= error.line]
            if not before:
                raise
            hint = f" (line {before[-1]} has a badly quoted field)"
            raise PabulibError(error.problem + hint, line=error.line) from None
        election.warnings = [
            f"line {line}: a badly quoted field, read as pabutools reads it (Python's csv module, not strict)"
            for line in self.quote_lines
        ] + election.warnings
        return election

    def read(self) -> PabulibElection:
        self.parse()
        for name in SECTIONS:
            if name not in self.lines.sections:
                raise PabulibError(
                    f"the file ends without a {name} section (a pabulib file has META, PROJECTS and VOTES)",
                    line=len(self.physical) + 1,
                )
            if name not in self.headers:
                raise PabulibError(f"the {name} section has no header line", line=self.lines.sections[name] + 1)
        meta: dict[str, str] = {}
        for index, (key, value) in enumerate(self.records["META"]):
            if key in meta:
                raise PabulibError(f"META has {key!r} twice", line=self.lines.rows["META"][index])
            meta[key] = value
        self.lines.meta_keys = list(meta)
        project_columns, vote_columns = self.headers["PROJECTS"], self.headers["VOTES"]
        election = PabulibElection(
            meta=meta,
            project_columns=project_columns,
            projects=[dict(zip(project_columns, row)) for row in self.records["PROJECTS"]],
            vote_columns=vote_columns,
            votes=[dict(zip(vote_columns, row)) for row in self.records["VOTES"]],
            layout=self.layout,
        )
        election.warnings = _check(election, self.lines)
        self.settle_line_endings()
        return election

    def parse(self) -> None:
        """Read every record, strictly; a record strict quoting refuses is read again as pabutools reads it."""
        remaining = iter(self.physical)
        offset = 0  # the lines read by the readers before the current one
        pending: list[list[str]] = []  # a badly quoted record, read leniently, to take before the next ones
        section, start = None, 1
        # This loop runs once per voter on files of 100,000 voters, so data rows take the short path first.
        # width is the header's field count, -1 until the section's header is read (so no row length matches).
        width, records, starts, ends = -1, [], [], []
        while True:
            reader = csv.reader(remaining, delimiter=";", strict=True)
            rows, pending = chain(pending, reader), []
            try:
                for row in rows:
                    end = offset + reader.line_num
                    if len(row) == width:
                        records.append(row)
                        starts.append(start)
                        ends.append(end)
                        start = end + 1
                        continue
                    line, start = start, end + 1
                    if not row:
                        continue
                    if len(row) == 1 and row[0].strip().upper() in SECTIONS:
                        section = self.start_section(row[0].strip().upper(), line)
                        width, records, starts, ends = (
                            -1,
                            self.records[section],
                            self.lines.rows[section],
                            self.ends[section],
                        )
                        ends.append(end)
                    elif section is None:
                        found = ";".join(row)
                        raise PabulibError(
                            f"expected a section name (META, PROJECTS or VOTES), found {found!r}", line=line
                        )
                    elif width < 0:
                        self.check_header(section, row, line)
                        self.headers[section] = row
                        width = len(row)
                        ends.append(end)
                    else:
                        columns = ";".join(self.headers[section])
                        raise PabulibError(
                            f"{section} rows have {width} fields ({columns}); this one has {len(row)}", line=line
                        )
                break
            except csv.Error:
                # pabutools reads with the csv module's default, lenient quoting: read this record (from its first
                # line) that way. Its lines are those the strict reader took, then any more the lenient one needs.
                taken = self.physical[start - 1 : offset + reader.line_num]
                lenient = csv.reader(chain(taken, remaining), delimiter=";")
                pending = [self.lenient_record(lenient, start)]
                offset = start - 1 + lenient.line_num
                self.quote_lines.append(start)
        if not self.lines.sections:
            raise PabulibError("the file is empty; a pabulib file has META, PROJECTS and VOTES sections", line=1)

    @staticmethod
    def lenient_record(reader: "csv._reader", line: int) -> list[str]:
        try:
            return next(reader)
        except csv.Error as error:
            # The lines were split at \n, so csv's "new-line character" can only be a lone carriage return.
            problem = "a carriage return inside an unquoted field" if "new-line" in str(error) else str(error)
            raise PabulibError(f"badly quoted field ({problem})", line=line) from None

    def start_section(self, name: str, line: int) -> str:
        if name in self.lines.sections:
            raise PabulibError(
                f"a second {name} section (the first starts on line {self.lines.sections[name]})", line=line
            )
        self.lines.sections[name] = line
        self.lines.rows[name] = []
        self.records[name] = []
        self.ends[name] = []
        return name

    def check_header(self, section: str, row: Sequence[str], line: int) -> None:
        if section == "META" and row != REQUIRED_COLUMNS["META"]:
            raise PabulibError(f"the META header must be 'key;value', not {';'.join(row)!r}", line=line)
        if any(not column.strip() for column in row):
            raise PabulibError(f"the {section} header has an empty column name", line=line)
        repeated = sorted({column for column in row if row.count(column) > 1})
        if repeated:
            raise PabulibError(f"the {section} header has the column {repeated[0]!r} twice", line=line)
        # points is checked once META's vote_type is known; the other required columns can be checked now.
        problem = _missing_columns(section, row, None)
        if problem:
            raise PabulibError(problem, line=line)

    def settle_line_endings(self) -> None:
        """The usual line ending, and each record that ends otherwise (Wieliczka 2023 has one such line)."""
        windows = sum(1 for line in self.physical if line.endswith("\r\n"))
        unix = sum(1 for line in self.physical if line.endswith("\n"))
        if windows in (0, unix):
            self.layout.line_ending = "\r\n" if windows else "\n"
            return
        usual = "\r\n" if windows * 2 >= unix else "\n"
        self.layout.line_ending = usual
        for section, ends in self.ends.items():
            for position, end in enumerate(ends):
                line = self.physical[end - 1]
                ending = "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else ""
                if ending and ending != usual:
                    self.layout.other_line_endings[(section, position)] = ending
