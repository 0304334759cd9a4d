"""Translations (ja default, en) from the gettext catalogs in messages/locales, via Babel.

Catalogs are the .po files, compiled in memory on first use, so a stale .mo can never be served.
Maintain them with `scripts/i18n` (pybabel extract + update) and translate every entry in both languages;
a test fails when a string is missing or untranslated.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
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
    po_path = LOCALES_DIR / code / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po_path.exists():
        return NullTranslations()
    with po_path.open("rb") as handle:
        catalog = read_po(handle, locale=code, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


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
