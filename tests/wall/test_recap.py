"""The recap's arithmetic: posts per local hour or day, totals, most active, first-timers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from tests.helpers import post_dict
from wall.aggregates import facts
from wall.models import Post
from wall.recap import (
    choose_unit,
    close_up,
    count_buckets,
    first_timers,
    most_active,
    timeline,
    totals,
)

PARIS = ZoneInfo("Europe/Paris")


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def post(native_id: str, handle: str, at: str, photos: int = 0) -> Post:
    return Post.from_dict(
        post_dict(
            native_id,
            author={"handle": handle, "display_name": handle.strip("@").title()},
            created_at=at,
            photos=[{"url": f"/media/p/{native_id}-{i}.jpg"} for i in range(photos)],
        )
    )


def counts(buckets: tuple[object, ...]) -> list[tuple[str, int]]:
    return [(b.start.strftime("%Y-%m-%d %H:%M%z"), b.count) for b in buckets]  # type: ignore[attr-defined]


def test_hour_buckets_count_by_hand_and_keep_empty_hours() -> None:
    """Posts at 10:05, 10:55 and 13:10 UTC make 10:00=2, 11:00=0, 12:00=0, 13:00=1."""
    times = [utc("2026-11-23T10:05"), utc("2026-11-23T10:55"), utc("2026-11-23T13:10")]
    line = timeline(times, UTC)
    assert line.unit == "hour"
    assert counts(line.buckets) == [
        ("2026-11-23 10:00+0000", 2),
        ("2026-11-23 11:00+0000", 0),
        ("2026-11-23 12:00+0000", 0),
        ("2026-11-23 13:00+0000", 1),
    ]


def test_buckets_align_to_local_hours_and_days_in_the_event_zone() -> None:
    """In Paris (UTC+1 in November) 17:30Z counts in the 18:00 local hour, and 23:30Z on
    the 23rd counts on the 24th local day."""
    times = [utc("2026-11-23T17:30"), utc("2026-11-23T18:10"), utc("2026-11-23T23:30")]
    hours = count_buckets(times, PARIS, "hour", lo=times[0], hi=times[-1])
    assert counts(hours)[:2] == [("2026-11-23 18:00+0100", 1), ("2026-11-23 19:00+0100", 1)]
    assert counts(hours)[-1] == ("2026-11-24 00:00+0100", 1)
    assert sum(b.count for b in hours) == 3 and len(hours) == 7
    days = count_buckets(times, PARIS, "day", lo=times[0], hi=times[-1])
    assert counts(days) == [("2026-11-23 00:00+0100", 2), ("2026-11-24 00:00+0100", 1)]


def test_the_repeated_autumn_hour_is_two_buckets() -> None:
    """On 25 October 2026 Paris goes from 03:00 CEST back to 02:00 CET: 00:30Z and 01:30Z are
    both 02:30 local, in two separate 02:00 buckets (+0200 then +0100)."""
    times = [utc("2026-10-24T23:10"), utc("2026-10-25T00:30"), utc("2026-10-25T01:30")]
    hours = count_buckets(times, PARIS, "hour", lo=times[0], hi=times[-1])
    assert counts(hours) == [
        ("2026-10-25 01:00+0200", 1),
        ("2026-10-25 02:00+0200", 1),
        ("2026-10-25 02:00+0100", 1),
    ]


def test_the_skipped_spring_hour_has_no_bucket_and_days_last_23_hours() -> None:
    """On 29 March 2026 Paris skips 02:00-03:00: 00:30Z (01:30 CET) is followed by the 03:00
    CEST bucket; a post at 22:30Z is 00:30 on the 30th, counted on the next local day."""
    times = [utc("2026-03-29T00:30"), utc("2026-03-29T01:30"), utc("2026-03-29T22:30")]
    hours = count_buckets(times, PARIS, "hour", lo=times[0], hi=times[1])
    assert counts(hours) == [("2026-03-29 01:00+0100", 1), ("2026-03-29 03:00+0200", 1)]
    days = count_buckets(times, PARIS, "day", lo=times[0], hi=times[-1])
    assert counts(days) == [("2026-03-29 00:00+0100", 2), ("2026-03-30 00:00+0200", 1)]


def test_unit_is_hourly_up_to_three_days_then_daily() -> None:
    """A span of exactly 3 days is hourly; a minute more is daily, with empty days present."""
    start = utc("2026-11-01T12:00")
    assert choose_unit(start, start + timedelta(days=3)) == "hour"
    assert choose_unit(start, start + timedelta(days=3, minutes=1)) == "day"
    line = timeline([start, start + timedelta(days=5)], UTC)
    assert line.unit == "day"
    assert [b.count for b in line.buckets] == [1, 0, 0, 0, 0, 1]


def test_timeline_widens_to_the_event_start_and_end() -> None:
    """The chart runs to the event's end even when the last post came before it."""
    posts = [utc("2026-11-23T18:20")]
    line = timeline(posts, UTC, starts_at=utc("2026-11-23T19:00"), ends_at=utc("2026-11-23T21:00"))
    assert counts(line.buckets) == [
        ("2026-11-23 18:00+0000", 1),
        ("2026-11-23 19:00+0000", 0),
        ("2026-11-23 20:00+0000", 0),
        ("2026-11-23 21:00+0000", 0),
    ]
    assert timeline([], UTC).buckets == ()


def test_close_up_counts_only_the_hours_around_the_event() -> None:
    """The hourly close-up runs 6 hours either side of the event and leaves the rest out."""
    start, end = utc("2026-11-23T19:00"), utc("2026-11-23T21:00")
    times = [utc("2026-11-01T10:00"), utc("2026-11-23T19:30"), utc("2026-11-23T19:40")]
    line = close_up(times, UTC, start, end)
    assert line.unit == "hour"
    assert line.buckets[0].start == utc("2026-11-23T13:00")
    assert line.buckets[-1].start == utc("2026-11-24T03:00")
    assert sum(b.count for b in line.buckets) == 2


def test_totals_count_posts_distinct_people_and_photos() -> None:
    """Totals: every post, each handle once, every photo."""
    posts = [
        post("1", "@ada", "2026-11-23T18:00Z", photos=2),
        post("2", "@ada", "2026-11-23T19:00Z"),
        post("3", "@bob", "2026-11-23T19:30Z", photos=1),
    ]
    assert totals(posts) == totals(posts).__class__(posts=3, people=2, photos=3)


def test_people_are_counted_as_the_wall_counts_them() -> None:
    """The recap and the wall's stats fold a handle's case the same way: one person, two posts."""
    posts = [
        post("1", "@Ada@Example.org", "2026-11-23T18:00Z"),
        post("2", "@ada@example.org", "2026-11-23T19:00Z"),
    ]
    # The wall's stats count the author keys the aggregates store with each post.
    assert totals(posts).people == len({facts(p).split("|", 3)[3] for p in posts}) == 1
    [ada] = most_active(posts)
    assert ada.posts == 2 and ada.author.handle == "@ada@example.org"  # the latest details


def test_most_active_ranks_by_posts_then_by_who_came_first() -> None:
    """Most posts first; equal counts go to whoever posted first."""
    posts = [
        post("1", "@cy", "2026-11-23T18:00Z"),
        post("2", "@bob", "2026-11-23T18:10Z"),
        post("3", "@ada", "2026-11-23T18:20Z"),
        post("4", "@ada", "2026-11-23T18:30Z"),
        post("5", "@bob", "2026-11-23T18:40Z"),
        post("6", "@ada", "2026-11-23T18:50Z"),
    ]
    ranked = most_active(posts, limit=3)
    assert [(p.author.handle, p.posts) for p in ranked] == [("@ada", 3), ("@bob", 2), ("@cy", 1)]
    assert [p.author.handle for p in most_active(posts, limit=2)] == ["@ada", "@bob"]


def test_first_timers_are_people_whose_first_post_came_during_the_event() -> None:
    """Someone who posted in the build-up is not a first-timer, even if they post on the
    night; someone whose first post is between start and end is; after the end is not."""
    start, end = utc("2026-11-23T19:00"), utc("2026-11-23T22:00")
    posts = [
        post("1", "@early", "2026-11-20T10:00Z"),
        post("2", "@early", "2026-11-23T19:30Z"),
        post("3", "@newbie", "2026-11-23T20:15Z"),
        post("4", "@newbie", "2026-11-23T20:45Z"),
        post("5", "@punctual", "2026-11-23T19:00Z"),
        post("6", "@late", "2026-11-24T09:00Z"),
    ]
    found = first_timers(posts, start, end)
    assert [(p.author.handle, p.first_at) for p in found] == [
        ("@punctual", start),
        ("@newbie", utc("2026-11-23T20:15")),
    ]
    assert first_timers(posts, None, None) == []
    # Without an end, the event is taken to last 3 hours: 22:00 is still in, 22:01 is not.
    assert [p.author.handle for p in first_timers(posts, utc("2026-11-24T06:00"), None)] == [
        "@late"
    ]
