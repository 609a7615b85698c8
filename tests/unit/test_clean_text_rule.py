"""The clean-text rule (dispatch/domain/text.py) and the speeds an ETA can be planned with: pure functions."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch.adapters.eventlog.tables import CommandRecord, EventRecord
from dispatch.domain.errors import InvalidText
from dispatch.domain.geo.eta import usable_speed
from dispatch.domain.text import (
    COMMAND_ID_MAX_LENGTH,
    IDEMPOTENCY_KEY_MAX_LENGTH,
    STREAM_ID_MAX_LENGTH,
    USERNAME_MAX_LENGTH,
    clean_text,
    is_clean,
    text_problem,
)


def is_noncharacter(char: str) -> bool:
    code = ord(char)
    return 0xFDD0 <= code <= 0xFDEF or code & 0xFFFE == 0xFFFE


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None), max_size=40))
def test_a_text_is_clean_exactly_when_it_has_no_control_surrogate_or_noncharacter(text: str) -> None:
    bad = [c for c in text if unicodedata.category(c) in ("Cc", "Cs") or is_noncharacter(c)]
    assert is_clean(text) == (not bad)
    assert is_clean(text, free_text=True) == (not [c for c in bad if c not in "\t\n"])


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x85", "\x9f", "\r", "\x0b", "\ud800", "\udfff", "\ufffe",
                                  "\uffff", "\ufdd0", "\U0001ffff", "\U0010fffe"])
def test_control_characters_surrogates_and_noncharacters_are_refused_even_in_free_text(char: str) -> None:
    assert not is_clean(f"a{char}b", free_text=True)


def test_tab_and_newline_are_free_text_only() -> None:
    assert is_clean("line\nnext\tcolumn", free_text=True) and not is_clean("line\nnext")


@pytest.mark.parametrize("text", ["ผู้ป่วยหมดสติที่ชายหาด", "مريض", "\u200f\u202e RTL marks",
                                   "🚑 ZWJ 👩‍⚕️", "\ue000 private use"])
def test_any_script_emoji_and_format_characters_are_clean(text: str) -> None:
    assert is_clean(text)


def test_the_problem_names_the_character_and_where_never_the_text() -> None:
    problem = text_problem("patient John\x00Doe")

    assert problem is not None and "U+0000" in problem and "13" in problem and "John" not in problem


def test_clean_text_names_the_field_and_bounds_the_length() -> None:
    with pytest.raises(InvalidText) as unclean:
        clean_text("a\x00", "description")
    with pytest.raises(InvalidText) as long:
        clean_text("abc", "X-Request-ID", max_length=2)

    assert (unclean.value.field, unclean.value.code) == ("description", "invalid_text")
    assert long.value.field == "X-Request-ID"
    assert clean_text("fine", "f", max_length=4) == "fine"


def test_the_longest_command_id_the_api_makes_fits_its_column() -> None:
    assert USERNAME_MAX_LENGTH + 1 + IDEMPOTENCY_KEY_MAX_LENGTH == COMMAND_ID_MAX_LENGTH
    assert CommandRecord.__table__.c.command_id.type.length == COMMAND_ID_MAX_LENGTH  # type: ignore[attr-defined]
    assert EventRecord.__table__.c.stream_id.type.length == STREAM_ID_MAX_LENGTH  # type: ignore[attr-defined]


@pytest.mark.parametrize(("speed", "usable"), [(None, False), (0.0, False), (-5.0, False), (1e-300, False),
                                               (0.99, False), (1.0, True), (25.0, True), (60.0, True),
                                               (60.01, False), (1e300, False), (float("inf"), False),
                                               (float("nan"), False)])
def test_only_a_speed_of_1_to_60_knots_is_planned_with(speed: float | None, usable: bool) -> None:
    assert usable_speed(speed) is usable
