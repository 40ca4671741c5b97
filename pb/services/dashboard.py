"""The officials' dashboard while a cycle runs: turnout, verification and paper ballots, never what anyone chose.

Everything here is read from who voted (paper marks, and how many sealed ballots there are, never their contents),
who is verified and how, the register, the codes and the paper sheets' statuses. Nothing reads a ballot or a count,
so no per-project number can reach the dashboard before (or after) publication.
"""

from dataclasses import dataclass, field, fields
from datetime import date

from sqlalchemy import func, select

from pb.extensions import db
from pb.models import Cycle, District, Verification, VotingCode
from pb.services import paper, verification
from pb.services.voting import turnout_by_channel, verified_counts, voters_per_day


@dataclass
class Counts:
    """Counts for one district, or for the whole cycle."""

    verified: int = 0
    online: int = 0
    paper: int = 0
    register_entries: int = 0
    register_used: int = 0
    codes_issued: int = 0
    codes_used: int = 0
    codes_voided: int = 0
    sheets_agreed: int = 0
    sheets_spoilt: int = 0
    sheets_pending: int = 0
    sheets_disagreed: int = 0

    @property
    def voted(self) -> int:
        return self.online + self.paper

    @property
    def turnout_percent(self) -> int | None:
        """Voters as a whole percentage of the verified residents (None when nobody is verified yet)."""
        return round(100 * self.voted / self.verified) if self.verified else None

    @property
    def codes_open(self) -> int:
        return self.codes_issued - self.codes_used - self.codes_voided

    def plus(self, other: "Counts") -> "Counts":
        return Counts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


@dataclass
class DistrictCounts:
    district: District
    counts: Counts


@dataclass
class Day:
    """One voting day: voters online and on paper, per district and in total, and the running total."""

    day: date
    online: int = 0
    paper: int = 0
    by_district: dict[int, int] = field(default_factory=dict)
    running_total: int = 0

    @property
    def voted(self) -> int:
        return self.online + self.paper


@dataclass(frozen=True)
class MethodCount:
    """How many residents were verified one way; `label` is a message the page translates ("with a voting code")."""

    method: str
    label: str
    count: int


@dataclass
class Dashboard:
    cycle: Cycle
    districts: list[DistrictCounts]
    total: Counts
    days: list[Day]
    methods: list[MethodCount]  # verified residents by how they were verified
    lockouts: int
    unresolved_sheets: int


def _code_counts(cycle: Cycle) -> dict[int, tuple[int, int, int]]:
    """Per district id: (codes issued, used, voided)."""
    rows = db.session.execute(
        select(VotingCode.district_id, func.count(), func.count(VotingCode.used_by_id), func.count(VotingCode.voided_at))
        .where(VotingCode.cycle_id == cycle.id).group_by(VotingCode.district_id)
    ).all()
    return {row[0]: (row[1], row[2], row[3]) for row in rows}


def _days(cycle: Cycle) -> list[Day]:
    days: dict[date, Day] = {}
    for voted_on, district_id, channel, count in voters_per_day(cycle):
        day = days.setdefault(voted_on, Day(day=voted_on, by_district={d.id: 0 for d in cycle.districts}))
        if channel == "paper":
            day.paper += count
        else:
            day.online += count
        day.by_district[district_id] = day.by_district.get(district_id, 0) + count
    running = 0
    for day in days.values():
        running += day.voted
        day.running_total = running
    return list(days.values())


def _methods(cycle: Cycle) -> list[MethodCount]:
    rows = db.session.execute(
        select(Verification.method, func.count()).where(Verification.cycle_id == cycle.id)
        .group_by(Verification.method).order_by(Verification.method)
    ).all()
    # The label stays a message (N_) so the page translates it for its reader; the old dict of labels was printed
    # as is, in English, whatever the reader's language.
    return [MethodCount(method, verification.METHOD_LABELS.get(method, method), count) for method, count in rows]


def dashboard(cycle: Cycle) -> Dashboard:
    """Turnout by district and day, verification progress and paper sheets still open, for one cycle."""
    turnout = turnout_by_channel(cycle)
    verified = verified_counts(cycle)
    register = verification.register_counts(cycle)
    codes = _code_counts(cycle)
    sheets = paper.sheet_counts(cycle)
    districts = []
    total = Counts()
    for district in cycle.districts:
        issued, used, voided = codes.get(district.id, (0, 0, 0))
        summary = sheets[district.id]
        counts = Counts(
            verified=verified[district.id], online=turnout[district.id]["online"],
            paper=turnout[district.id]["paper"], register_entries=register[district.id][0],
            register_used=register[district.id][1], codes_issued=issued, codes_used=used, codes_voided=voided,
            sheets_agreed=summary.agreed, sheets_spoilt=summary.spoilt, sheets_pending=summary.pending,
            sheets_disagreed=summary.disagreed,
        )
        districts.append(DistrictCounts(district=district, counts=counts))
        total = total.plus(counts)
    return Dashboard(
        cycle=cycle, districts=districts, total=total, days=_days(cycle), methods=_methods(cycle),
        lockouts=len(verification.lockouts(cycle)),
        unresolved_sheets=total.sheets_pending + total.sheets_disagreed,
    )
