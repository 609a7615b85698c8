"""Patients' languages: any ISO 639-1 code, checked against the standard's list; names in Thai and English."""

from __future__ import annotations

import pycountry
import pytest
from pydantic import ValidationError

from dispatch.domain.catalogue import IncidentReported
from dispatch.domain.decisions.incident import decide
from dispatch.domain.errors import InvalidInput
from dispatch.domain.languages import codes, is_language, iso_639_1, ordered
from dispatch.runtime.settings import Settings
from tests.builders import report_incident

STANDARD = {language.alpha_2 for language in pycountry.languages if hasattr(language, "alpha_2")}


def test_every_iso_639_1_code_is_a_language_and_nothing_else_is() -> None:
    assert codes() == STANDARD and len(STANDARD) > 180  # the standard has 184 two-letter codes
    assert all(is_language(code) for code in STANDARD)


@pytest.mark.parametrize("code", ["xx", "eng", "rus", "RU", "", "en-GB", "zh-Hans", "q"])
def test_a_code_that_is_not_iso_639_1_as_written_is_not_a_language(code: str) -> None:
    assert not is_language(code)


def test_every_language_has_a_name_in_thai_and_in_english() -> None:
    names = iso_639_1()

    assert set(names) == STANDARD
    assert all(name.name_en.strip() and name.name_th.strip() for name in names.values())
    assert (names["ru"].name_en, names["ru"].name_th) == ("Russian", "รัสเซีย")
    assert (names["my"].name_en, names["my"].name_th) == ("Burmese", "พม่า")


def test_the_common_languages_come_first_in_their_order_then_the_rest_by_english_name() -> None:
    listed = ordered(["th", "en", "ru", "en"])

    assert [(name.code, common) for name, common in listed[:3]] == [("th", True), ("en", True), ("ru", True)]
    rest = [name for name, common in listed[3:]]
    assert not any(common for _name, common in listed[3:])
    assert [name.name_en for name in rest] == sorted(name.name_en for name in rest)
    assert len(listed) == len(STANDARD)


def test_a_report_in_any_iso_639_1_language_records_it() -> None:
    [event] = decide(report_incident(language="ru"), None, {})

    assert isinstance(event, IncidentReported) and event.language == "ru"


@pytest.mark.parametrize("code", ["xx", "rus", "Russian"])
def test_a_report_in_an_unknown_language_is_refused_naming_the_field(code: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        decide(report_incident(language=code), None, {})

    assert refused.value.field == "language"


def test_the_common_languages_setting_takes_only_iso_639_1_codes() -> None:
    assert Settings(common_languages=("th", "my")).common_languages == ("th", "my")
    with pytest.raises(ValidationError, match="not ISO 639-1 codes: xx"):
        Settings(common_languages=("th", "xx"))
