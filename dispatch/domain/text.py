"""Clean text: the one rule for every text that can reach the log or a query, and the lengths ids may have.

A text is clean when it holds no control character (Unicode category Cc: NUL, escape, DEL, the C1 range),
no lone surrogate (no UTF-8 encoder, so neither JSON nor PostgreSQL, can store one) and no non-character
(U+FFFE, U+FDD0 and the like: reserved never to be exchanged). PostgreSQL refuses NUL in a text field
outright, so a NUL that one writer let through would stop every reader of the log; SQLite accepts it, so
only the rule, checked at every edge and again by the store, keeps the two databases alike. Free texts
written by people (a description, a note) may also hold tabs and newlines.

Pure: no I/O, so the API, the store, the CLI and the workers all apply the same function.
"""

from __future__ import annotations

import re
from typing import Final

from dispatch.domain.errors import InvalidText

# The columns these must fit (dispatch/adapters/eventlog/tables.py, accounts): a command id is "<username>:<key>".
USERNAME_MAX_LENGTH: Final[int] = 80
DISPLAY_NAME_MAX_LENGTH: Final[int] = 120
COMMAND_ID_MAX_LENGTH: Final[int] = 200
IDEMPOTENCY_KEY_MAX_LENGTH: Final[int] = COMMAND_ID_MAX_LENGTH - USERNAME_MAX_LENGTH - 1
STREAM_ID_MAX_LENGTH: Final[int] = 120
# An id named in a path or a body (incident, resource, site, facility): the read models' columns hold 80.
ID_MAX_LENGTH: Final[int] = 80
# X-Request-ID and the other ids kept in an event's meta: a UUID is 36, a trace id 55.
META_TEXT_MAX_LENGTH: Final[int] = 128

RULE: Final[str] = "no control characters (tab and newline only in free text), surrogates or non-characters"


# Searched in two steps, because one character class holding the 34 non-characters beyond the first plane
# makes every search several times slower: the first plane's forbidden characters, then any character beyond
# it (an emoji; rare) is looked at on its own.
_CONTROLS: Final[str] = "\x00-\x08\x0b-\x1f\x7f-\x9f"
_FIRST_PLANE: Final[str] = "\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff"
_SINGLE_LINE: Final[re.Pattern[str]] = re.compile(f"[\t\n{_CONTROLS}{_FIRST_PLANE}]")
_FREE_TEXT: Final[re.Pattern[str]] = re.compile(f"[{_CONTROLS}{_FIRST_PLANE}]")
_BEYOND_FIRST_PLANE: Final[re.Pattern[str]] = re.compile("[\U00010000-\U0010ffff]")


def _first_forbidden(value: str, free_text: bool) -> tuple[int, str] | None:
    """Where the first forbidden character is, and which; None if there is none."""
    if value.isascii() and value.isprintable():
        return None  # the usual id, path or English text, decided without a search
    found = (_FREE_TEXT if free_text else _SINGLE_LINE).search(value)
    if found is not None:
        return found.start(), found.group()
    for far in _BEYOND_FIRST_PLANE.finditer(value):
        if ord(far.group()) & 0xFFFE == 0xFFFE:  # U+1FFFE, U+1FFFF, ... U+10FFFF: non-characters
            return far.start(), far.group()
    return None


def text_problem(value: str, *, free_text: bool = False) -> str | None:
    """What makes `value` unfit to store (the character and where it is), or None when it is clean."""
    found = _first_forbidden(value, free_text)
    if found is None:
        return None
    return f"character {found[0] + 1} is U+{ord(found[1]):04X}; text may hold {RULE}"


def is_clean(value: str, *, free_text: bool = False) -> bool:
    return _first_forbidden(value, free_text) is None


def clean_text(value: str, field: str, *, free_text: bool = False, max_length: int | None = None) -> str:
    """`value` if it is clean and fits `max_length`; otherwise InvalidText naming `field` and the rule."""
    problem = text_problem(value, free_text=free_text)
    if problem is not None:
        raise InvalidText(f"{field}: {problem}", field=field)
    if max_length is not None and len(value) > max_length:
        raise InvalidText(f"{field} is {len(value)} characters long; at most {max_length} fit", field=field)
    return value
