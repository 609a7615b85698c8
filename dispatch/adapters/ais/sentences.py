"""NMEA 0183 AIS sentences in, what the live picture needs out: positions, names, safety texts.

A receiver (AIS-catcher, rtl-ais, a transponder's NMEA port) sends lines such as
`!AIVDM,1,1,,A,13HOI:0P0000VOHLCnHQKwvL05Ip,0*23`, sometimes behind an NMEA 4.10 tag block
(`\\s:station,c:1241544035*4A\\!AIVDM,...`) or followed by the receiver's own fields after the checksum
(`...,0*23,s36310,d-081,T59.0`, USCG and aishub style). The AIVDM/AIVDO sentence is cut out of the line and
decoded with pyais; a message that spans several sentences is put together here, fragment by fragment in order.

Nothing a receiver sends may stop the feed: every line that cannot be used raises `Rejected` with a `reason`
the feed counts (metrics) and skips.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final, Literal

from pyais import NMEAMessage
from pyais.exceptions import AISBaseException

from dispatch.domain.catalogue import Position

# The sentence inside a line: talker (AI, AB, BS, SA...), VDM (heard) or VDO (own ship), up to the checksum.
_SENTENCE: Final[re.Pattern[bytes]] = re.compile(rb"![A-Z]{2}VD[MO],[^*\s]*\*[0-9A-Fa-f]{2}")
# A message split over more sentences than this is not AIS (type 8 and 26 messages take five at most).
MAX_FRAGMENTS: Final[int] = 9
# Fragments of one message arrive within a slot or two; a group still incomplete after this is dropped.
FRAGMENT_WINDOW_SECONDS: Final[float] = 5.0
# ITU-R M.1371's "not available" values.
_NO_LAT, _NO_LON, _NO_SPEED, _NO_COURSE, _NO_HEADING = 91.0, 181.0, 102.3, 360.0, 511
_POSITION_TYPES: Final[dict[int, str]] = {1: "A", 2: "A", 3: "A", 18: "B", 19: "B"}
_STATIC_TYPES: Final[frozenset[int]] = frozenset({5, 19, 24})
_SAFETY_TEXT_TYPE: Final[int] = 14

Reason = Literal["not_ais", "bad_checksum", "malformed", "multipart_out_of_order", "multipart_incomplete",
                 "unknown_type", "no_position"]
REASONS: Final[tuple[Reason, ...]] = ("not_ais", "bad_checksum", "malformed", "multipart_out_of_order",
                                      "multipart_incomplete", "unknown_type", "no_position")


class Rejected(ValueError):
    """A line the feed cannot use, and why (one of REASONS)."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class VesselFix:
    """A position report (class A types 1-3, class B types 18 and 19)."""

    mmsi: str
    position: Position
    sog_knots: float | None
    course_deg: float | None
    heading_deg: int | None
    nav_status: int | None
    ais_class: str


@dataclass(frozen=True, slots=True)
class VesselStatic:
    """What a vessel says of itself (types 5, 19 and 24): any of its name, call sign and ship type."""

    mmsi: str
    name: str = ""
    callsign: str = ""
    ship_type: int | None = None


@dataclass(frozen=True, slots=True)
class SafetyText:
    """A safety-related broadcast (type 14): an AIS-SART sends "SART ACTIVE" or "SART TEST"."""

    mmsi: str
    text: str


Decoded = VesselFix | VesselStatic | SafetyText


@dataclass
class _Group:
    fragments: list[NMEAMessage]
    started: float


@dataclass
class Assembler:
    """Turns lines into decoded messages, holding the fragments of multi-sentence messages until complete."""

    window_seconds: float = FRAGMENT_WINDOW_SECONDS
    _groups: dict[tuple[str, str, int], _Group] = field(default_factory=dict)

    def feed(self, line: bytes, now: float) -> list[Decoded]:
        """What the line says (nothing while a message is incomplete, or for a message the picture does not use;
        a type 19 gives both a position and a name); raises Rejected."""
        sentence = _sentence(line)
        fragments = self._complete(sentence, now)
        if fragments is None:
            return []
        try:
            message = (NMEAMessage.assemble_from_iterable(fragments) if len(fragments) > 1 else sentence).decode()
        except AISBaseException as exc:
            raise Rejected("unknown_type" if "not supported" in str(exc) else "malformed", str(exc)) from exc
        except (ValueError, IndexError, KeyError, TypeError) as exc:  # a payload too short for its type
            raise Rejected("malformed", str(exc)) from exc
        return _meaning(message)

    def expire(self, now: float) -> int:
        """Drop groups older than the window; returns how many (each an incomplete message)."""
        stale = [key for key, group in self._groups.items() if now - group.started > self.window_seconds]
        for key in stale:
            del self._groups[key]
        return len(stale)

    def _complete(self, sentence: NMEAMessage, now: float) -> list[NMEAMessage] | None:
        count, number = sentence.frag_cnt, sentence.frag_num
        if count == 1:
            return [sentence]
        if not 1 <= number <= count <= MAX_FRAGMENTS:
            raise Rejected("malformed", f"fragment {number} of {count}")
        key = (sentence.channel or "", str(sentence.seq_id or ""), count)
        group = self._groups.get(key)
        if number == 1:
            self._groups[key] = _Group([sentence], now)
            if group is not None:
                raise Rejected("multipart_incomplete", f"a new message began before fragment {len(group.fragments)+1}")
            return None
        if group is None or len(group.fragments) != number - 1:
            self._groups.pop(key, None)
            raise Rejected("multipart_out_of_order", f"fragment {number} of {count} without the ones before it")
        group.fragments.append(sentence)
        if number < count:
            return None
        del self._groups[key]
        return group.fragments


def _sentence(line: bytes) -> NMEAMessage:
    found = _SENTENCE.search(line)
    if found is None:
        raise Rejected("not_ais")
    raw = found.group()
    if not _checksum_holds(raw):
        raise Rejected("bad_checksum")
    try:
        return NMEAMessage(raw)
    except AISBaseException as exc:
        raise Rejected("malformed", str(exc)) from exc
    except (ValueError, IndexError) as exc:
        raise Rejected("malformed", str(exc)) from exc


def _checksum_holds(raw: bytes) -> bool:
    body, _, given = raw[1:].rpartition(b"*")
    total = 0
    for byte in body:
        total ^= byte
    return f"{total:02X}".encode() == given.upper()


def _meaning(message: object) -> list[Decoded]:
    kind = getattr(message, "msg_type", None)
    mmsi = f"{getattr(message, 'mmsi', 0):09d}"
    found: list[Decoded] = []
    if kind in _POSITION_TYPES:
        found.append(_fix(message, mmsi, _POSITION_TYPES[kind]))
    if kind in _STATIC_TYPES:
        found.append(VesselStatic(mmsi=mmsi, name=_text(getattr(message, "shipname", "")),
                                  callsign=_text(getattr(message, "callsign", "")),
                                  ship_type=_int_or_none(getattr(message, "ship_type", None))))
    if kind == _SAFETY_TEXT_TYPE:
        found.append(SafetyText(mmsi=mmsi, text=_text(getattr(message, "text", ""))))
    return found


def _fix(message: object, mmsi: str, ais_class: str) -> VesselFix:
    lat, lon = getattr(message, "lat", None), getattr(message, "lon", None)
    if lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise Rejected("no_position", f"{mmsi} sent no usable position")
    speed, course, heading = getattr(message, "speed", None), getattr(message, "course", None), getattr(
        message, "heading", None)
    return VesselFix(
        mmsi=mmsi, position=Position(lat=float(lat), lon=float(lon)),
        sog_knots=float(speed) if speed is not None and speed < _NO_SPEED else None,
        course_deg=float(course) if course is not None and course < _NO_COURSE else None,
        heading_deg=int(heading) if heading is not None and heading != _NO_HEADING else None,
        nav_status=_int_or_none(getattr(message, "status", None)), ais_class=ais_class,
    )


def _text(value: object) -> str:
    # AIS pads names with "@" and spaces; keep printable text only (names are shown and logged).
    text = str(value or "").replace("@", " ").strip()
    return "".join(char for char in text if char.isprintable())[:40]


def _int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int) else None  # an IntEnum (NavigationStatus, ShipType) is an int
