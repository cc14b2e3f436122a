"""/metrics in the Prometheus text format: what the hub and its clients are doing."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from server.services import services


async def metrics(request: Request) -> Response:
    """Counters and gauges of this web process."""
    hub = services(request).hub
    lines = [
        "# HELP eventwall_clients Connected websocket clients.",
        "# TYPE eventwall_clients gauge",
        f"eventwall_clients {hub.client_count}",
        "# HELP eventwall_changes_received_total Changes read from the Redis subscription.",
        "# TYPE eventwall_changes_received_total counter",
        f"eventwall_changes_received_total {hub.stats.received}",
        "# HELP eventwall_messages_queued_total Messages offered to client queues.",
        "# TYPE eventwall_messages_queued_total counter",
        f"eventwall_messages_queued_total {hub.stats.delivered}",
        "# HELP eventwall_slow_clients_dropped_total Clients closed with 1013 for being slow.",
        "# TYPE eventwall_slow_clients_dropped_total counter",
        f"eventwall_slow_clients_dropped_total {hub.stats.dropped_slow}",
        "# HELP eventwall_render_errors_total Changes skipped because they failed to render.",
        "# TYPE eventwall_render_errors_total counter",
        f"eventwall_render_errors_total {hub.stats.render_errors}",
    ]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")
