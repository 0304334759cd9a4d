"""Translations (ja default, en) from the gettext catalogs in messages/locales, via Babel.

Catalogs are the .po files, compiled in memory on first use, so a stale .mo can never be served. A locale's
catalog is messages.po plus any feature catalog beside it (e.g. dashboard.po), merged; a msgid lives in
exactly one file. Maintain messages.po with `scripts/i18n` (pybabel extract + update) and translate every
entry in both languages; a test fails when a string is missing, duplicated or untranslated.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "messages"
DEFAULT_LOCALE = "ja"
SUPPORTED_LOCALES = ("ja", "en")


def normalise_locale(locale: str | None) -> str:
    """Map 'ja_JP', 'en-US', None or anything unknown to one of the supported locales (ja by default)."""
    if not locale:
        return DEFAULT_LOCALE
    try:
        language = Locale.parse(str(locale).replace("-", "_")).language
    except (UnknownLocaleError, ValueError, TypeError):
        return DEFAULT_LOCALE
    return language if language in SUPPORTED_LOCALES else DEFAULT_LOCALE


@cache
def translations(locale: str | None) -> NullTranslations:
    """The compiled catalog of LOCALE (read from its .po file once per process)."""
    code = normalise_locale(locale)
    catalog = merged_catalog(code)
    if catalog is None:
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def catalog_files(locale: str) -> list[Path]:
    """messages.po first, then the feature catalogs in name order."""
    folder = LOCALES_DIR / locale / "LC_MESSAGES"
    main = folder / f"{DOMAIN}.po"
    others = sorted(p for p in folder.glob("*.po") if p != main)
    return ([main] if main.exists() else []) + others


def merged_catalog(locale: str) -> Catalog | None:
    """All of LOCALE's .po files as one catalog (None when there is none)."""
    files = catalog_files(locale)
    if not files:
        return None
    with files[0].open("rb") as handle:
        catalog = read_po(handle, locale=locale, domain=DOMAIN)
    for path in files[1:]:
        with path.open("rb") as handle:
            for message in read_po(handle, locale=locale, domain=DOMAIN):
                if message.id:
                    catalog[message.id] = message
    return catalog


class Translator:
    """gettext bound to one locale: _ = Translator('en'); _("Recorded") / _.ngettext("%(n)s item", "%(n)s items", n).

    Every message is %-formatted (with no values too), so a literal percent sign is written %% in msgids.
    """

    def __init__(self, locale: str | None = None):
        self.locale = normalise_locale(locale)
        self._t = translations(self.locale)

    def __call__(self, message: str, **values) -> str:
        return self._t.gettext(message) % values

    def ngettext(self, singular: str, plural: str, count: int, **values) -> str:
        text = self._t.ngettext(singular, plural, count)
        return text % {"n": count, **values}


def N_(message: str) -> str:
    """Mark a string for extraction where it is translated later (e.g. in a table of labels)."""
    return message
