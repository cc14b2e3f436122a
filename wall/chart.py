"""The recap's bar chart as SVG drawn on the server: no script, readable by screen readers.

Colours are presentation attributes and classes (no `style`), so the strict CSP holds and
the same markup works inside the static archive. The numbers behind it go in a <table>
next to it (the template's job); the SVG itself has role="img", a <title> and a <desc>.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from markupsafe import Markup

from wall.recap import Timeline

WIDTH, HEIGHT = 800, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 12, 22, 36
X_LABELS = 6


def _position(timeline: Timeline, moment: datetime, bar: float) -> float | None:
    """The x of a moment: its bucket's left edge plus how far into the bucket it is."""
    buckets = timeline.buckets
    for i, bucket in enumerate(buckets):
        end = buckets[i + 1].start if i + 1 < len(buckets) else None
        if bucket.start <= moment and (end is None or moment < end):
            length = ((end or bucket.start) - bucket.start).total_seconds()
            if end is None:
                length = 3600 if timeline.unit == "hour" else 86400
            fraction = min(1.0, (moment - bucket.start).total_seconds() / length)
            return LEFT + (i + fraction) * bar
    return None


def _tick(timeline: Timeline, start: datetime) -> str:
    # Short enough for six to fit: "Mon 19:00" per hour, "23 Nov" per day.
    return start.strftime("%a %H:%M" if timeline.unit == "hour" else "%d %b")


def _close(
    timeline: Timeline, bar: float, starts_at: datetime | None, ends_at: datetime | None
) -> bool:
    if starts_at is None or ends_at is None:
        return False
    a, b = _position(timeline, starts_at, bar), _position(timeline, ends_at, bar)
    return a is not None and b is not None and b - a <= 40


def bar_chart(
    timeline: Timeline,
    *,
    chart_id: str,
    title: str,
    description: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> Markup:
    """One bar per bucket, the event's start and end as marked lines."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{escape(chart_id)}" '
        f'role="img" viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{title_id} {desc_id}">',
        f'<title id="{title_id}">{escape(title)}</title>',
        f'<desc id="{desc_id}">{escape(description)}</desc>',
    ]
    buckets = timeline.buckets
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    parts.append(
        f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        'stroke="#888" stroke-width="1"/>'
    )
    if buckets:
        peak = max(timeline.peak, 1)
        bar = plot_w / len(buckets)
        parts.append(
            f'<text class="peak" x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end" '
            f'font-size="12" fill="#888">{timeline.peak}</text>'
            f'<text x="{LEFT - 6}" y="{base}" text-anchor="end" font-size="12" fill="#888">0</text>'
        )
        for i, bucket in enumerate(buckets):
            h = plot_h * bucket.count / peak
            x = LEFT + i * bar
            parts.append(
                f'<rect class="bar" x="{x:.2f}" y="{base - h:.2f}" width="{max(bar - 1, 0.5):.2f}" '
                f'height="{h:.2f}" fill="#3b82c4" data-count="{bucket.count}">'
                f"<title>{escape(timeline.label(bucket))}: {bucket.count} posts</title></rect>"
            )
        step = max(1, -(-len(buckets) // X_LABELS))
        for i in range(0, len(buckets), step):
            x = LEFT + i * bar
            parts.append(
                f'<text class="tick" x="{x:.2f}" y="{HEIGHT - 18}" font-size="11" fill="#888">'
                f"{escape(_tick(timeline, buckets[i].start))}</text>"
            )
        last_label = -1e9
        for name, moment in (("start", starts_at), ("end", ends_at)):
            x_mark = _position(timeline, moment, bar) if moment else None
            if x_mark is None:
                continue
            parts.append(
                f'<line class="mark mark-{name}" x1="{x_mark:.2f}" y1="{TOP - 6}" '
                f'x2="{x_mark:.2f}" y2="{base}" stroke="#e4572e" stroke-width="2" '
                'stroke-dasharray="4 3"/>'
            )
            # Marks closer than a label's width (a long build-up, a short night) share one.
            if x_mark - last_label > 40:
                anchor = "end" if x_mark > WIDTH - 60 else "start"
                x_text = x_mark - 3 if anchor == "end" else x_mark + 3
                parts.append(
                    f'<text class="mark-label" x="{x_text:.2f}" y="{TOP - 8}" font-size="12" '
                    f'text-anchor="{anchor}" fill="#e4572e">'
                    f"{'event' if name == 'start' and _close(timeline, bar, starts_at, ends_at) else name}"
                    "</text>"
                )
                last_label = x_mark
    parts.append("</svg>")
    return Markup("".join(parts))
