"""Taking part in another language in a real browser: the switch on every page, Spanish and Polish pages that pass
the same checks (axe-core, which also checks the page's declared language, 360 px, page weight), and a ballot cast
in Polish. The switch is plain links, so it is tried with JavaScript off as well.
"""


from pb.domain.cycle import Phase
from pb.extensions import db
from pb.models import User
from pb.services import voting
from tests.conftest import PASSWORD


def _switch_to(tab, language_name: str, code: str) -> None:
    # The switch's own label is in the page's language; each link names its language in that language.
    tab.click(tab.page.locator("nav.languages").get_by_role("link", name=language_name, exact=True))
    assert tab.page.locator("html").get_attribute("lang") == code


def test_a_resident_switches_language_and_votes_in_polish(visit, make_user, make_cycle, make_project, verify):
    cycle = make_cycle(Phase.VOTING, districts=(("Northside", 100_000),), name="Riverside 2027")
    district = cycle.districts[0]
    park = make_project(cycle, district, cost=60_000, title="Skate park")
    resident = make_user(name="Rita Resident")
    verify(resident, district)
    cycle_id, district_id, park_id, email, user_id = cycle.id, district.id, park.id, resident.email, resident.id

    tab = visit("languages")
    page = tab.page
    tab.goto("/")
    assert page.locator("html").get_attribute("lang") == "en"
    _switch_to(tab, "Español", "es")
    assert page.url.endswith("/")  # back on the page the switch was on
    assert page.get_by_role("link", name="Cómo funciona la votación").is_visible()
    tab.click(page.get_by_role("link", name="Cómo funciona la votación"))
    assert page.locator("html").get_attribute("lang") == "es"

    _switch_to(tab, "Polski", "pl")
    tab.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Hasło").fill(PASSWORD)
    tab.click(page.get_by_role("button", name="Zaloguj się"))
    tab.goto(f"/cycles/{cycle_id}/vote/{district_id}")
    page.get_by_label("Skate park").check()
    # The running total, written by the page's script, groups digits the Polish way like the server's amounts.
    assert page.locator("[data-total]").inner_text() == "600 EUR"
    assert page.locator("[data-left]").inner_text() == "400 EUR"
    page.get_by_label("Skate park").uncheck()
    assert page.locator("[data-left]").inner_text().replace("\u00a0", " ") == "1 000 EUR"
    page.get_by_label("Skate park").check()
    tab.click(page.get_by_role("button", name="Oddaj głos"))
    assert "Twoja karta do głosowania została zapisana" in tab.messages()
    db.session.rollback()
    assert voting.current_choices(db.session.get(User, user_id), cycle_id, district_id) == {park_id}
    assert not tab.problems, "\n".join(tab.problems)


def test_the_switch_works_without_javascript(visit, make_cycle):
    make_cycle(Phase.PROPOSALS, name="Riverside 2027")
    tab = visit("languages-no-javascript", javascript=False)
    tab.goto("/")
    _switch_to(tab, "Polski", "pl")
    tab.goto("/how-voting-works")
    assert tab.page.locator("html").get_attribute("lang") == "pl"
    _switch_to(tab, "English", "en")
    assert tab.page.url.endswith("/how-voting-works")
    assert not tab.problems, "\n".join(tab.problems)
