"""A demo town: its identity, last year's finished cycle, and this year's open for voting with a map, photos and
comments, beside a cycle of each other ballot design (approval and ranking published, cumulative points open for
voting); built by the use cases, each step replayed at the moment the cycle's timetable published for it."""

import io
import json
from datetime import date, datetime, time, timedelta

from PIL import Image, ImageDraw

from pb.domain import timetable
from pb.domain.ballots import APPROVAL, CUMULATIVE, KNAPSACK, RANKING, BallotDesign
from pb.domain.cycle import Phase
from pb.models import Cycle, Proposal, Role, User, utcnow
from pb.services import (
    ballot_designs,
    branding,
    comments,
    cycles,
    media,
    moderation,
    places,
    proposals,
    publication,
    load,
    tallying,
    use_case,
    users,
    voting,
)
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


# The cycles of the other ballot designs, each run as a city that uses the design does.
# Approval (as New York City's): choose up to three school projects, whatever they cost.
_SCHOOLS_NORTHSIDE = [
    ("Laptops for Elm School", "Children and youth", 40_000, "Thirty laptops for the computer lab."),
    ("Science lab renewal", "Children and youth", 55_000, "New benches, sinks and safety equipment."),
    ("School garden", "Green spaces", 12_000, "Raised beds and a tool shed behind the gym."),
    ("Library books", "Culture", 8_000, "Five hundred new books for the school library."),
    ("Water bottle fillers", "Children and youth", 6_000, "Six fountains that fill bottles in the corridors."),
]
_SCHOOLS_SOUTHSIDE = [
    ("Gym floor repair", "Sport", 30_000, "A new sprung floor for the Oak Street gym."),
    ("Music room instruments", "Culture", 18_000, "Guitars, drums and a piano for lessons."),
    ("Shaded schoolyard", "Green spaces", 22_000, "Sails and trees over the playground."),
    ("Accessible toilets", "Children and youth", 35_000, "Two toilets a wheelchair user can use."),
]
# Cumulative points (as Katowice's and Zurich's): 10 points to spread, at most 5 on one park project.
_PARKS_NORTHSIDE = [
    ("Dog park by the river", "Green spaces", 14_000, "A fenced meadow where dogs run free."),
    ("Picnic tables in Riverside Park", "Green spaces", 7_000, "Ten tables under the old oaks."),
    ("Park toilets", "Streets and mobility", 26_000, "A clean, accessible toilet block open all year."),
    ("Pond clean-up", "Green spaces", 19_000, "Dredge the pond and plant its banks."),
    ("Table tennis tables", "Sport", 5_000, "Three concrete tables by the playground."),
]
_PARKS_SOUTHSIDE = [
    ("Orchard on Hill Road", "Green spaces", 9_000, "Thirty fruit trees anyone may pick from."),
    ("Park lighting", "Streets and mobility", 21_000, "Lights along the main park paths."),
    ("Nature trail signs", "Culture", 4_000, "Boards about the birds and trees of the park."),
    ("Pump track", "Sport", 28_000, "A loop of bumps for bikes, scooters and skates."),
]
# Ranking (as Kraków's): rank your three favourite street projects; ranks count 3, 2 and 1 points.
_STREETS_NORTHSIDE = [
    ("Cycle lane on River Road", "Streets and mobility", 45_000, "A protected lane from the bridge to the station."),
    ("New pavement on Mill Lane", "Streets and mobility", 20_000, "Even paving for prams and wheelchairs."),
    ("Trees along High Street", "Green spaces", 16_000, "Twenty street trees in the wide pavement."),
    ("Speed display signs", "Streets and mobility", 7_000, "Four signs that show drivers their speed."),
    ("Street art on the station wall", "Culture", 5_000, "A mural by local school pupils."),
]
_STREETS_SOUTHSIDE = [
    ("Zebra crossing on Oak Street", "Streets and mobility", 12_000, "A safe crossing by the playground."),
    ("Bus shelter with a green roof", "Green spaces", 15_000, "A shelter that keeps riders dry and feeds bees."),
    ("Quiet street for children", "Children and youth", 10_000, "Close Pine Street to cars after school."),
    ("Bicycle repair stand", "Streets and mobility", 3_000, "A pump and tools chained by the library."),
]

# Longer descriptions, in Markdown, for a few projects (the others repeat their summary).
_DESCRIPTIONS = {
    "Shade trees on Market Square": (
        "Market Square has no shade at all: on a July afternoon its paving is too hot to sit on.\n\n"
        "## What we propose\n\n"
        "- twelve lime trees in large planters along the east and west sides;\n"
        "- watering bags for their first three summers;\n"
        "- four benches under the trees.\n\n"
        "The parks team has checked that **no pipes** run under the planters."
    ),
    "Youth music studio": (
        "The youth centre has a room nobody uses. With this project it becomes a studio:\n\n"
        "1. soundproofing on the walls and the door;\n"
        "2. a drum kit, two amplifiers, a keyboard and microphones;\n"
        "3. a booking sheet, so every band gets its evenings.\n\n"
        "Young people from *both* schools asked for it."
    ),
}

# The fictional town's districts as rectangles: (south, north, west, east) in degrees, around 52.23 N, 21.01 E.
_DISTRICT_BOUNDS = {"Northside": (52.230, 52.262, 20.970, 21.050), "Southside": (52.198, 52.230, 20.970, 21.050)}
# Projects spread over many places have no single point on the map.
_WITHOUT_POINT = {"Pop-up cinema nights", "Benches at bus stops", "Drinking fountains"}

# Residents talk about a few projects of the open cycle: (project, author's index in RESIDENTS, text, replies).
_DISCUSSION = [
    ("Shade trees on Market Square", 2, "Yes please! Nobody can sit on the square in August.",
     [(0, "Thank you! Lime trees grow fast: the parks team expects real shade within three summers.")]),
    ("Safe crossing at Elm School", 3, "My children cross there every morning, and the cars do not slow down.", []),
    ("Playground renewal on Oak Street", 4, "Could the new equipment include a swing a wheelchair fits on?",
     [(6, "Good idea: Oak Street is the only playground in Southside, so it should suit every child.")]),
]


def demo_accounts() -> list[tuple[str, str]]:
    return [(OFFICIAL, "official"), (SECOND_OFFICIAL, "official"), (MODERATOR, "moderator")] + [
        (email, "resident") for email in RESIDENTS
    ]


def _account(email: str, name: str, role: Role) -> User:
    return users.find_by_email(email) or users.create_user(email, name, DEMO_PASSWORD, role)


# The moment of the timetable each move out of a phase keeps.
_KEPT_MOMENT = {Phase.DRAFT: "proposals_open_at", Phase.PROPOSALS: "review_at", Phase.REVIEW: "voting_open_at",
                Phase.VOTING: "voting_close_at", Phase.TALLYING: "results_at"}

# The demo town's identity: colours that pass WCAG AA (the primary on white, white text on the header band).
DEMO_IDENTITY = branding.IdentitySettings(
    name="Riverside decides", tagline="The participatory budget of the town of Riverside",
    logo_alt="Riverside town logo: a blue river under a green hill",
    primary_colour="#1d5e8c", header_colour="#0f3d5e",
    contact_address="Riverside Town Hall, Participation Office\n1 Market Square\n00-001 Riverside",
    contact_phone="+48 22 123 45 67", contact_email="budget@riverside.example",
    opening_hours="Monday to Friday, 8:00 to 16:00\nThursday until 18:00",
)


def cycle_names(today=None) -> tuple[str, str]:
    """The demo's cycles: last year's (finished) and this year's (open for voting), named by their year."""
    year = (today or timetable.local(utcnow(), cycles.default_zone()).date()).year
    return f"Riverside {year - 1}", f"Riverside {year}"


def design_cycle_names(today=None) -> dict[str, str]:
    """The demo's cycle of each ballot design, by design: the knapsack is this year's open cycle."""
    year = (today or timetable.local(utcnow(), cycles.default_zone()).date()).year
    return {KNAPSACK: cycle_names(today)[1], APPROVAL: f"Riverside schools {year - 1}",
            CUMULATIVE: f"Riverside parks {year}", RANKING: f"Riverside streets {year - 1}"}


# The designs of the demo's other cycles (min and max projects are the cycle's own columns).
SCHOOLS_DESIGN = BallotDesign(kind=APPROVAL, min_projects=1, max_projects=3)
PARKS_DESIGN = BallotDesign(kind=CUMULATIVE, min_projects=1, points=10, max_points_per_project=5)
STREETS_DESIGN = BallotDesign(kind=RANKING, min_projects=1, max_projects=3)
# How residents spread their 10 points, in turn: never more than 5 on one project.
_POINT_PATTERNS = ((5, 3, 2), (4, 4, 2), (5, 5), (3, 3, 2, 2))


@use_case
def _replay_move(official: User, cycle_id: int) -> Phase:
    """Move a demo cycle on as if on the day its timetable published for that move, so it departs from no date."""
    cycle = load(Cycle, cycle_id, "cycle", for_update=True)
    return cycles.move_on(cycle, official, None, now=getattr(cycle, _KEPT_MOMENT[cycle.phase]))


def _advance(official: User, cycle) -> None:
    _replay_move(official, cycle.id)


def _demo_ballot(design: BallotDesign, number: int, ids: list[int], costs: dict[int, int],
                 budget: int) -> list[int] | dict[int, int]:
    """The number-th resident's ballot among a district's projects: different residents like different things, so
    each takes a rotating window of neighbouring projects."""
    window = [ids[(number + k) % len(ids)] for k in range(min(4, len(ids)))]
    if design.kind == CUMULATIVE:
        pattern = _POINT_PATTERNS[number % len(_POINT_PATTERNS)]
        return dict(zip(window, pattern, strict=False))
    if design.kind == RANKING:
        return {project_id: rank for rank, project_id in enumerate(window[:design.max_projects], start=1)}
    choice = window[:3]
    if design.kind == APPROVAL:
        return choice[:design.max_projects]
    while sum(costs[i] for i in choice) > budget:
        choice.pop()
    return choice


def _logo() -> bytes:
    """The demo town's logo, drawn at run time: a river under a hill, on a white tile."""
    image = Image.new("RGBA", (160, 160), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, 159, 159), radius=28, fill=(255, 255, 255, 255), outline=(15, 61, 94, 255), width=6)
    draw.pieslice((10, 40, 150, 180), 180, 360, fill=(46, 125, 50, 255))
    for top in (104, 124):
        draw.line([(14 + x, top + (6 if (x // 22) % 2 else 0)) for x in range(0, 132, 11)], fill=(29, 94, 140, 255),
                  width=8, joint="curve")
    draw.ellipse((104, 22, 136, 54), fill=(249, 168, 37, 255))
    data = io.BytesIO()
    image.save(data, "PNG")
    return data.getvalue()


def _boundaries() -> str:
    """The districts' rectangles as a GeoJSON FeatureCollection (positions are longitude, latitude)."""
    features = [
        {"type": "Feature", "properties": {"name": name},
         "geometry": {"type": "Polygon", "coordinates": [[[west, south], [east, south], [east, north], [west, north],
                                                         [west, south]]]}}
        for name, (south, north, west, east) in _DISTRICT_BOUNDS.items()
    ]
    return json.dumps({"type": "FeatureCollection", "features": features})


def _point(district: str, index: int, title: str) -> tuple[float | None, float | None]:
    """A fixed place inside the district for its index-th project: a grid of four columns, nudged off the lines."""
    if title in _WITHOUT_POINT:
        return None, None
    south, north, west, east = _DISTRICT_BOUNDS[district]
    row, column = divmod(index, 4)
    latitude = south + (north - south) * (0.2 + 0.3 * row + 0.05 * (column % 2))
    longitude = west + (east - west) * (0.14 + 0.22 * column + 0.03 * (row % 2))
    return round(latitude, 5), round(longitude, 5)


def _drawing(kind: str) -> bytes:
    """A simple picture drawn at run time (no photo files in the source): a tree, or a meadow in flower."""
    image = Image.new("RGB", (800, 600), (170, 210, 240))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 420, 800, 600), fill=(90, 160, 70))
    if kind == "tree":
        draw.rectangle((375, 260, 425, 470), fill=(110, 75, 40))
        draw.ellipse((230, 60, 570, 330), fill=(40, 120, 50))
        draw.ellipse((600, 40, 700, 140), fill=(250, 220, 80))
    else:
        draw.rectangle((0, 300, 800, 600), fill=(90, 160, 70))
        colours = [(230, 80, 90), (250, 220, 80), (150, 110, 220), (255, 255, 255)]
        for number in range(160):
            x, y = (number * 197) % 780 + 10, 310 + (number * number * 31) % 280
            draw.ellipse((x - 7, y - 7, x + 7, y + 7), fill=colours[number % len(colours)])
    data = io.BytesIO()
    image.save(data, "PNG")
    return data.getvalue()


# (project, drawing, alt text) of the photos shown in the open cycle.
_PHOTOS = [
    ("Shade trees on Market Square", "tree", "Drawing of a large tree with a round green crown on a lawn, in the sun."),
    ("Wildflower meadows", "meadow", "Drawing of a lawn full of red, yellow, purple and white flowers."),
]


def _illustrate_and_discuss(residents: list[User], submitted: list[Proposal]) -> None:
    """While proposals are open: authors add photos, and residents comment and reply (each step a real use case)."""
    by_title = {proposal.title: proposal for proposal in submitted}
    for title, kind, alt_text in _PHOTOS:
        proposal = by_title[title]
        media.add_photo(proposal.author, proposal.id, _drawing(kind), alt_text)
    for title, author, text, replies in _DISCUSSION:
        proposal_id = by_title[title].id
        comment = comments.post_comment(residents[author], proposal_id, text)
        for reply_author, reply in replies:
            comments.post_comment(residents[reply_author], proposal_id, reply, parent_id=comment.id)


def _run_cycle(
    official: User, second_official: User, moderator: User, residents: list[User], name: str, rule: str,
    districts: dict[str, list[tuple[str, str, int, str]]], budgets: dict[str, int], stop_at: Phase,
    days: tuple[date, date, date, date, date], skip_voters: int = 0, has_discussion: bool = False,
    design: BallotDesign | None = None,
) -> None:
    """Play a cycle through to `stop_at`; `days` are the days of its five moments (at 09:00, voting closes at
    20:00, in the site's zone). Each phase moves on at its published moment and each ballot is cast while voting was
    open, so the cycle's history reads as it would have happened; the open cycle's moments are chosen so that the
    timetable the worker keeps never moves the demo on by itself. `design`: the ballot design (default: knapsack)."""
    zone = cycles.default_zone()
    design = design or BallotDesign(kind=KNAPSACK)

    def moment(day: date, hour: int = 9) -> datetime:
        return timetable.to_utc(datetime.combine(day, time(hour)), zone)

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
    if design.kind != KNAPSACK:
        ballot_designs.save_cycle_design(official, cycle.id, design)
    places.set_cycle_boundaries(official, cycle.id, _boundaries())
    _advance(official, cycle)
    district_ids = {d.name: d.id for d in cycle.districts}
    submitted = []
    for district, entries in districts.items():
        for index, (title, category, cost, summary) in enumerate(entries):
            author = residents[index % len(residents)]
            latitude, longitude = _point(district, index, title)
            draft = ProposalDraft(
                title=title, summary=summary,
                description=_DESCRIPTIONS.get(title, summary + " Proposed by a resident of " + district + "."),
                estimated_cost=cost * 100, district_id=district_ids[district], category_id=category_ids[category],
                location=district, latitude=latitude, longitude=longitude,
            )
            submitted.append(proposals.submit_proposal(author, cycle.id, draft))
    if has_discussion:
        _illustrate_and_discuss(residents, submitted)
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
        costs = {p.id: p.cost for p in submitted}
        choice = _demo_ballot(design, number, ballots_by_district[district], costs, budgets[district] * 100)
        # Ballots are cast over voting's first week (never later than now): last year's are dated last year.
        cast_at = min(utcnow(), cycle.voting_open_at + timedelta(days=number % 7, hours=2 + number))
        voting.cast_ballot(resident, cycle.id, district_ids[district], choice, now=cast_at)
    if stop_at is Phase.VOTING:
        return
    _advance(official, cycle)
    tallying.run_tally(official, cycle.id)
    publication.approve_results(official, cycle.id)
    publication.approve_results(second_official, cycle.id)
    _advance(official, cycle)


def load_demo() -> bool:
    """Create the demo identity, accounts and cycles unless they exist; True if anything was created."""
    today = timetable.local(utcnow(), cycles.default_zone()).date()
    past_name, open_name = cycle_names(today)
    names = design_cycle_names(today)
    if any(c.name in (past_name, *names.values()) for c in cycles.list_cycles(include_drafts=True)):
        return False
    official = _account(OFFICIAL, "Olivia Official", Role.OFFICIAL)
    if not branding.current().name:  # a city that set its own identity keeps it
        branding.save(official, DEMO_IDENTITY, logo=_logo())
    second_official = _account(SECOND_OFFICIAL, "Oscar Official", Role.OFFICIAL)
    moderator = _account(MODERATOR, "Max Moderator", Role.MODERATOR)
    residents = [_account(email, f"Resident {n + 1}", Role.RESIDENT) for n, email in enumerate(RESIDENTS)]
    _run_cycle(
        official, second_official, moderator, residents, past_name, "greedy",
        {"Northside": _NORTHSIDE_2025, "Southside": _SOUTHSIDE_2025}, {"Northside": 50_000, "Southside": 30_000},
        stop_at=Phase.RESULTS,
        days=tuple(date(today.year - 1, month, day) for month, day in ((2, 2), (4, 1), (6, 1), (6, 21), (6, 30))),
    )
    # resident@example.org (the first) is verified but has not voted, so a visitor can try the ballot.
    _run_cycle(
        official, second_official, moderator, residents, open_name, "mes-add1",
        {"Northside": _NORTHSIDE_2026, "Southside": _SOUTHSIDE_2026}, {"Northside": 80_000, "Southside": 60_000},
        # Voting opened a week ago and closes in 14 days: the worker leaves it open until then.
        stop_at=Phase.VOTING, days=tuple(today + timedelta(days=offset) for offset in (-120, -45, -7, 14, 20)),
        skip_voters=1, has_discussion=True,
    )
    _run_cycle(
        official, second_official, moderator, residents, names[APPROVAL], "greedy",
        {"Northside": _SCHOOLS_NORTHSIDE, "Southside": _SCHOOLS_SOUTHSIDE}, {"Northside": 90_000, "Southside": 60_000},
        stop_at=Phase.RESULTS, design=SCHOOLS_DESIGN,
        days=tuple(date(today.year - 1, month, day) for month, day in ((8, 1), (9, 1), (10, 1), (10, 21), (10, 31))),
    )
    _run_cycle(
        official, second_official, moderator, residents, names[RANKING], "greedy",
        {"Northside": _STREETS_NORTHSIDE, "Southside": _STREETS_SOUTHSIDE}, {"Northside": 60_000, "Southside": 25_000},
        stop_at=Phase.RESULTS, design=STREETS_DESIGN,
        days=tuple(date(today.year - 1, month, day) for month, day in ((3, 1), (5, 1), (7, 1), (7, 21), (7, 31))),
    )
    # Open for voting a few days more than the knapsack cycle, with resident@example.org again left to try it.
    _run_cycle(
        official, second_official, moderator, residents, names[CUMULATIVE], "mes-add1",
        {"Northside": _PARKS_NORTHSIDE, "Southside": _PARKS_SOUTHSIDE}, {"Northside": 45_000, "Southside": 35_000},
        stop_at=Phase.VOTING, days=tuple(today + timedelta(days=offset) for offset in (-100, -40, -5, 16, 22)),
        skip_voters=1, design=PARKS_DESIGN,
    )
    return True
