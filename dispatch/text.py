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

from dispatch.errors import InvalidText

# The columns these must fit (dispatch/events/tables.py, accounts): a command id is "<username>:<key>".
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
FREE_TEXT_CONTROLS: Final[str] = "\t\n"


def _forbidden(allowed: str) -> re.Pattern[str]:
    controls = "".join(chr(code) for code in (*range(0x20), *range(0x7F, 0xA0)) if chr(code) not in allowed)
    planes = "".join(f"{chr(plane * 0x10000 + 0xFFFE)}{chr(plane * 0x10000 + 0xFFFF)}" for plane in range(17))
    return re.compile(f"[{re.escape(controls)}\ud800-\udfff\ufdd0-\ufdef{planes}]")


_SINGLE_LINE: Final[re.Pattern[str]] = _forbidden("")
_FREE_TEXT: Final[re.Pattern[str]] = _forbidden(FREE_TEXT_CONTROLS)


def text_problem(value: str, *, free_text: bool = False) -> str | None:
    """What makes `value` unfit to store (the character and where it is), or None when it is clean."""
    found = (_FREE_TEXT if free_text else _SINGLE_LINE).search(value)
    if found is None:
        return None
    return f"character {found.start() + 1} is U+{ord(found.group()):04X}; text may hold {RULE}"


def is_clean(value: str, *, free_text: bool = False) -> bool:
    return (_FREE_TEXT if free_text else _SINGLE_LINE).search(value) is None


def clean_text(value: str, field: str, *, free_text: bool = False, max_length: int | None = None) -> str:
    """`value` if it is clean and fits `max_length`; otherwise InvalidText naming `field` and the rule."""
    problem = text_problem(value, free_text=free_text)
    if problem is not None:
        raise InvalidText(f"{field}: {problem}", field=field)
    if max_length is not None and len(value) > max_length:
        raise InvalidText(f"{field} is {len(value)} characters long; at most {max_length} fit", field=field)
    return value
