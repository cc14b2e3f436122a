"""A small SVG line chart (p99 latency against connected clients), no plotting library."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape

COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")


def _nice_max(value: float) -> float:
    if value <= 0 or math.isnan(value):
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * magnitude:
            return step * magnitude
    return 10.0 * magnitude


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    limit: float | None = None,
    width: int = 860,
    height: int = 420,
) -> str:
    """An SVG document with one polyline (and its points) per series; nan points are skipped.

    `limit` draws a dashed horizontal line (the p99 budget); the y axis then stops at four
    times the limit, and a point above it is drawn on the top edge, hollow.
    """
    left, right, top, bottom = 70, 250, 40, 55
    plot_w, plot_h = width - left - right, height - top - bottom
    points = [(x, y) for pts in series.values() for x, y in pts if not math.isnan(y)]
    x_max = _nice_max(max((x for x, _ in points), default=1.0))
    y_top = max((y for _, y in points), default=1.0)
    if limit is not None:
        y_top = min(max(y_top, limit), 4 * limit)
    y_max = _nice_max(y_top)

    def sx(x: float) -> float:
        return left + plot_w * x / x_max

    def sy(y: float) -> float:
        return top + plot_h * (1 - min(y, y_max) / y_max)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="#fff"/>',
        f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15">{escape(title)}</text>',
    ]
    for i in range(6):
        y_val = y_max * i / 5
        x_val = x_max * i / 5
        out.append(
            f'<line x1="{left}" y1="{sy(y_val):.1f}" x2="{left + plot_w}" y2="{sy(y_val):.1f}" stroke="#ddd"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{sy(y_val) + 4:.1f}" text-anchor="end">{y_val:g}</text>'
        )
        out.append(
            f'<text x="{sx(x_val):.1f}" y="{top + plot_h + 18}" text-anchor="middle">{x_val:g}</text>'
        )
    out.append(
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#333"/>'
    )
    out.append(
        f'<text x="{left + plot_w / 2:.0f}" y="{height - 12}" text-anchor="middle">{escape(x_label)}</text>'
    )
    out.append(
        f'<text x="16" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
        f'transform="rotate(-90 16 {top + plot_h / 2:.0f})">{escape(y_label)}</text>'
    )
    if limit is not None:
        out.append(
            f'<line x1="{left}" y1="{sy(limit):.1f}" x2="{left + plot_w}" y2="{sy(limit):.1f}" '
            f'stroke="#888" stroke-dasharray="6 4"/>'
        )
    for index, (name, pts) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        shown = sorted((x, y) for x, y in pts if not math.isnan(y))
        coords = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in shown)
        out.append(f'<g class="series" data-name="{escape(name)}">')
        out.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for x, y in shown:
            fill = colour if y <= y_max else "#fff"
            out.append(
                f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="3" fill="{fill}" stroke="{colour}"/>'
            )
        out.append("</g>")
        legend_y = top + 10 + 20 * index
        out.append(
            f'<line x1="{left + plot_w + 15}" y1="{legend_y}" x2="{left + plot_w + 35}" '
            f'y2="{legend_y}" stroke="{colour}" stroke-width="2"/>'
        )
        out.append(f'<text x="{left + plot_w + 40}" y="{legend_y + 4}">{escape(name)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"
