"""The city's identity in a real browser: an official sets name, logo, colours and contact details (a colour that
fails contrast is refused at its field), and a resident on a 360 px phone sees them on every page.

Every page on the way is checked by `Visit.check` (axe-core, 360 px, page weight without images, no foreign request).
"""

from pb.domain.cycle import Phase
from pb.models import Role
from tests import images
from tests.conftest import PASSWORD


def test_an_official_sets_the_identity_and_a_resident_sees_it(visit, make_user, make_cycle, tmp_path):
    official = make_user(Role.OFFICIAL)
    make_cycle(Phase.VOTING, name="Riverside 2027")
    email = official.email
    logo_file = tmp_path / "logo.png"
    logo_file.write_bytes(images.png((600, 200)))

    tab = visit("official")
    page = tab.page
    tab.login(email, PASSWORD)
    tab.goto("/admin/")
    tab.click(page.get_by_role("link", name="The city's identity"))
    page.get_by_label("Name of the platform").fill("Riverside decides")
    page.get_by_label("Logo (PNG, JPEG or WebP, at most 2 MB)").set_input_files(str(logo_file))
    page.get_by_label("Describe the logo for people who cannot see it").fill("Coat of arms of Riverside")
    page.get_by_label("Main colour (links and buttons)").fill("#999999")
    page.get_by_label("Colour of the header band").fill("#0f3d5e")
    page.get_by_label("Postal address").fill("Town Hall\n1 Market Square")
    page.get_by_label("Phone").fill("+48 22 123 45 67")
    page.get_by_label("Email", exact=True).fill("budget@riverside.example")
    page.get_by_label("Opening hours").fill("Monday to Friday, 8:00 to 16:00")
    tab.click(page.get_by_role("button", name="Save the identity"))
    # Too light a grey: refused at its field, the rest of what was typed kept.
    error = page.locator("#primary_colour-error-1")
    assert "4.5:1" in error.inner_text()
    assert page.get_by_label("Name of the platform").input_value() == "Riverside decides"
    page.get_by_label("Main colour (links and buttons)").fill("#1d5e8c")
    page.get_by_label("Logo (PNG, JPEG or WebP, at most 2 MB)").set_input_files(str(logo_file))
    tab.click(page.get_by_role("button", name="Save the identity"))
    assert "The city's identity is saved" in tab.messages()

    resident = visit("resident")
    page = resident.page
    resident.goto("/")
    header = page.locator("header.site")
    assert header.get_by_role("link", name="Riverside decides").is_visible()
    logo = header.get_by_role("img", name="Coat of arms of Riverside")
    assert logo.is_visible() and page.evaluate("document.querySelector('header.site img').naturalWidth") > 0
    assert page.title().endswith("· Riverside decides")
    background = page.evaluate("getComputedStyle(document.querySelector('header.site')).backgroundColor")
    assert background == "rgb(15, 61, 94)"
    footer = page.locator("footer.site")
    assert footer.get_by_role("link", name="+48 22 123 45 67").get_attribute("href") == "tel:+48221234567"
    assert footer.get_by_role("link", name="budget@riverside.example").get_attribute("href") == \
        "mailto:budget@riverside.example"
    assert "Monday to Friday, 8:00 to 16:00" in footer.inner_text()
    resident.click(page.get_by_role("link", name="Accessibility"))
    assert "1 Market Square" in page.locator("main").inner_text()
    resident.click(page.get_by_role("link", name="Budget cycles"))
    resident.click(page.get_by_role("link", name="Riverside 2027"))
