"""A demo town with one finished cycle and one open for voting, built through the real use cases."""

from datetime import datetime, time, timedelta

from pb.domain import timetable
from pb.domain.cycle import Phase
from pb.models import Role, User, utcnow
from pb.services import cycles, moderation, proposals, publication, tallying, users, voting
from pb.services.cycles import CycleSettings
from pb.services.proposals import ProposalDraft

DEMO_PASSWORD = "demo-password"
OFFICIAL = "official@example.org"
SECOND_OFFICIAL = "official2@example.org"  # results are published only once two different officials approve them
MODERATOR = "moderator@example.org"
RESIDENTS = ["resident@example.org"] + [f"resident{n}@example.org" for n in range(2, 13)]
CATEGORIES = ["Children and youth", "Culture", "Green spaces", "Sport", "Streets and mobility"]

# (title, category, cost in euros, summary)
_NORTHSIDE_2026 = [
    ("Shade trees on Market Square", "Green spaces", 18_000, "Twelve large trees to cool the square in summer."),
    ("Safe crossing at Elm School", "Streets and mobility", 25_000, "A raised zebra crossing and warning lights."),
    ("Reading corner in the library garden", "Culture", 9_500, "Benches, a roof and a book swap shelf."),
    ("Outdoor gym in Riverside Park", "Sport", 22_000, "Eight weather-proof exercise machines."),
    ("Bike racks at the station", "Streets and mobility", 6_000, "Covered racks for forty bicycles."),
    ("Community fridge", "Children and youth", 4_500, "A shared fridge against food waste, run by volunteers."),
    ("Skate park repair", "Sport", 30_000, "New ramps and a smooth surface."),
    ("Street lights on Mill Lane", "Streets and mobility", 15_000, "Six LED lights on the dark path to the river."),
]
_SOUTHSIDE_2026 = [
    ("Playground renewal on Oak Street", "Children and youth", 28_000, "Safe new equipment for small children."),
    ("Pop-up cinema nights", "Culture", 7_000, "Six free open-air films in summer."),
    ("Wildflower meadows", "Green spaces", 5_500, "Turn three lawns into meadows for bees."),
    ("Benches at bus stops", "Streets and mobility", 12_000, "Benches at the ten busiest stops."),
    ("Youth music studio", "Children and youth", 24_000, "A soundproof room with instruments at the youth centre."),
    ("Repair café tools", "Culture", 3_000, "Tools for the monthly repair café."),
]
_NORTHSIDE_2025 = [
    ("New benches along the river", "Green spaces", 14_000, "Twenty benches on the river path."),
    ("Traffic calming on High Street", "Streets and mobility", 35_000, "Speed cushions and planters."),
    ("Open-air chess tables", "Culture", 6_000, "Four stone chess tables in the park."),
    ("Basketball court lights", "Sport", 16_000, "Lights so the court can be used in winter evenings."),
]
_SOUTHSIDE_2025 = [
    ("Drinking fountains", "Green spaces", 9_000, "Three fountains in the parks."),
    ("After-school homework club", "Children and youth", 20_000, "A room and tutors twice a week."),
    ("Mural on the underpass", "Culture", 8_000, "Local artists paint the grey underpass."),
]


def demo_accounts() -> list[tuple[str, str]]:
    return [(OFFICIAL, "official"), (SECOND_OFFICIAL, "official"), (MODERATOR, "moderator")] + [
        (email, "resident") for email in RESIDENTS
    ]


def _account(email: str, name: str, role: Role) -> User:
    return users.find_by_email(email) or users.create_user(email, name, DEMO_PASSWORD, role)


DEMO_REASON = "Demo data: the whole cycle is played through at once when the demo is loaded."


def _advance(official: User, cycle) -> None:
    """Move a demo cycle on from the phase it is in; the demo keeps no timetable, and says so."""
    cycles.advance_phase(official, cycle.id, cycles.get_cycle(cycle.id).phase, DEMO_REASON)


def _run_cycle(
    official: User, second_official: User, moderator: User, residents: list[User], name: str, rule: str,
    districts: dict[str, list[tuple[str, str, int, str]]], budgets: dict[str, int], stop_at: Phase,
    days: tuple[int, int, int, int, int], skip_voters: int = 0,
) -> None:
    """Play a cycle through to `stop_at`; `days` are its five moments, in days from today (at 09:00, voting closes at
    20:00, in the site's zone), so that the timetable the worker keeps never moves the demo on by itself."""
    zone = cycles.default_zone()
    today = timetable.local(utcnow(), zone).date()

    def moment(offset: int, hour: int = 9) -> datetime:
        return timetable.to_utc(datetime.combine(today + timedelta(days=offset), time(hour)), zone)

    cycle = cycles.create_cycle(
        official,
        CycleSettings(
            name=name, total_budget=sum(budgets.values()) * 100, currency="EUR", rule=rule,
            description="Residents propose and choose how to spend part of the town's budget.",
            timezone=zone, proposals_open_at=moment(days[0]), review_at=moment(days[1]),
            voting_open_at=moment(days[2]), voting_close_at=moment(days[3], 20), results_at=moment(days[4]),
        ),
        districts=[(district, budget * 100) for district, budget in budgets.items()],
    )
    category_ids = {c: cycles.add_category(official, cycle.id, c).id for c in CATEGORIES}
    _advance(official, cycle)
    district_ids = {d.name: d.id for d in cycle.districts}
    submitted = []
    for district, entries in districts.items():
        for index, (title, category, cost, summary) in enumerate(entries):
            author = residents[index % len(residents)]
            draft = ProposalDraft(
                title=title, summary=summary, description=summary + " Proposed by a resident of " + district + ".",
                estimated_cost=cost * 100, district_id=district_ids[district], category_id=category_ids[category],
                location=district,
            )
            submitted.append(proposals.submit_proposal(author, cycle.id, draft))
    _advance(official, cycle)
    for proposal in submitted:
        moderation.accept(moderator, proposal.id, proposal.estimated_cost, "", version=proposal.version)
    _advance(official, cycle)
    ballots_by_district = {d: [p.id for p in submitted if p.district_id == district_ids[d]] for d in districts}
    for number, resident in enumerate(residents):
        district = list(districts)[number % len(districts)]
        voting.verify_resident(official, resident.id, district_ids[district])
        if number < skip_voters:
            continue
        ids = ballots_by_district[district]
        # Different residents like different things: a rotating window of three neighbouring projects.
        choice = [ids[(number + k) % len(ids)] for k in range(3)]
        costs = {p.id: p.cost for p in submitted}
        while sum(costs[i] for i in choice) > budgets[district] * 100:
            choice.pop()
        # A finished demo cycle replays its history: its ballots were cast before its (past) closing moment.
        voting.cast_ballot(resident, cycle.id, district_ids[district], choice,
                           now=min(utcnow(), cycle.voting_close_at - timedelta(hours=1)))
    if stop_at is Phase.VOTING:
        return
    _advance(official, cycle)
    tallying.run_tally(official, cycle.id)
    publication.approve_results(official, cycle.id)
    publication.approve_results(second_official, cycle.id)
    _advance(official, cycle)


def load_demo() -> bool:
    """Create the demo accounts and cycles unless they exist; True if anything was created."""
    if any(c.name == "Riverside 2026" for c in cycles.list_cycles(include_drafts=True)):
        return False
    official = _account(OFFICIAL, "Olivia Official", Role.OFFICIAL)
    second_official = _account(SECOND_OFFICIAL, "Oscar Official", Role.OFFICIAL)
    moderator = _account(MODERATOR, "Max Moderator", Role.MODERATOR)
    residents = [_account(email, f"Resident {n + 1}", Role.RESIDENT) for n, email in enumerate(RESIDENTS)]
    _run_cycle(
        official, second_official, moderator, residents, "Riverside 2025", "greedy",
        {"Northside": _NORTHSIDE_2025, "Southside": _SOUTHSIDE_2025}, {"Northside": 50_000, "Southside": 30_000},
        stop_at=Phase.RESULTS, days=(-330, -240, -75, -45, -40),
    )
    # resident@example.org (the first) is verified but has not voted, so a visitor can try the ballot.
    _run_cycle(
        official, second_official, moderator, residents, "Riverside 2026", "mes-add1",
        {"Northside": _NORTHSIDE_2026, "Southside": _SOUTHSIDE_2026}, {"Northside": 80_000, "Southside": 60_000},
        # Voting opened a week ago and closes in 14 days: the worker leaves it open until then.
        stop_at=Phase.VOTING, days=(-120, -45, -7, 14, 20), skip_voters=1,
    )
    return True
