"""The recap of an event: the build-up chart, totals, the people, the photos, the next event.

The same `Recap` fills the recap page and the static HTML archive. Only approved posts
count: it is built from the approved index and nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from markupsafe import Markup

from wall.chart import bar_chart
from wall.details import EventInfo, event_time, event_zone
from wall.models import Event, Photo, Post
from wall.ordering import sane_time
from wall.recap import (
    DEFAULT_LENGTH,
    Bucket,
    Person,
    Timeline,
    Totals,
    bucket_edges,
    close_up,
    close_up_span,
    first_timers,
    most_active,
    span,
    timeline,
)
from wall.recap import totals as count_totals
from wall.store import Store

FIRST_TIMERS_SHOWN = 100  # the page's size is bounded whatever the number of people


@dataclass(frozen=True, slots=True)
class Chart:
    """A timeline with its SVG and what the SVG says, for the <table> beside it."""

    id: str
    title: str
    timeline: Timeline
    svg: Markup


@dataclass(frozen=True, slots=True)
class Recap:
    """Everything the recap shows, computed from the event's approved posts."""

    event: Event
    info: EventInfo
    zone: tzinfo
    starts_at: datetime | None
    ends_at: datetime | None
    totals: Totals
    charts: tuple[Chart, ...]
    most_active: list[Person]
    first_timers: list[Person]
    photos: list[tuple[Post, Photo]]

    def local(self, moment: datetime) -> str:
        """A time as the event's people read it: local, with the zone's abbreviation."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M %Z")


def _chart(
    chart_id: str, title: str, line: Timeline, start: datetime | None, end: datetime | None
) -> Chart:
    unit = "hour" if line.unit == "hour" else "day"
    described = (
        f"Posts per {unit}, {len(line.buckets)} {unit}s, busiest {unit} {line.peak} posts"
        + ("; event start marked" if start else "")
        + ("; event end marked" if end else "")
        + ". The table below has every value."
    )
    svg = bar_chart(
        line, chart_id=chart_id, title=title, description=described, starts_at=start, ends_at=end
    )
    return Chart(chart_id, title, line, svg)


def build_recap(event: Event, posts: list[Post]) -> Recap:
    """The recap of these (approved) posts of the event."""
    zone = event_zone(event)
    start, end = event_time(event, "starts_at"), event_time(event, "ends_at")
    # Each post where it is ordered: its time made sane at ingest (the chart's span is
    # bounded whatever times older posts carry).
    times = [p.at for p in posts]
    overall = timeline(times, zone, starts_at=start, ends_at=end)
    charts = [_chart("chart-all", f"{event.title}: posts per {overall.unit}", overall, start, end)]
    if overall.unit == "day" and start is not None:
        # A long build-up is counted per day: the night itself gets an hourly close-up.
        night = close_up(times, zone, start, end)
        charts.append(
            _chart("chart-night", f"{event.title}: the event, per hour", night, start, end)
        )
    photos = [(p, ph) for p in reversed(posts) if not p.sensitive for ph in p.photos]
    return Recap(
        event=event,
        info=EventInfo.of(event),
        zone=zone,
        starts_at=start,
        ends_at=end,
        totals=count_totals(posts),
        charts=tuple(charts),
        most_active=most_active(posts),
        first_timers=first_timers(posts, start, end)[:FIRST_TIMERS_SHOWN],
        photos=photos,
    )


PAGE_PHOTOS = 24


async def recap_of(store: Store, event: Event, *, photo_limit: int = PAGE_PHOTOS) -> Recap:
    """The recap of the event's approved posts, as stored now (read from its aggregates)."""
    return await load_recap(store, event, photo_limit=photo_limit)


async def load_recap(store: Store, event: Event, *, photo_limit: int = PAGE_PHOTOS) -> Recap:
    """The recap of the event's approved posts, read from its aggregates: a ZCOUNT per bucket,
    the top N, the first-timers and the newest photos, never every post."""
    agg = store.aggregates
    await agg.ensure(event.slug)
    zone = event_zone(event)
    start, end = event_time(event, "starts_at"), event_time(event, "ends_at")
    counts = await agg.counts(event.slug)
    charts: list[Chart] = []
    # The span from sane times: a post stored before times were made sane may say 0001 or 9999.
    now = datetime.now(UTC)
    first, last = (
        None if ms is None else sane_time(_at_ms(ms), now=now, starts_at=start)
        for ms in (counts.first_ms, counts.last_ms)
    )
    found = span(first, last, start, end)
    if found is not None:
        lo, hi, unit = found
        starts, edges = bucket_edges(zone, unit, lo, hi)
        overall = Timeline(unit, _buckets(starts, await agg.count_between(event.slug, edges)))
        title = f"{event.title}: posts per {overall.unit}"
        charts.append(_chart("chart-all", title, overall, start, end))
        if unit == "day" and start is not None:
            # A long build-up is counted per day: the night itself gets an hourly close-up.
            near, far = close_up_span(start, end)
            starts, edges = bucket_edges(zone, "hour", near, far, clip=True)
            night = Timeline("hour", _buckets(starts, await agg.count_between(event.slug, edges)))
            title = f"{event.title}: the event, per hour"
            charts.append(_chart("chart-night", title, night, start, end))
    photo_posts = await store.load(event.slug, await agg.photo_posts(event.slug, photo_limit))
    return Recap(
        event=event,
        info=EventInfo.of(event),
        zone=zone,
        starts_at=start,
        ends_at=end,
        totals=Totals(posts=counts.posts, people=counts.people, photos=counts.photos),
        charts=tuple(charts),
        most_active=await agg.most_active(event.slug),
        first_timers=await agg.first_between(event.slug, start, end or start + DEFAULT_LENGTH)
        if start
        else [],
        photos=[(p, ph) for p in photo_posts if not p.sensitive for ph in p.photos][:photo_limit],
    )


def _at_ms(ms: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms)


def _at(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, UTC) if ms is not None else None


def _buckets(starts: list[datetime], counts: list[int]) -> tuple[Bucket, ...]:
    return tuple(Bucket(s, n) for s, n in zip(starts, counts, strict=True))
