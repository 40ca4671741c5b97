"""Every page of the app, as every role sees it through a cycle's life, passes `Visit.check` at 1280 and 360 px.

One world per phase (tests/blueprints/worlds.py: a cycle, a project on the ballot, a pending proposal, a person of
every role; from tallying on a stored count, published from results on). In each, each role opens every GET route
of the app's URL map that it has not seen yet; it keeps (and checks) those that give it a page (200, not a
redirect), so that each role sees every page it can reach once, with screenshots at 1280 and 360 px.
The walk must cover every GET route but the short list of EXCLUDED ones (files, images, downloads, the JSON API and
redirect-only routes), which no browser page shows. Every title in the worlds is 200 letters without a space, so
each page also proves that a long title wraps instead of widening a phone's screen (issue 19, "Layout").

A new page is covered once its GET route answers 200 to one role in one phase with worlds.url_values' placeholders;
if it needs another value, add it there. A route that is not a page goes in EXCLUDED with the reason.
"""

from urllib.parse import urlsplit

from sqlalchemy import select

from pb.domain.cycle import Phase
from pb.extensions import db
from pb.domain.notifications import VOTING_OPENS
from pb.models import Proposal, User
from pb.services import mail, paper
from tests.blueprints.worlds import build_world, fill, url_values
from tests.conftest import PASSWORD

# A title of 200 letters and no space: 1,500 to 1,800 px wide on one line.
LONG_TITLE = "Playground" * 20

# Routes that are not pages a person reads in a browser tab, with the reason; everything else must be visited.
EXCLUDED = {
    "static": "a file",
    "media.photo": "an image",
    "media.document": "a file download",
    "results.chart": "an SVG image shown inside the results pages",
    "results.votes_chart": "an SVG image shown inside the results pages",
    "results.export_csv": "a download",
    "results.export_json": "a download",
    "results.export_pdf": "a download",
    "results.export_pabulib": "a download",
    "results.ballot_list": "a download",
    "results.ballot_list_pabulib": "a download",
    "profile.download": "a download (JSON)",
    "admin.proposals_csv": "a download (CSV)",
    "identity.logo": "an image shown in every page's header",
    "identity.favicon": "the browser's tab icon",
    "identity.stylesheet": "a stylesheet every page links",
    "language.choose": "redirect-only: sets the language and goes back",
    "auth.confirm_email": "redirect-only: a link from an email",
    "profile.confirm_email_change": "redirect-only: a link from an email",
    "ballot_settings.settings_json": "a download (the frozen ballot settings, JSON)",
    "paper.blank_ballot": "a download (PDF): the blank paper ballot to print",
}
EXCLUDED_PREFIXES = {
    "api.": "the JSON open-data API",
}

# Routes whose page needs more than worlds.url_values gives: endpoint → the path, from the world.
PATHS = {
    "notifications.unsubscribe": lambda w: f"/unsubscribe/{w['unsubscribe_token']}",
    # The official's own entry of a sheet not agreed yet (entered in the world of the voting phase).
    "paper.correct_sheet": lambda w: f"/paper/districts/{w['north']}/sheets/correct?station=Town+hall&number=1",
}

# Who walks, in this order (a route counts for the first who sees it): the world's user for each role.
ROLES = {
    "anyone": None,
    "resident": "unverified",      # logged in, not verified in the cycle
    "voter": "resident",           # verified in the North district
    "moderator": "moderator",
    "official": "official",
}
# The phases of a cycle's life, in order; each builds its own world.
PHASES = (Phase.DRAFT, Phase.PROPOSALS, Phase.SUPPORTS, Phase.REVIEW, Phase.VOTING, Phase.TALLYING, Phase.RESULTS)


def is_excluded(endpoint: str) -> bool:
    return endpoint in EXCLUDED or endpoint.startswith(tuple(EXCLUDED_PREFIXES))


def page_routes(app) -> dict[str, str]:
    """endpoint → URL rule for every GET route that is a page (one rule per endpoint: the first one)."""
    routes = {}
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not is_excluded(rule.endpoint):
            routes.setdefault(rule.endpoint, rule.rule)
    return routes


def _world_with_long_titles(phase: Phase) -> dict:
    world = build_world(phase)
    for proposal_id in (world["project"], world["pending"]):
        db.session.get(Proposal, proposal_id).title = LONG_TITLE
    db.session.commit()
    if phase == Phase.VOTING:
        paper.enter_sheet(db.session.get(User, world["users"]["official"]), world["north"], "Town hall", 1,
                          [world["project"]])
    world["unsubscribe_token"] = mail.unsubscribe_token(world["users"]["resident"], VOTING_OPENS)
    world["emails"] = {role: db.session.scalar(select(User.email).where(User.id == user_id))
                       for role, user_id in world["users"].items()}
    return world


def _walk(tab, routes: dict[str, str], world: dict, seen: dict[str, str]) -> None:
    """Open every route this role has not seen yet; keep (and check) those that show it a page."""
    for endpoint, rule in routes.items():
        if endpoint in seen:
            continue
        path = PATHS[endpoint](world) if endpoint in PATHS else fill(rule, url_values(endpoint, world))
        response = tab.page.goto(tab.url(path))
        if response is None or response.status != 200 or urlsplit(tab.page.url).path != urlsplit(path).path:
            continue
        tab.check()
        seen[endpoint] = f"{world['phase'].value}: {path}"


def test_every_page_as_every_role_in_every_phase(app, visit):
    routes = page_routes(app)
    # role → endpoint → where it was seen: each role sees each page it can reach once, in the first phase it can.
    seen: dict[str, dict[str, str]] = {who: {} for who in ROLES}
    for phase in PHASES:
        world = _world_with_long_titles(phase)
        for who, user in ROLES.items():
            tab = visit(f"{phase.value}-{who}")
            if user:
                tab.login(world["emails"][user], PASSWORD)
            _walk(tab, routes, world, seen[who])
            if not tab.checked:  # the anonymous tab had nothing new to see in this phase
                tab.checked.append("(none)")
    visited = set().union(*(set(pages) for pages in seen.values()))
    missing = sorted(set(routes) - visited)
    for who, pages in seen.items():
        print(f"\n{who} saw {len(pages)} pages:\n" + "\n".join(f"  {endpoint} ({where})"
                                                               for endpoint, where in sorted(pages.items())))
    print("\nRoutes no role reached:\n" + "\n".join(f"  {endpoint} {routes[endpoint]}" for endpoint in missing))
    assert not missing, (
        "these GET routes were reached by no role in any phase; give them a page (worlds.url_values or PATHS) or "
        f"add them to EXCLUDED with the reason: {[(endpoint, routes[endpoint]) for endpoint in missing]}"
    )
    assert {"public.home", "public.proposal"} <= set(seen["anyone"]) and "voting.ballot" in seen["voter"]


def test_a_long_title_without_spaces_fits_a_phone(app, visit):
    """The pages that show a project's title, at 360 px, with a 200-letter title (Visit.check fails on sideways)."""
    world = _world_with_long_titles(Phase.VOTING)
    cycle, north, project, pending = world["cycle"], world["north"], world["project"], world["pending"]
    voter = visit("voter")
    voter.login(world["emails"]["resident"], PASSWORD)
    for path in (f"/cycles/{cycle}/proposals", f"/proposals/{project}", f"/cycles/{cycle}/vote/{north}",
                 "/my/proposals", f"/proposals/{pending}"):
        voter.goto(path)
    assert voter.page.get_by_role("heading", level=1).inner_text() == LONG_TITLE
    official = visit("official")
    official.login(world["emails"]["official"], PASSWORD)
    for path in (f"/admin/cycles/{cycle}", f"/moderation/cycles/{cycle}", f"/moderation/proposals/{pending}"):
        official.goto(path)
    counted = _world_with_long_titles(Phase.RESULTS)
    anyone = visit("anyone")
    for path in (f"/cycles/{counted['cycle']}/results", f"/cycles/{counted['cycle']}/results/{counted['north']}",
                 f"/proposals/{counted['project']}"):
        anyone.goto(path)
