"""The benchmark's SVG chart: valid XML, one series per server."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

from bench.chart import line_chart

SVG = "{http://www.w3.org/2000/svg}"


def chart() -> str:
    return line_chart(
        {
            "Eventwall": [(1000, 40.0), (2000, 80.0), (5000, 230.0)],
            "ceiling": [(1000, 35.0), (2000, 70.0), (5000, 200.0)],
            "peer <broadcaster> & co": [(1000, 150.0), (2000, math.nan)],
        },
        title="p99 latency",
        x_label="clients",
        y_label="ms",
        limit=250,
    )


def test_chart_is_valid_svg_with_three_series() -> None:
    """The chart parses as XML, is an <svg>, and has one named group per series."""
    root = ET.fromstring(chart())
    assert root.tag == f"{SVG}svg"
    groups = root.findall(f"{SVG}g")
    assert [g.get("data-name") for g in groups] == [
        "Eventwall",
        "ceiling",
        "peer <broadcaster> & co",
    ]
    for group in groups:
        assert group.find(f"{SVG}polyline") is not None


def test_chart_plots_every_point_but_nan() -> None:
    """Each measured point becomes a marker; a nan (no latency measured) is left out."""
    root = ET.fromstring(chart())
    markers = [len(g.findall(f"{SVG}circle")) for g in root.findall(f"{SVG}g")]
    assert markers == [3, 3, 1]


def test_chart_points_stay_inside_the_plot() -> None:
    """Coordinates fall within the drawing, even for values above the axis' nice maximum."""
    root = ET.fromstring(chart())
    width, height = float(root.get("width", 0)), float(root.get("height", 0))
    for circle in root.iter(f"{SVG}circle"):
        assert 0 <= float(circle.get("cx", -1)) <= width
        assert 0 <= float(circle.get("cy", -1)) <= height


def test_points_far_over_the_limit_sit_on_the_top_edge() -> None:
    """A collapse (p99 of seconds) does not flatten the rest: the axis stops at 4x the limit."""
    svg = line_chart(
        {"a": [(1000, 50.0), (8000, 5800.0)]},
        title="t",
        x_label="x",
        y_label="y",
        limit=250,
    )
    root = ET.fromstring(svg)
    circles = list(root.iter(f"{SVG}circle"))
    tops = [float(c.get("cy", 0)) for c in circles]
    assert tops[1] == min(tops) and circles[1].get("fill") == "#fff"
    assert circles[0].get("fill") != "#fff"
