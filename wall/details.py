"""An event's details: when and where it happens, its time zone, and the next event.

They live in `Event.extra` under the keys the live page reads (`starts_at`, `venue`,
`next_event` {title, url, starts_at}) plus `ends_at` and `timezone`. Every value is
checked here, once, for the command line and the admin page alike.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from wall.models import Event, PostError

# The options, their key in `extra`, and where the next event's keys go.
FIELDS = ("starts_at", "ends_at", "timezone", "venue", "next_title", "next_url", "next_starts_at")
NEXT_KEYS = {"next_title": "title", "next_url": "url", "next_starts_at": "starts_at"}
_TIMES = ("starts_at", "ends_at", "next_starts_at")
_URL = re.compile(r"^https?://[^\s/?#]+[^\s]*$")
MAX_VENUE = 200


def parse_instant(value: str, name: str) -> datetime:
    """An ISO 8601 time with its UTC offset (or Z); PostError naming the field otherwise."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise PostError(f"{name}: not an ISO 8601 time ({value[:40]!r})") from exc
    if parsed.tzinfo is None:
        raise PostError(f"{name}: give the UTC offset, e.g. {value.strip()}+02:00 or …Z")
    return parsed


def display_time(value: str, zone_name: str = "") -> str:
    """A stored time as people read it, in the event's zone: "Sat 22 Nov 2026, 19:00 CET".

    A time without an offset is shown as written; one that does not parse, as it is.
    """
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return value
    if moment.tzinfo is not None:
        try:
            moment = moment.astimezone(ZoneInfo(zone_name) if zone_name else UTC)
        except (ZoneInfoNotFoundError, ValueError):
            moment = moment.astimezone(UTC)
    text = f"{moment:%a} {moment.day} {moment:%b %Y, %H:%M}"
    return f"{text} {moment.tzname()}" if moment.tzinfo is not None else text


def post_time(moment: datetime, zone_name: str = "", now: datetime | None = None) -> str:
    """A post's time as the room reads it, in the event's zone: "15:59" today, "28 Nov 15:59"
    another day, "28 Nov 2025 15:59" another year (UTC when the zone is unset or unknown)."""
    try:
        zone: tzinfo = ZoneInfo(zone_name) if zone_name else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = moment.astimezone(zone)
    today = (now or datetime.now(UTC)).astimezone(zone)
    if local.date() == today.date():
        return f"{local:%H:%M}"
    if local.year == today.year:
        return f"{local.day} {local:%b %H:%M}"
    return f"{local.day} {local:%b %Y %H:%M}"


def parse_timezone(value: str, name: str = "timezone") -> ZoneInfo:
    """An IANA time zone (Europe/Paris); PostError naming the field otherwise."""
    try:
        return ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise PostError(
            f"{name}: not an IANA time zone like Europe/Paris ({value[:40]!r})"
        ) from exc


def validate(changes: Mapping[str, str]) -> dict[str, str]:
    """The changes checked and normalized; an empty value means "clear this field"."""
    clean: dict[str, str] = {}
    for name, raw in changes.items():
        if name not in FIELDS:
            raise PostError(f"{name}: not an event detail")
        value = raw.strip()
        if value and name in _TIMES:
            value = parse_instant(value, name).isoformat()
        elif value and name == "timezone":
            value = parse_timezone(value).key
        elif value and name == "next_url" and not _URL.fullmatch(value):
            raise PostError("next_url: an http:// or https:// URL")
        elif name in {"venue", "next_title"} and len(value) > MAX_VENUE:
            raise PostError(f"{name}: at most {MAX_VENUE} characters")
        clean[name] = value
    return clean


def current(event: Event) -> dict[str, str]:
    """The event's details as option name -> value ("" when unset)."""
    extra = event.extra
    following = extra.get("next_event")
    following = following if isinstance(following, dict) else {}
    values = {}
    for name in FIELDS:
        raw = following.get(NEXT_KEYS[name]) if name in NEXT_KEYS else extra.get(name)
        values[name] = raw if isinstance(raw, str) else ""
    return values


@dataclass(frozen=True, slots=True)
class EventInfo:
    """An event's details as the pages show them: `current`, as attributes."""

    starts_at: str = ""
    ends_at: str = ""
    timezone: str = ""
    venue: str = ""
    next_title: str = ""
    next_url: str = ""
    next_starts_at: str = ""

    @classmethod
    def of(cls, event: Event) -> EventInfo:
        """The event's details, "" where unset."""
        return cls(**current(event))


def apply(event: Event, changes: Mapping[str, str]) -> Event:
    """The event with these details set (validated; "" clears one); PostError if one is bad."""
    merged = {**current(event), **validate(changes)}
    if merged["starts_at"] and merged["ends_at"]:
        if parse_instant(merged["ends_at"], "ends_at") < parse_instant(
            merged["starts_at"], "starts_at"
        ):
            raise PostError("ends_at: before starts_at")
    extra: dict[str, Any] = dict(event.extra)
    for name in ("starts_at", "ends_at", "timezone", "venue"):
        if merged[name]:
            extra[name] = merged[name]
        else:
            extra.pop(name, None)
    following = {key: merged[name] for name, key in NEXT_KEYS.items() if merged[name]}
    if following:
        extra["next_event"] = following
    else:
        extra.pop("next_event", None)
    return dataclasses.replace(event, extra=extra)


def event_zone(event: Event) -> tzinfo:
    """The event's time zone (`extra["timezone"]`), UTC when unset or unknown."""
    name = event.extra.get("timezone")
    if isinstance(name, str) and name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return UTC


def event_time(event: Event, key: str) -> datetime | None:
    """`starts_at` or `ends_at` as a datetime, None when unset or unreadable."""
    raw = event.extra.get(key)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return parse_instant(raw, key)
    except PostError:
        return None
