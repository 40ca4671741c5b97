from pb.domain.cycle import Phase
from tests.browser.test_every_page import _world_with_long_titles
from tests.conftest import PASSWORD
JS = """() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > innerWidth + 0.5)
  .slice(0, 12).map(e => e.tagName + '.' + [...e.classList].join('.') + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + getComputedStyle(e).overflowX + ' ' + e.textContent.trim().slice(0, 30))"""
def test_probe(app, visit):
    w = _world_with_long_titles(Phase.DRAFT)
    tab = visit("o")
    tab.login(w["emails"]["official"], PASSWORD)
    for path in ("/admin/users", f"/admin/cycles/{w['cycle']}/dashboard"):
        tab.page.goto(tab.url(path))
        print(path, tab.page.evaluate("document.documentElement.scrollWidth"), tab.page.evaluate(JS))
