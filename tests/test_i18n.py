"""Languages: the catalogues are complete and current, the reader's language is chosen well, and shown everywhere."""

import gettext
import io
import re
from datetime import date, datetime
from types import SimpleNamespace

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations

from pb import catalogues, i18n
from pb.domain import cycle as cycle_rules
from pb.domain.cycle import Phase
from pb.domain.errors import PhaseError
from pb.domain.messages import N_, Message, Nn_
from pb.i18n import LANGUAGE_COOKIE, LANGUAGES
from tests.conftest import close_voting

TRANSLATED = [language for language in LANGUAGES if language != "en"]


def _template() -> Catalog:
    with catalogues.TEMPLATE.open("rb") as pot:
        return read_po(pot)


def _catalogue(language: str) -> Catalog:
    with catalogues.po_path(language).open("rb") as po:
        return read_po(po, locale=language)


def _ids(catalogue: Catalog) -> set:
    return {message.id for message in catalogue if message.id}


# --- the catalogues ------------------------------------------------------------------------------------------------


def test_every_offered_language_but_english_has_a_catalogue():
    assert catalogues.languages() == sorted(TRANSLATED)


def test_the_template_is_up_to_date_with_the_source():
    """Re-extracting gives the same messages as pb/translations/messages.pot: run `flask --app app pb i18n-extract`."""
    extracted, stored = _ids(catalogues.extract()), _ids(_template())
    assert not extracted - stored, "messages missing from messages.pot (run pb i18n-extract)"
    assert not stored - extracted, "messages.pot holds messages no longer in the source (run pb i18n-extract)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_catalogue_holds_every_message_of_the_template(language):
    missing = _ids(_template()) - _ids(_catalogue(language))
    assert not missing, f"{len(missing)} messages are missing from {language} (run pb i18n-extract)"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated(language):
    catalogue = _catalogue(language)
    messages = [message for message in catalogue if message.id]
    translated = [message for message in messages if message.string and all(message.string if isinstance(
        message.string, tuple) else [message.string])]
    if not translated:
        pytest.skip(f"the {language} catalogue is not yet translated")
    untranslated = [message.id for message in messages if message not in translated]
    fuzzy = [message.id for message in messages if message.fuzzy]
    assert not untranslated, f"{len(untranslated)} untranslated in {language}, e.g. {untranslated[:3]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy in {language}, e.g. {fuzzy[:3]}"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_translation_keeps_the_placeholders(language):
    def names(text: str) -> set[str]:
        return {a or b for a, b in re.findall(r"%\((\w+)\)s|\{(\w+)[^}]*\}", text)}

    for message in _catalogue(language):
        is_plural = not isinstance(message.id, str)
        english = message.id[0] if is_plural else message.id
        # A plural form may spell its number out ("one proposal"), so only the other values must all be kept.
        expected = names(english) - ({"num", "count"} if is_plural else set())
        for translation in message.string if is_plural else [message.string]:
            if english and translation:
                assert expected <= names(translation), f"{language}: {english!r} -> {translation!r}"


def test_polish_has_three_plural_forms():
    assert _catalogue("pl").num_plurals == 3


def _messages_of_mo(data: bytes) -> dict:
    """A compiled catalogue's messages and plural rule, without the header lines the compiling tool writes itself."""
    catalogue = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)  # noqa: SLF001 (the messages as read)
    header = catalogue.pop("", "")
    kept = [line for line in header.splitlines() if not line.startswith(("Generated-By:", "POT-Creation-Date:"))]
    return {"header": kept, **{repr(key): value for key, value in catalogue.items()}}


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_committed_mo_file_is_the_compiled_po_file(language):
    """pb reads the .mo files: run `flask --app app pb i18n-compile` after changing a .po file, and commit both.

    Compared by message, not by byte: another Babel release writes another `Generated-By` header into the same
    catalogue, and a fresh install must not fail for that."""
    committed = catalogues.po_path(language).with_suffix(".mo").read_bytes()
    assert _messages_of_mo(committed) == _messages_of_mo(catalogues.compiled(language))


def test_the_mo_comparison_sees_a_changed_translation_but_not_the_tool_header():
    compiled = catalogues.compiled("es")
    catalogue = _catalogue("es")
    message = next(message for message in catalogue if message.id and isinstance(message.id, str))
    message.string = message.string + " (changed)"
    changed = io.BytesIO()
    write_mo(changed, catalogue)
    assert _messages_of_mo(changed.getvalue()) != _messages_of_mo(compiled)
    other_release = compiled.replace(b"Generated-By: Babel 2.", b"Generated-By: Babel 9.")
    assert other_release != compiled and _messages_of_mo(other_release) == _messages_of_mo(compiled)


def test_every_template_text_is_marked_for_translation():
    """Text between tags must go through _() (or ngettext); only names and commands may stay bare."""
    token = re.compile(r"(\{#.*?#\}|\{%.*?%\}|\{\{.*?\}\}|<(?:[^<>{]|\{\{.*?\}\}|\{%.*?%\})*>)", re.DOTALL)
    bare_attribute = re.compile(r'\b(?:aria-label|placeholder|title|alt)="[^"{]*[A-Za-z]')
    allowed = {"pb", "pb-tally", "--rule", "--seed"}
    for path in sorted((catalogues.PACKAGE / "templates").rglob("*.html")):
        source = re.sub(r"<script.*?</script>", "", path.read_text(), flags=re.DOTALL)
        for piece in token.split(source):
            if piece.startswith("<"):
                assert not bare_attribute.search(piece), f"{path.name}: unmarked attribute in {piece[:80]}"
        for text in token.split(source)[::2]:
            words = set(re.findall(r"[\w-]*[A-Za-z]{2,}[\w-]*", text)) - allowed
            assert not words, f"{path.relative_to(catalogues.PACKAGE)}: unmarked text {text.strip()[:80]!r}"


# --- choosing the language -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "expected"), [
    ("es", "es"),
    ("es-ES,es;q=0.9,en;q=0.5", "es"),
    ("pl-PL,pl;q=0.9", "pl"),
    ("es-MX", "es"),
    ("de-DE,fr;q=0.8", "en"),
    ("fr,pl;q=0.5", "pl"),
    ("", "en"),
])
def test_the_browser_preference_picks_the_language(client, header, expected):
    page = client.get("/", headers={"Accept-Language": header} if header else {})
    assert page.status_code == 200 and "Accept-Language" in page.headers["Vary"]
    assert f'<html lang="{expected}">' in page.get_data(as_text=True)


def test_the_switch_is_on_every_page_and_names_each_language_in_itself(client):
    page = client.get("/").get_data(as_text=True)
    assert 'aria-label="Language"' in page
    assert '<a href="/language/es?next=/" lang="es" hreflang="es">Español</a>' in page
    assert '<strong lang="en" aria-current="true">English</strong>' in page


def test_choosing_a_language_remembers_it_and_goes_back(client):
    response = client.get("/language/pl?next=/login")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert f"{LANGUAGE_COOKIE}=pl" in response.headers["Set-Cookie"]
    page = client.get("/login", headers={"Accept-Language": "es"}).get_data(as_text=True)
    assert '<html lang="pl">' in page, "an explicit choice beats the browser's preference"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", None])
def test_the_switch_only_goes_back_to_a_page_of_this_site(client, target):
    response = client.get("/language/es", query_string={"next": target} if target else {})
    assert response.status_code == 302 and response.headers["Location"] == "/"


@pytest.mark.parametrize("code", ["de", "EN", "xx-evil", "..", "es_ES"])
def test_an_unknown_language_is_not_found_and_changes_nothing(client, code):
    response = client.get(f"/language/{code}?next=/login")
    assert response.status_code == 404
    assert "Set-Cookie" not in response.headers or LANGUAGE_COOKIE not in response.headers["Set-Cookie"]


def test_a_forged_language_cookie_falls_back_to_the_browser(client):
    client.set_cookie(LANGUAGE_COOKIE, "xx")
    assert '<html lang="es">' in client.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)


def test_outside_a_request_the_language_is_english():
    assert i18n.select_language() == "en"


# --- formatting ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "amount", "day", "moment"), [
    ("en", "12,500.50 EUR", "3 May 2026", "2026-05-03 14:30"),
    ("es", "12.500,50 EUR", "3 de mayo de 2026", "3/5/26, 14:30"),
    ("pl", "12\u00a0500,50 EUR", "3 maja 2026", "3.05.2026, 14:30"),
])
def test_amounts_and_dates_follow_the_language(app, language, amount, day, moment):
    with app.test_request_context(headers={"Accept-Language": language}):
        filters = app.jinja_env.filters
        assert filters["money"](1_250_050, "EUR") == amount
        assert filters["day"](date(2026, 5, 3)) == day
        assert filters["moment"](datetime(2026, 5, 3, 14, 30)) == moment


@pytest.mark.parametrize(("language", "share"), [("en", "66.7 %"), ("es", "66,7 %"), ("pl", "66,7 %")])
def test_turnout_shares_follow_the_language(app, language, share):
    with app.test_request_context(headers={"Accept-Language": language}):
        assert i18n.format_share(2, 3) == share and i18n.format_share(1, 0) == "–"


@pytest.mark.parametrize(("minor", "currency", "expected"), [
    (1_250_000, "EUR", "12,500 EUR"), (5, "EUR", "0.05 EUR"), (-150, "PLN", "-1.50 PLN"), (1_000, "JPY", "1,000 JPY"),
    (1_234_567, "KWD", "1,234.567 KWD"),
])
def test_english_amounts_read_as_before(app, minor, currency, expected):
    from pb.domain.money import format_amount

    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert i18n.format_money(minor, currency) == expected == format_amount(minor, currency)


# --- messages from the domain --------------------------------------------------------------------------------------


def _fake_translations(language: str, messages: dict) -> Translations:
    catalogue = Catalog(locale=language)
    for msgid, msgstr in messages.items():
        catalogue.add(msgid, msgstr)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    return Translations(buffer)


@pytest.fixture
def polish(app, monkeypatch):
    fake = _fake_translations("pl", {
        "{refusal} This cycle is now: {phase}.": "{refusal} Ten cykl jest teraz: {phase}.",
        "Voting is not open.": "Głosowanie nie jest otwarte.",
        "Being prepared": "W Przygotowaniu",
        ("{count} proposal is still waiting for review.", "{count} proposals are still waiting for review."): (
            "{count} propozycja czeka", "{count} propozycje czekają", "{count} propozycji czeka"),
        "The cycle cannot move on yet: {reasons}": "Cykl nie może jeszcze przejść dalej: {reasons}",
        "Broken: {value}": "Zepsute: {valeur}",
    })
    monkeypatch.setattr(i18n, "get_translations", lambda: fake)
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        yield


def test_a_domain_message_is_english_text_that_keeps_its_template():
    with pytest.raises(PhaseError) as refusal:
        cycle_rules.require_phase("vote", Phase.DRAFT)
    message = refusal.value.message
    assert message == "Voting is not open. This cycle is now: being prepared."
    assert isinstance(message, Message) and message.template == "{refusal} This cycle is now: {phase}."


def test_a_domain_message_is_shown_in_the_reader_language_values_included(polish):
    with pytest.raises(PhaseError) as refusal:
        cycle_rules.require_phase("vote", Phase.DRAFT)
    assert i18n.translate(refusal.value.message) == "Głosowanie nie jest otwarte. Ten cykl jest teraz: w przygotowaniu."


@pytest.mark.parametrize(("count", "expected"), [
    (1, "1 propozycja czeka"), (3, "3 propozycje czekają"), (5, "5 propozycji czeka"), (22, "22 propozycje czekają"),
])
def test_a_counted_message_takes_the_language_plural_form(polish, count, expected):
    message = Nn_("{count} proposal is still waiting for review.", "{count} proposals are still waiting for review.",
                  count)
    assert i18n.translate(message) == expected


def test_a_list_of_reasons_is_translated_one_by_one(polish):
    facts = cycle_rules.CycleFacts(total_budget=1, proposals_waiting_review=5)
    with pytest.raises(PhaseError) as refusal:
        cycle_rules.next_phase(Phase.REVIEW, facts)
    assert refusal.value.message == "The cycle cannot move on yet: 5 proposals are still waiting for review."
    assert i18n.translate(refusal.value.message) == "Cykl nie może jeszcze przejść dalej: 5 propozycji czeka"


def test_an_untranslated_or_broken_message_falls_back_to_english(polish):
    assert i18n.translate(N_("Nobody translated {this}.", this="that")) == "Nobody translated that."
    assert i18n.translate(N_("Broken: {value}", value=1)) == "Broken: 1"
    assert i18n.translate("Voting is not open.") == "Głosowanie nie jest otwarte."


def test_a_refusal_is_flashed_in_the_reader_language(client, make_cycle, make_user, monkeypatch):
    cycle = make_cycle(Phase.RESULTS)
    client.login(make_user())
    fake = _fake_translations("es", {"Voting is not open.": "La votación no está abierta.",
                                     "{refusal} This cycle is now: {phase}.": "{refusal} Este ciclo está: {phase}."})
    monkeypatch.setattr(i18n, "get_translations", lambda: fake)
    page = client.get(f"/cycles/{cycle.id}/vote", headers={"Accept-Language": "es"}, follow_redirects=True)
    assert "La votación no está abierta. Este ciclo está: results published." in page.get_data(as_text=True)


def test_the_commands_extract_and_compile_the_catalogues(runner, monkeypatch, tmp_path):
    import shutil

    translations = tmp_path / "translations"
    shutil.copytree(catalogues.TRANSLATIONS, translations)
    monkeypatch.setattr(catalogues, "TRANSLATIONS", translations)
    monkeypatch.setattr(catalogues, "TEMPLATE", translations / "messages.pot")
    (translations / "es" / "LC_MESSAGES" / "messages.mo").unlink()
    extracted = runner.invoke(args=["pb", "i18n-extract"])
    assert extracted.exit_code == 0 and f"Extracted {len(_template())} messages; updated: es, pl." in extracted.output
    compiled = runner.invoke(args=["pb", "i18n-compile"])
    assert compiled.exit_code == 0 and "Compiled: es, pl." in compiled.output
    assert (translations / "es" / "LC_MESSAGES" / "messages.mo").read_bytes() == catalogues.compiled("es")


@pytest.mark.parametrize(("language", "money", "count", "share", "sentence"), [
    ("en", "14,000 EUR", "12,345", "60.0 %", "Spent 14,000 EUR."),
    ("es", "14.000 EUR", "12.345", "60,0 %", None),
    ("pl", "14\u00a0000 EUR", "12\u00a0345", "60,0 %", None),
])
def test_figures_in_chart_tables_and_alternatives_follow_the_language(app, language, money, count, share, sentence):
    from pb.domain.messages import N_
    from pb.services.exports import _count, _money, percent

    amount = _money(SimpleNamespace(currency="EUR"), 1_400_000)
    assert (str(amount), str(_count(12_345)), str(percent(3, 5))) == ("14,000 EUR", "12,345", "60.0 %")  # exports
    with app.test_request_context(headers={"Accept-Language": language}):
        assert (i18n.translate(amount), i18n.translate(_count(12_345)), i18n.translate(percent(3, 5))) == (
            money, count, share)
        filled = i18n.translate(N_("Spent {spent}.", spent=amount))
        assert money in filled and (sentence is None or filled == sentence)


@pytest.mark.parametrize(("language", "expected"), [("en", "12,345 of 20,000"), ("es", "12.345 of 20.000"),
                                                    ("pl", "12\u00a0345 of 20\u00a0000")])
def test_grouped_numbers_inside_messages_follow_the_language(app, language, expected):
    from pb.domain.messages import N_

    message = N_("{voters:,} of {eligible:,}", voters=12_345, eligible=20_000)
    assert message == "12,345 of 20,000"
    with app.test_request_context(headers={"Accept-Language": language}):
        assert i18n.translate(message) == expected


def test_amounts_in_domain_messages_follow_the_language(app):
    from pb.domain.ballots import BallotRules, check
    from pb.domain.errors import BallotError
    from pb.domain.money import format_amount

    assert format_amount(120_000, "EUR") == "1,200 EUR" and format_amount(120_000, "EUR", with_currency=False) == "1,200"
    with pytest.raises(BallotError) as refused:
        check([1, 2], {1: 70_000, 2: 50_000}, BallotRules(budget=100_000, currency="EUR"))
    with app.test_request_context(headers={"Accept-Language": "pl"}):
        shown = i18n.translate(refused.value.message)
    assert "1\u00a0200 EUR" in shown and "1,200" not in shown and "1\u00a0000 EUR" in shown


def test_tally_explanations_are_stored_with_their_parts_and_shown_in_the_reader_language(
    client, make_user, make_cycle, make_project, verify,
):
    import html
    import json

    from pb.domain.messages import from_data
    from pb.extensions import db
    from pb.models import ProjectResult, Role
    from pb.services import tallying, voting

    cycle = make_cycle(Phase.VOTING, districts=(("North", 2_000_000),))
    north = cycle.districts[0]
    big, small = make_project(cycle, north, cost=1_500_000, title="Big"), make_project(cycle, north, cost=900_000)
    for choice in ([big], [big], [small]):
        voter = make_user()
        verify(voter, north)
        voting.cast_ballot(voter, cycle.id, north.id, [project.id for project in choice])
    close_voting(cycle)
    tallying.run_tally(make_user(Role.OFFICIAL), cycle.id)
    cycle.phase = Phase.RESULTS
    db.session.commit()
    stored = db.session.query(ProjectResult).filter_by(project_id=small.id).one()
    assert stored.explanation == from_data(json.loads(stored.explanation_data))  # the same English, rebuilt
    assert "5,000 EUR was left" in stored.explanation  # 20,000 - 15,000: it costs 9,000

    english = client.get(f"/proposals/{small.id}").get_data(as_text=True)
    assert html.escape(stored.explanation) in english
    polish = client.get(f"/proposals/{small.id}", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    with client.application.test_request_context(headers={"Accept-Language": "pl"}):
        shown = i18n.explained(stored.explanation, stored.explanation_data)
    assert shown != stored.explanation and "5\u00a0000 EUR" in shown and "5,000" not in shown
    assert html.escape(shown) in polish
    # A count stored before explanations kept their parts still shows its English text.
    with client.application.test_request_context(headers={"Accept-Language": "pl"}):
        assert i18n.explained("Not funded.", "") == "Not funded." == i18n.explained("Not funded.", "{broken")
