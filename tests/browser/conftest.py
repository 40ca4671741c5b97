"""Browser tests: the real app under gunicorn, driven by Debian's Chromium through Playwright, checked on every page.

Every page a test opens through `Visit` is checked the same way: axe-core finds no WCAG 2.0/2.1/2.2 A or AA
violation, nothing scrolls sideways on a 1280 px desktop nor on a 360×640 phone, the page's HTML, CSS, JS and fonts
weigh at most 100 KB, and no request leaves the test server. A full-page screenshot of each at both widths is kept
under tests/browser/output/ (<test>-<who>-<number>-<page>-1280.png and -360.png).
"""

import json
import os
import pathlib
import re
import shutil
import subprocess

import pytest

from tests.live_server import live_server

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = pathlib.Path(os.environ.get("PB_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
CHROMIUM_HELP = (
    f"browser tests need Debian's Chromium at {CHROMIUM}: `apt-get install chromium` "
    "(bash .ci/run installs it); never `playwright install`"
)
FETCH_AXE = ROOT / "tests" / "browser" / "fetch_axe.sh"  # pins the axe-core version
AXE_FILE = ROOT / "tests" / ".cache" / "axe-core" / "axe.min.js"
AXE_HELP = "the accessibility checks need axe-core: run `bash tests/browser/fetch_axe.sh` once (it uses npm)"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
OUTPUT = ROOT / "tests" / "browser" / "output"
PHONE = {"width": 360, "height": 640}
DESKTOP = {"width": 1280, "height": 800}
PAGE_BUDGET = 100 * 1024
WEIGHED = {"document", "stylesheet", "script", "font"}  # images are left out of the page budget


@pytest.fixture
def engine_name() -> str:
    """Browser tests check pages, not databases: SQLite only (the PostgreSQL half is covered by the other tests)."""
    return "sqlite"


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core's script, fetched once from the npm registry with `npm pack` into tests/.cache (never a CDN)."""
    if shutil.which("npm"):  # a no-op, without network, once the pinned version is in the cache
        subprocess.run(["bash", str(FETCH_AXE)], check=False, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                       timeout=300)
    if not AXE_FILE.exists():
        pytest.skip(AXE_HELP)
    return AXE_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def browser(axe_source):
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.skip(CHROMIUM_HELP)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def server(app, tmp_path):
    """The app served by gunicorn on the test's own database; yields its base URL."""
    # One worker process with threads: the browser's parallel requests are served.
    with live_server(app, tmp_path, workers=1, threads=4) as served:
        yield served.base
        server_log = served.log_text()
    assert "Traceback" not in server_log, server_log[-5000:]


_TOO_WIDE = """() => {
  const clipped = e => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)) return true; } return false; };
  const wide = [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5 && !clipped(e));
  return wide.filter(e => !wide.includes(e.parentElement)).slice(0, 5)
    .map(e => e.tagName.toLowerCase() + [...e.classList].map(c => '.' + c).join('')
              + ': ' + e.textContent.trim().slice(0, 40));
}"""


class Visit:
    """One person's browser tab on a phone, checking every page it lands on."""

    def __init__(self, browser, base: str, axe_source: str, name: str, *, javascript: bool = True):
        self.base, self.axe_source, self.name, self.javascript = base, axe_source, name, javascript
        self.context = browser.new_context(viewport=PHONE, java_script_enabled=javascript, accept_downloads=True)
        self.foreign: list[str] = []
        self.responses: list = []
        self.checked: list[str] = []
        self.problems: list[str] = []
        self.weights: dict[str, int] = {}
        self.context.set_default_timeout(15_000)
        # Routing every request also turns the HTTP cache off, so each page is weighed as a first visit would be.
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", self._on_request)
        self.page.on("response", self._on_response)

    def _route(self, route) -> None:
        if route.request.url.startswith(self.base + "/"):
            route.continue_()
        else:
            self.foreign.append(route.request.url)
            route.abort()

    def _on_request(self, request) -> None:
        if request.is_navigation_request() and request.frame == self.page.main_frame:
            self.responses.clear()

    def _on_response(self, response) -> None:
        self.responses.append(response)

    def url(self, path: str) -> str:
        return self.base + path

    def goto(self, path: str):
        response = self.page.goto(self.url(path))
        assert response is not None and response.status < 400, f"{path}: {response and response.status}"
        self.check()
        return response

    def check(self) -> None:
        """Run every page check on the page now shown; what fails is kept in `problems` and the flow goes on."""
        page = self.page
        page.wait_for_load_state("load")
        where = page.url.removeprefix(self.base)
        found = []
        if self.foreign:
            found.append(f"requests left the test server: {self.foreign}")
            self.foreign.clear()
        weight = {response.url: len(response.body()) for response in self.responses
                  if response.request.resource_type in WEIGHED}
        self.weights[where] = sum(weight.values())
        if self.weights[where] > PAGE_BUDGET:
            found.append(f"sends {self.weights[where]} bytes of HTML, CSS, JS and fonts, over {PAGE_BUDGET}: {weight}")
        OUTPUT.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", where.lower()).strip("-")[:80] or "home"
        # A desktop first, then the phone the tab lives on (and axe checks): both are kept and both must fit.
        for screen, size in (("1280", DESKTOP), ("360", PHONE)):
            page.set_viewport_size(size)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > size["width"]:
                past_the_edge = page.evaluate(_TOO_WIDE)
                found.append(f"scrolls sideways at {size['width']} px: {width} px wide; past the edge: {past_the_edge}")
            page.screenshot(path=OUTPUT / f"{self.name}-{len(self.checked):02d}-{slug}-{screen}.png", full_page=True)
        # axe-core needs the page's own timers, which a tab without JavaScript does not run; the pages it sees
        # without JavaScript are the same pages a tab with JavaScript checks.
        if self.javascript:
            found += self.axe()
        self.checked.append(where)
        self.problems += [f"{self.name} {where}: {problem}" for problem in found]

    def axe(self) -> list[str]:
        """axe-core's WCAG A/AA violations on the current page, one readable line per element."""
        self.page.evaluate(self.axe_source)  # run by the driver, so the app's CSP (no inline scripts) stays on
        result = self.page.evaluate(
            # target-size (WCAG 2.2, 2.5.8) ships turned off in axe-core 4.10; it is part of the AA standard we claim.
            """tags => axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                                          rules: {'target-size': {enabled: true}}})""", AXE_TAGS
        )
        return [
            f"  {violation['id']} ({violation['impact']}): {violation['help']} at {node['target']}: "
            f"{node.get('failureSummary', '')}"
            for violation in result["violations"] for node in violation["nodes"]
        ]

    def click(self, locator) -> None:
        """Follow a link or submit a form, then check the page it leads to."""
        with self.page.expect_navigation():
            locator.click()
        self.check()

    def login(self, email: str, password: str) -> None:
        self.goto("/login")
        self.page.get_by_label("Email").fill(email)
        self.page.get_by_label("Password").fill(password)
        self.click(self.page.get_by_role("button", name="Log in"))
        assert "/login" not in self.page.url, self.messages()

    def messages(self) -> str:
        return self.page.locator(".messages").inner_text()

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def visit(browser, server, axe_source, request):
    """Open tabs as different people (`visit("resident")`); each is closed at the end of the test."""
    opened: list[Visit] = []
    test_name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")

    def open_tab(who: str, *, javascript: bool = True) -> Visit:
        tab = Visit(browser, server, axe_source, f"{test_name}-{who}", javascript=javascript)
        opened.append(tab)
        return tab

    yield open_tab
    for tab in opened:
        tab.close()
    OUTPUT.mkdir(parents=True, exist_ok=True)
    report = {tab.name: {"pages": tab.checked, "bytes": tab.weights} for tab in opened}
    (OUTPUT / f"{test_name}.json").write_text(json.dumps(report, indent=2))
    problems = [problem for tab in opened for problem in tab.problems]
    assert opened and all(tab.checked for tab in opened), "a tab checked no page"
    assert not problems, "pages failed their checks:\n" + "\n".join(problems)


def pytest_terminal_summary(terminalreporter):
    skipped = terminalreporter.stats.get("skipped", [])
    for reason in (CHROMIUM_HELP, AXE_HELP):
        if any(reason in str(report.longrepr) for report in skipped):
            terminalreporter.write_line(f"Browser tests skipped: {reason}", yellow=True)
