"""CAP 1.2 as XML: public alerts written (one document per message, and an Atom index), and alerts read from
other senders' feeds, safely.

Writing follows the OASIS CAP 1.2 schema's element order; times are written as the schema's pattern wants them
(seconds, a numeric offset, never "Z") in Thai time. Reading uses defusedxml with DTDs forbidden: a CAP document
has no DOCTYPE, so one that declares any (the carrier of entity expansion and external entity attacks) is refused
before anything is expanded or fetched. The caller bounds the bytes and the time (cap_feeds.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from xml.etree.ElementTree import Element  # only the type: parsing goes through defusedxml

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from lxml import etree

from dispatch.domain.cap import KINDS
from dispatch.domain.catalogue import AlertArea, Circle, ExternalInfo, Position, PublicAlertPublished
from dispatch.domain.vocabulary import BANGKOK

CAP_12: Final[str] = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_11: Final[str] = "urn:oasis:names:tc:emergency:cap:1.1"
ATOM: Final[str] = "http://www.w3.org/2005/Atom"
CAP_MEDIA_TYPE: Final[str] = "application/cap+xml"
LANGUAGES: Final[dict[str, str]] = {"th": "th-TH", "en": "en-US"}


# --- writing -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """Who sends this centre's alerts, and where they are served."""

    sender: str
    sender_name_th: str
    sender_name_en: str
    base_url: str

    def message_url(self, message_id: str) -> str:
        return f"{self.base_url.rstrip('/')}/cap/alerts/{message_id}.xml"


def cap_time(moment: datetime) -> str:
    """CAP 1.2's dateTime: whole seconds with a numeric offset (the schema refuses "Z" and fractions)."""
    return moment.astimezone(BANGKOK).replace(microsecond=0).isoformat()


def identifier(origin: Origin, message_id: str) -> str:
    return f"{origin.sender}.{message_id}"


def alert_document(message: PublicAlertPublished, earlier: Sequence[PublicAlertPublished], origin: Origin) -> bytes:
    """One CAP 1.2 <alert> for `message`, referencing the `earlier` messages of its alert."""
    alert = etree.Element(f"{{{CAP_12}}}alert", nsmap={None: CAP_12})
    _add(alert, "identifier", identifier(origin, message.message_id))
    _add(alert, "sender", origin.sender)
    _add(alert, "sent", cap_time(message.at))
    _add(alert, "status", "Exercise" if message.exercise else "Actual")
    _add(alert, "msgType", message.msg_type)
    _add(alert, "scope", "Public")
    if message.exercise:
        _add(alert, "note", "Exercise: a drill, not a real emergency. / การฝึกซ้อม ไม่ใช่เหตุจริง")
    if earlier:
        _add(alert, "references", " ".join(
            f"{origin.sender},{identifier(origin, e.message_id)},{cap_time(e.at)}" for e in earlier))
    kind = KINDS[message.kind]
    for language, text, event_name, sender_name in (
            ("th", message.th, kind.event_th, origin.sender_name_th),
            ("en", message.en, kind.event_en, origin.sender_name_en)):
        info = etree.SubElement(alert, f"{{{CAP_12}}}info")
        _add(info, "language", LANGUAGES[language])
        _add(info, "category", kind.category)
        _add(info, "event", event_name)
        _add(info, "responseType", kind.response)
        _add(info, "urgency", message.urgency)
        _add(info, "severity", message.severity)
        _add(info, "certainty", message.certainty)
        _add(info, "effective", cap_time(message.at))
        _add(info, "expires", cap_time(message.expires_at))
        _add(info, "senderName", sender_name)
        _add(info, "headline", text.headline)
        if text.description:
            _add(info, "description", text.description)
        if text.instruction:
            _add(info, "instruction", text.instruction)
        _add(info, "web", origin.message_url(message.message_id))
        _area(info, message.area, language)
    return bytes(etree.tostring(alert, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _area(info: etree._Element, area: AlertArea, language: str) -> None:
    element = etree.SubElement(info, f"{{{CAP_12}}}area")
    _add(element, "areaDesc", area.description_th if language == "th" else area.description_en)
    for polygon in area.polygons:
        points = list(polygon) if polygon[0] == polygon[-1] else [*polygon, polygon[0]]  # CAP wants it closed
        _add(element, "polygon", " ".join(f"{p.lat:.6g},{p.lon:.6g}" for p in points))
    for circle in area.circles:
        _add(element, "circle", f"{circle.center.lat:.6g},{circle.center.lon:.6g} {circle.radius_km:g}")


def _add(parent: etree._Element, name: str, text: str) -> etree._Element:
    child = etree.SubElement(parent, f"{{{CAP_12}}}{name}")
    child.text = text
    return child


def atom_index(entries: Iterable[PublicAlertPublished], origin: Origin, *, updated: datetime) -> bytes:
    """An Atom feed of alert messages, each linking to its CAP document (what Google Public Alerts and SAMBRO poll)."""
    feed = etree.Element(f"{{{ATOM}}}feed", nsmap={None: ATOM})
    _atom(feed, "id", f"{origin.base_url.rstrip('/')}/cap/alerts.atom")
    _atom(feed, "title", f"{origin.sender_name_en} / {origin.sender_name_th}")
    _atom(feed, "updated", cap_time(updated))
    author = etree.SubElement(feed, f"{{{ATOM}}}author")
    _atom(author, "name", origin.sender_name_en)
    etree.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{origin.base_url.rstrip('/')}/cap/alerts.atom")
    for message in entries:
        entry = etree.SubElement(feed, f"{{{ATOM}}}entry")
        _atom(entry, "id", f"urn:cap:{identifier(origin, message.message_id)}")
        prefix = "[Exercise] " if message.exercise else ""
        _atom(entry, "title", f"{prefix}{message.en.headline} / {message.th.headline}")
        _atom(entry, "updated", cap_time(message.at))
        _atom(entry, "summary", message.en.description or message.en.headline)
        etree.SubElement(entry, f"{{{ATOM}}}link", rel="alternate", type=CAP_MEDIA_TYPE,
                         href=origin.message_url(message.message_id))
    return bytes(etree.tostring(feed, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _atom(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{ATOM}}}{name}").text = text


# --- reading -------------------------------------------------------------------------------------------------


class FeedError(Exception):
    """A feed's answer cannot be used; `code` says why (shown on the board), the message never quotes the feed."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class ParsedAlert:
    sender: str
    identifier: str
    sent_at: datetime
    status: str
    msg_type: str
    references: tuple[str, ...]
    infos: tuple[ExternalInfo, ...]
    area: AlertArea


@dataclass
class ParsedFeed:
    """What one document held: CAP alerts inline, and links to CAP documents still to fetch."""

    alerts: list[ParsedAlert] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    bad_entries: int = 0


def parse_document(data: bytes) -> ParsedFeed:
    """A CAP alert, or an Atom or RSS index of them (links, or alerts inline); FeedError if it is neither."""
    root = _xml(data)
    tag = _local(root.tag)
    if _is_cap(root):
        return ParsedFeed(alerts=[parse_alert(root)])
    if root.tag == f"{{{ATOM}}}feed":
        return _atom_entries(root)
    if tag == "rss":
        return _rss_items(root)
    raise FeedError("not_cap", f"root element <{tag}> is neither a CAP alert nor an Atom or RSS index")


def _xml(data: bytes) -> Element:
    try:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FeedError("forbidden_xml", type(exc).__name__) from exc
    except (ParseError, ValueError) as exc:
        raise FeedError("not_xml") from exc
    return root


def _atom_entries(root: Element) -> ParsedFeed:
    parsed = ParsedFeed()
    for entry in root.iter(f"{{{ATOM}}}entry"):
        inline = [element for element in entry.iter() if _is_cap(element)]
        if inline:
            _collect(parsed, inline[0])
            continue
        links = entry.findall(f"{{{ATOM}}}link")
        # The CAP document's link by its media type, else one to an .xml file, else the entry's only link.
        chosen = (next((link for link in links if link.get("type") == CAP_MEDIA_TYPE), None)
                  or next((link for link in links if (link.get("href") or "").endswith(".xml")), None)
                  or (links[0] if links else None))
        if chosen is not None and chosen.get("href"):
            parsed.links.append(str(chosen.get("href")))
        else:
            parsed.bad_entries += 1
    return parsed


def _rss_items(root: Element) -> ParsedFeed:
    parsed = ParsedFeed()
    for item in root.iter("item"):
        link = item.findtext("link")
        if link:
            parsed.links.append(link.strip())
        else:
            parsed.bad_entries += 1
    return parsed


def _collect(parsed: ParsedFeed, element: Element) -> None:
    try:
        parsed.alerts.append(parse_alert(element))
    except FeedError:
        parsed.bad_entries += 1


def _is_cap(element: Element) -> bool:
    return element.tag in (f"{{{CAP_12}}}alert", f"{{{CAP_11}}}alert")


def parse_alert(root: Element) -> ParsedAlert:
    """The parts of a CAP <alert> this system uses; FeedError("not_cap") when a required one is missing or bad."""
    ns = root.tag[1:].split("}", 1)[0]

    def text(parent: Element, name: str, default: str | None = None) -> str:
        found = parent.findtext(f"{{{ns}}}{name}")
        if found is None or not found.strip():
            if default is None:
                raise FeedError("not_cap", f"<{name}> is missing")
            return default
        return found.strip()

    infos, polygons, circles, names = [], [], [], []
    for info in root.findall(f"{{{ns}}}info"):
        infos.append(ExternalInfo(
            language=text(info, "language", "en-US")[:20], event=text(info, "event", "")[:200],
            headline=text(info, "headline", "")[:200], severity=_choice(text(info, "severity", "Unknown"),
                                                                           ("Extreme", "Severe", "Moderate", "Minor")),
            urgency=_choice(text(info, "urgency", "Unknown"), ("Immediate", "Expected", "Future", "Past")),
            certainty=_choice(text(info, "certainty", "Unknown"), ("Observed", "Likely", "Possible", "Unlikely")),
            onset_at=_time(info.findtext(f"{{{ns}}}onset")), expires_at=_time(info.findtext(f"{{{ns}}}expires")),
        ))
        for area in info.findall(f"{{{ns}}}area"):
            names.append(text(area, "areaDesc", ""))
            polygons += [p for p in (_polygon(e.text or "") for e in area.findall(f"{{{ns}}}polygon")) if p]
            circles += [c for c in (_circle(e.text or "") for e in area.findall(f"{{{ns}}}circle")) if c]
    msg_type = text(root, "msgType")
    sent = _time(text(root, "sent"))
    if sent is None:
        raise FeedError("not_cap", "<sent> is not a CAP dateTime")
    description = "; ".join(dict.fromkeys(name for name in names if name))[:200]
    return ParsedAlert(
        sender=text(root, "sender")[:200], identifier=text(root, "identifier")[:200], sent_at=sent,
        status=text(root, "status"), msg_type=msg_type,
        references=tuple(text(root, "references", "").split()), infos=tuple(infos) or (
            ExternalInfo(language="en-US", event=""),),
        area=AlertArea(description_th=description, description_en=description, polygons=tuple(polygons),
                       circles=tuple(circles)),
    )


def _choice(value: str, known: tuple[str, ...]) -> Any:
    """`value` if CAP defines it (one of `known`), else CAP's own "Unknown"."""
    return value if value in known else "Unknown"


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def _polygon(value: str) -> tuple[Position, ...] | None:
    try:
        points = tuple(_point(pair) for pair in value.split())
    except ValueError:
        return None
    return points if len(points) >= 3 else None


def _circle(value: str) -> Circle | None:
    try:
        center, radius = value.split()
        return Circle(center=_point(center), radius_km=min(max(float(radius), 0.0), 1000.0))
    except ValueError:
        return None


def _point(pair: str) -> Position:
    lat, lon = (float(part) for part in pair.split(","))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError("out of range")
    return Position(lat=lat, lon=lon)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
