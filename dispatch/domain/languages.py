"""Patients' languages: every ISO 639-1 code, with its name in Thai and in English.

The list of codes is the standard's, as pycountry ships it (its copy of the ISO 639-3 tables, where each
language with a two-letter code carries it as alpha_2); the names are the Unicode CLDR's, as Babel ships them,
so the receiving hospital reads "รัสเซีย" / "Russian", not a code. Nothing here is copied by hand.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import pycountry
from babel import Locale


@dataclass(frozen=True, kw_only=True)
class LanguageName:
    code: str
    name_en: str
    name_th: str


@lru_cache(maxsize=1)
def _standard_names() -> dict[str, str]:
    """Every ISO 639-1 code with the standard's own English name."""
    return {language.alpha_2: language.name for language in pycountry.languages if hasattr(language, "alpha_2")}


def codes() -> frozenset[str]:
    """Every ISO 639-1 code."""
    return frozenset(_standard_names())


@lru_cache(maxsize=1)
def iso_639_1() -> dict[str, LanguageName]:
    """Every ISO 639-1 code with its names, by code."""
    english, thai = Locale("en"), Locale("th")
    return {code: LanguageName(code=code, name_en=_name(english, code), name_th=_name(thai, code))
            for code in sorted(_standard_names())}


def _name(locale: Locale, code: str) -> str:
    # CLDR names every ISO 639-1 language in English and Thai today; the standard's own English name stands in
    # should a later list add a code CLDR has not named yet.
    return locale.languages.get(code) or _standard_names()[code]


def is_language(code: str) -> bool:
    """True for an ISO 639-1 code, written as the standard writes it (two lowercase letters)."""
    return code in _standard_names()


def ordered(common: Iterable[str]) -> list[tuple[LanguageName, bool]]:
    """Every language, the `common` ones first in their order, then the others by English name; each with
    whether it is common."""
    names = iso_639_1()
    first = [names[code] for code in dict.fromkeys(common)]
    chosen = {name.code for name in first}
    rest = sorted((name for name in names.values() if name.code not in chosen), key=lambda name: name.name_en)
    return [(name, True) for name in first] + [(name, False) for name in rest]
