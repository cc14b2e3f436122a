"""The recap of an event, pure: posts counted per local hour or day, totals, the people.

Buckets follow the event's time zone: an hour bucket starts on a local hour, a day bucket
at local midnight, so a chart of a Paris meetup reads in Paris time, across a DST change
too (the repeated autumn hour is two buckets, the skipped spring hour none). Every bucket
between the first and the last is present, empty ones with 0.

The bucket rule: a span (first post to last post, widened to the event's start and end)
of at most `HOURLY_SPAN` (3 days) is counted per hour, anything longer per day.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Literal

from wall.models import Author, Post
from wall.moderation import author_key

Unit = Literal["hour", "day"]
HOURLY_SPAN = timedelta(days=3)
MAX_SPAN = timedelta(days=400)
"""The longest span a chart covers (about 400 day bars), whatever the posts' or event's dates."""
DEFAULT_LENGTH = timedelta(hours=3)
"""How long an event without `ends_at` is taken to last, for the first-timers window."""
CLOSE_UP_MARGIN = timedelta(hours=6)
"""Hours shown either side of the event in the hourly close-up of a long build-up."""


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bar of the chart: posts from `start` (local time) for one unit."""

    start: datetime
    count: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """Posts per unit, every bucket from the first to the last present."""

    unit: Unit
    buckets: tuple[Bucket, ...]

    @property
    def peak(self) -> int:
        """The largest bucket's count (0 for none)."""
        return max((b.count for b in self.buckets), default=0)

    def label(self, bucket: Bucket) -> str:
        """A bucket's start as people read it: `2026-11-23 19:00` or `2026-11-23`."""
        if self.unit == "day":
            return bucket.start.strftime("%Y-%m-%d")
        return bucket.start.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class Person:
    """Someone who posted: their latest author details, how many posts, when they first did."""

    author: Author
    posts: int
    first_at: datetime


@dataclass(frozen=True, slots=True)
class Totals:
    """How much the event produced."""

    posts: int
    people: int
    photos: int


def floor(moment: datetime, zone: tzinfo, unit: Unit) -> datetime:
    """The start of the local hour or day `moment` falls in, as an aware time in `zone`."""
    local = moment.astimezone(zone)
    if unit == "hour":
        # astimezone set `fold` for the repeated autumn hour; replace keeps it.
        return local.replace(minute=0, second=0, microsecond=0)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0, fold=0)
    # A local midnight that does not exist (a DST jump at 00:00) is normalized through UTC.
    return midnight.astimezone(UTC).astimezone(zone)


def _next(start: datetime, zone: tzinfo, unit: Unit) -> datetime:
    # Past the bucket's end by less than one unit, then floored: 90 minutes for an hour
    # (an hour bucket lasts 60), 26 hours for a day (a day lasts 23 to 25).
    step = timedelta(minutes=90) if unit == "hour" else timedelta(hours=26)
    return floor(start.astimezone(UTC) + step, zone, unit)


def choose_unit(first: datetime, last: datetime) -> Unit:
    """Per hour for a span of at most HOURLY_SPAN, per day beyond."""
    return "hour" if last - first <= HOURLY_SPAN else "day"


def count_buckets(
    times: Iterable[datetime], zone: tzinfo, unit: Unit, *, lo: datetime, hi: datetime
) -> tuple[Bucket, ...]:
    """Times counted per local unit from the bucket of `lo` to that of `hi`, empty ones too.

    Times outside [lo, hi]'s buckets are left out.
    """
    # Only times near [lo, hi] are floored: one dated 0001 or 9999 would overflow the zone.
    near = [t for t in times if lo - timedelta(days=2) <= t <= hi + timedelta(days=2)]
    counts = Counter(int(floor(t, zone, unit).timestamp()) for t in near)
    buckets = []
    start, last = floor(lo, zone, unit), floor(hi, zone, unit)
    while start <= last:
        buckets.append(Bucket(start, counts.get(int(start.timestamp()), 0)))
        start = _next(start, zone, unit)
    return tuple(buckets)


def bucket_starts(zone: tzinfo, unit: Unit, lo: datetime, hi: datetime) -> list[datetime]:
    """The start of every local unit from the one `lo` falls in to the one `hi` falls in."""
    starts = []
    start, last = floor(lo, zone, unit), floor(hi, zone, unit)
    while start <= last:
        starts.append(start)
        start = _next(start, zone, unit)
    return starts


def bucket_edges(
    zone: tzinfo, unit: Unit, lo: datetime, hi: datetime, *, clip: bool = False
) -> tuple[list[datetime], list[datetime]]:
    """Bucket starts from `lo`'s to `hi`'s, and the edges that count them: edges[i] to
    edges[i+1] (half-open) holds bucket i. With `clip`, only [lo, hi] is counted."""
    starts = bucket_starts(zone, unit, lo, hi)
    edges = [*starts, _next(starts[-1], zone, unit)]
    if clip:
        edges[0], edges[-1] = lo, hi + timedelta(milliseconds=1)
    return starts, edges


def span(
    first: datetime | None,
    last: datetime | None,
    starts_at: datetime | None,
    ends_at: datetime | None,
) -> tuple[datetime, datetime, Unit] | None:
    """The chart's span: the first to the last post, widened to the event's start and end,
    and the unit it is counted in; None with nothing to chart."""
    marks = [t for t in (first, last, starts_at, ends_at) if t is not None]
    if not marks:
        return None
    lo, hi = bounded(min(marks), max(marks), starts_at)
    return lo, hi, choose_unit(lo, hi)


def bounded(lo: datetime, hi: datetime, starts_at: datetime | None) -> tuple[datetime, datetime]:
    """A span cut to MAX_SPAN: around the event's start when it has one, else the latest
    stretch, so no date in the data can make a chart of thousands of bars."""
    if hi - lo <= MAX_SPAN:
        return lo, hi
    if starts_at is not None:
        lo = max(lo, starts_at - MAX_SPAN / 2)
        return lo, min(hi, lo + MAX_SPAN)
    return hi - MAX_SPAN, hi


def close_up_span(starts_at: datetime, ends_at: datetime | None) -> tuple[datetime, datetime]:
    """The hourly close-up's span: CLOSE_UP_MARGIN either side of the event."""
    end = min(ends_at or starts_at + DEFAULT_LENGTH, starts_at + HOURLY_SPAN)
    return starts_at - CLOSE_UP_MARGIN, end + CLOSE_UP_MARGIN


def timeline(
    times: Sequence[datetime],
    zone: tzinfo,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Timeline:
    """Posts from the first mention to the last, widened to the event's start and end."""
    marks = [t for t in (starts_at, ends_at) if t is not None]
    span = [*times, *marks]
    if not span:
        return Timeline("hour", ())
    lo, hi = bounded(min(span), max(span), starts_at)
    unit = choose_unit(lo, hi)
    return Timeline(unit, count_buckets(times, zone, unit, lo=lo, hi=hi))


def close_up(
    times: Sequence[datetime], zone: tzinfo, starts_at: datetime, ends_at: datetime | None
) -> Timeline:
    """The event itself per hour: from CLOSE_UP_MARGIN before its start to as long after its end."""
    end = min(ends_at or starts_at + DEFAULT_LENGTH, starts_at + HOURLY_SPAN)
    lo, hi = starts_at - CLOSE_UP_MARGIN, end + CLOSE_UP_MARGIN
    inside = [t for t in times if lo <= t <= hi]
    return Timeline("hour", count_buckets(inside, zone, "hour", lo=lo, hi=hi))


def totals(posts: Sequence[Post]) -> Totals:
    """Posts, distinct authors (by handle, compared as the wall compares them), and photos."""
    return Totals(
        posts=len(posts),
        people=len({author_key(p.author.handle) for p in posts}),
        photos=sum(len(p.photos) for p in posts),
    )


def people(posts: Iterable[Post]) -> list[Person]:
    """Everyone who posted, with their latest author details, post count and first post time."""
    counts: Counter[str] = Counter()
    latest: dict[str, Post] = {}
    first: dict[str, datetime] = {}
    for post in posts:
        handle = author_key(post.author.handle)
        counts[handle] += 1
        if handle not in latest or post.at > latest[handle].at:
            latest[handle] = post
        if handle not in first or post.at < first[handle]:
            first[handle] = post.at
    return [Person(latest[h].author, counts[h], first[h]) for h in counts]


def most_active(posts: Iterable[Post], limit: int = 10) -> list[Person]:
    """The people with the most posts, most first; ties go to whoever posted first."""
    ranked = sorted(people(posts), key=lambda p: (-p.posts, p.first_at, p.author.handle))
    return ranked[:limit]


def first_timers(
    posts: Iterable[Post], starts_at: datetime | None, ends_at: datetime | None
) -> list[Person]:
    """People whose first post in this event came during it (start to end), by first post.

    Those who joined in on the night rather than in the build-up. An event without
    `ends_at` is taken to last DEFAULT_LENGTH; one without `starts_at` has none.
    """
    if starts_at is None:
        return []
    end = ends_at or starts_at + DEFAULT_LENGTH
    found = [p for p in people(posts) if starts_at <= p.first_at <= end]
    return sorted(found, key=lambda p: (p.first_at, p.author.handle))
