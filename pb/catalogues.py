"""The translation catalogues in pb/translations: extracting messages.pot, updating each language, compiling .mo."""

import io
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

PACKAGE = Path(__file__).resolve().parent
TRANSLATIONS = PACKAGE / "translations"
TEMPLATE = TRANSLATIONS / "messages.pot"
MAPPING = PACKAGE / "babel.cfg"

# `_`, `gettext`, `ngettext` and `lazy_gettext` in the web layer; `N_`/`Nn_` in the domain and services
# (pb/domain/messages.py); and a literal message given straight to a domain error, which needs no marker.
KEYWORDS = {
    "_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None, "lazy_ngettext": (1, 2),
    "N_": None, "Nn_": (1, 2),
    **dict.fromkeys(
        ("DomainError", "PhaseError", "BallotError", "PermissionDenied", "NotFound", "ValidationError",
         "ConflictError"), None),
}
# Flask-Babel's own `_` and `gettext` need no listing; these are for pybabel's command line (see README.md).
PYBABEL_KEYWORDS = ["N_", "Nn_:1,2", "_l", "lazy_gettext", "lazy_ngettext:1,2", *sorted(
    name for name, spec in KEYWORDS.items() if spec is None and name[0].isupper() and name != "N_")]


def extract() -> Catalog:
    """Every message marked in pb's source and templates, as a fresh template catalogue."""
    with MAPPING.open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping, str(MAPPING))
    catalogue = Catalog(project="pb", version="1", msgid_bugs_address="", charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, method_map, options_map, keywords=KEYWORDS, comment_tags=("Translators:",), strip_comment_tags=True
    ):
        catalogue.add(message, None, [(f"pb/{filename}", lineno)], auto_comments=comments, context=context)
    return catalogue


def languages() -> list[str]:
    return sorted(path.name for path in TRANSLATIONS.iterdir() if (path / "LC_MESSAGES" / "messages.po").exists())


def po_path(language: str) -> Path:
    return TRANSLATIONS / language / "LC_MESSAGES" / "messages.po"


def compiled(language: str) -> bytes:
    """The .mo file the language's .po compiles to (fuzzy translations are left out, as gettext would)."""
    with po_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalogue, use_fuzzy=False)
    return buffer.getvalue()


def update_all() -> tuple[int, list[str]]:
    """Re-extract messages.pot and merge it into every language's .po (new messages start empty, changed ones fuzzy).

    Returns the number of messages and the languages updated.
    """
    template = extract()
    with TEMPLATE.open("wb") as out:
        write_po(out, template, width=120, sort_output=False)
    for language in languages():
        with po_path(language).open("rb") as po:
            catalogue = read_po(po, locale=language)
        catalogue.update(template, update_header_comment=False)
        with po_path(language).open("wb") as out:
            write_po(out, catalogue, width=120, ignore_obsolete=True)
    return len(template), languages()


def compile_all() -> list[str]:
    """Write each language's .mo next to its .po."""
    for language in languages():
        po_path(language).with_suffix(".mo").write_bytes(compiled(language))
    return languages()
