"""Event details: validated once, stored in the `extra` keys the live page reads."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from wall import details
from wall.details import display_time, post_time
from wall.models import Event, PostError

EVENT = Event(slug="meetup", title="Meetup", extra={"custom": 1})


def test_details_land_in_the_extra_keys_the_pages_read() -> None:
    """Times are normalized ISO with offset; the next event is one dict; other keys are kept."""
    updated = details.apply(
        EVENT,
        {
            "starts_at": "2026-11-23T19:00+01:00",
            "ends_at": "2026-11-23T22:30Z",
            "timezone": "Europe/Paris",
            "venue": "The Hall",
            "next_title": "Meetup #43",
            "next_url": "https://example.org/43",
            "next_starts_at": "2026-12-14T19:00+01:00",
        },
    )
    assert updated.extra == {
        "custom": 1,
        "starts_at": "2026-11-23T19:00:00+01:00",
        "ends_at": "2026-11-23T22:30:00+00:00",
        "timezone": "Europe/Paris",
        "venue": "The Hall",
        "next_event": {
            "title": "Meetup #43",
            "url": "https://example.org/43",
            "starts_at": "2026-12-14T19:00:00+01:00",
        },
    }
    assert details.event_zone(updated) == ZoneInfo("Europe/Paris")
    cleared = details.apply(updated, {"venue": "", "next_title": "", "next_url": ""})
    assert "venue" not in cleared.extra
    assert cleared.extra["next_event"] == {"starts_at": "2026-12-14T19:00:00+01:00"}
    assert details.apply(cleared, {"next_starts_at": ""}).extra.get("next_event") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": "tomorrow"}, "starts_at"),
        ({"starts_at": "2026-11-23T19:00"}, "starts_at"),  # no offset
        ({"ends_at": "2026-13-01T19:00Z"}, "ends_at"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"timezone": "../etc/passwd"}, "timezone"),
        ({"next_url": "javascript:alert(1)"}, "next_url"),
        ({"next_url": "ftp://example.org"}, "next_url"),
        ({"next_starts_at": "soon"}, "next_starts_at"),
        ({"starts_at": "2026-11-23T19:00Z", "ends_at": "2026-11-23T18:00Z"}, "ends_at"),
        ({"venue": "x" * 201}, "venue"),
    ],
)
def test_bad_details_are_refused_naming_the_field(changes: dict[str, str], field: str) -> None:
    """Each bad value raises PostError whose message starts with the field's name."""
    with pytest.raises(PostError) as caught:
        details.apply(EVENT, changes)
    assert str(caught.value).startswith(f"{field}:")


def test_unknown_or_missing_zone_is_utc() -> None:
    """An event without a (valid) time zone is read in UTC."""
    assert details.event_zone(EVENT).utcoffset(None) is not None
    assert (
        str(details.event_zone(Event(slug="x", title="X", extra={"timezone": "Nope/No"}))) == "UTC"
    )


@pytest.mark.parametrize(
    ("stored", "zone", "shown"),
    [
        ("2026-11-23T18:00:00+00:00", "Europe/Paris", "Mon 23 Nov 2026, 19:00 CET"),
        ("2026-07-01T17:30Z", "Europe/Paris", "Wed 1 Jul 2026, 19:30 CEST"),
        ("2026-11-23T18:00:00+00:00", "", "Mon 23 Nov 2026, 18:00 UTC"),
        ("2026-11-23T18:00:00+00:00", "Mars/Olympus", "Mon 23 Nov 2026, 18:00 UTC"),
        ("2026-05-01T19:00", "Europe/Paris", "Fri 1 May 2026, 19:00"),
        ("next spring", "Europe/Paris", "next spring"),
    ],
)
def test_display_time_in_the_events_zone(stored: str, zone: str, shown: str) -> None:
    assert display_time(stored, zone) == shown


def test_post_time_in_the_event_zone_with_the_date_when_not_today() -> None:
    """A post at 13:59 UTC reads 15:59 in Paris; another day adds the date, another year it too."""
    moment = datetime(2026, 6, 1, 13, 59, tzinfo=UTC)
    assert post_time(moment, "Europe/Paris", now=datetime(2026, 6, 1, 20, 0, tzinfo=UTC)) == "15:59"
    assert post_time(moment, "Europe/Paris", now=datetime(2026, 6, 2, 9, 0, tzinfo=UTC)) == (
        "1 Jun 15:59"
    )
    assert post_time(moment, "", now=datetime(2027, 1, 1, tzinfo=UTC)) == "1 Jun 2026 13:59"
    # Midnight in the zone decides "today", not midnight UTC.
    late = datetime(2026, 6, 1, 23, 30, tzinfo=UTC)
    assert post_time(late, "Europe/Paris", now=datetime(2026, 6, 2, 8, 0, tzinfo=UTC)) == "01:30"
    assert post_time(moment, "Not/AZone", now=moment) == "13:59"
