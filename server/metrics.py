"""/metrics in the Prometheus text format, with prometheus-client.

Everything is read when Prometheus scrapes: the hub's counters, its clients by page, the
sources' lag and the posts per state from Redis. The hub's hot path only bumps integers
and observes one histogram sample per change (never per client).

With PROMETHEUS_MULTIPROC_DIR (set by `eventwall run --workers N` for its web processes),
every process writes its numbers there, its own on each scrape and once a second otherwise,
and /metrics answers with the sum over all of them (prometheus-client's multiprocess mode):
whichever process the port's kernel picks, the answer is the host's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import Response

from server.hub import Hub
from server.services import services
from wall.moderation import PUBLIC_STATES, State
from wall.sources import SourceRegistry
from wall.store import Store

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PAGE_KINDS = ("wall", "live", "embed", "moderate", "other")
HUB_COUNTERS: tuple[tuple[str, str, Callable[[Hub], int]], ...] = (
    ("eventwall_changes_received", "Changes read from the Redis subscription.", lambda h: h.stats.received),
    ("eventwall_changes_skipped", "Changes for events with no client in this process, not decoded.", lambda h: h.stats.skipped),
    ("eventwall_messages_queued", "Messages offered to client queues.", lambda h: h.stats.delivered),
    ("eventwall_messages_sent", "Messages sent to websocket clients.", lambda h: h.messages_sent),
    ("eventwall_slow_clients_dropped", "Clients closed with 1013 for being slow.", lambda h: h.stats.dropped_slow),
    ("eventwall_render_errors", "Changes skipped because they failed to render.", lambda h: h.stats.render_errors),
)  # fmt: skip
CLIENTS_DOC = "Connected websocket clients."
BY_PAGE_DOC = "Connected websocket clients per page."


class Metrics:
    """This web process's registry: the hub's collector and the fan-out latency histogram.

    With `shared_dir` (PROMETHEUS_MULTIPROC_DIR), the registry reads every web process's
    files there instead, and this process writes its own (`share`).
    """

    def __init__(self, shared_dir: str = "") -> None:
        self.shared_dir = shared_dir
        self.registry = CollectorRegistry(auto_describe=False)
        self.fanout = Histogram(
            "eventwall_fanout_latency_seconds",
            "From a change's publication in Redis to its messages queued for every client.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            # Shared: written to this process's file, read back with everyone's.
            registry=None if shared_dir else self.registry,
        )
        self.redis_families: list[Metric] = []
        self._shared: _SharedHub | None = None
        if shared_dir:
            MultiProcessCollector(self.registry, path=shared_dir)  # type: ignore[no-untyped-call]
            self.registry.register(_RedisCollector(self))

    def observe_fanout(self, seconds: float) -> None:
        """One change fanned out, `seconds` after it was published."""
        self.fanout.observe(seconds)

    def attach(self, hub: Hub) -> None:
        """Collect the hub's numbers at every scrape (shared: write them for every scrape)."""
        if self.shared_dir:
            self._shared = _SharedHub(hub)
        else:
            self.registry.register(_HubCollector(hub, self))

    def share(self) -> None:
        """Write this process's hub numbers where every web process's scrape reads them."""
        if self._shared is not None:
            self._shared.write()

    async def refresh(self, store: Store, *, private: bool = False) -> None:
        """Read what lives in Redis (posts per state, source lag); skipped while it is away.

        Without `private`, posts are counted in the public state only: how many posts each
        event holds pending, rejected or hidden is the moderators' business.
        """
        states = tuple(State) if private else tuple(PUBLIC_STATES)
        try:
            self.redis_families = await asyncio.wait_for(_redis_families(store, states), 2)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("metrics: redis unreachable (%s)", exc)
            self.redis_families = []


class _HubCollector(Collector):
    def __init__(self, hub: Hub, metrics: Metrics) -> None:
        self.hub = hub
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        hub = self.hub
        yield GaugeMetricFamily("eventwall_clients", CLIENTS_DOC, value=hub.client_count)
        by_page = GaugeMetricFamily("eventwall_clients_by_page", BY_PAGE_DOC, labels=["page"])
        counts = hub.clients_by_kind()
        for kind in PAGE_KINDS:
            by_page.add_metric([kind], counts.get(kind, 0))
        yield by_page
        for name, doc, read in HUB_COUNTERS:
            yield CounterMetricFamily(name, doc, value=read(hub))
        yield from self.metrics.redis_families


class _RedisCollector(Collector):
    """What the scraped process read from Redis (the same for every process: not summed)."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        yield from self.metrics.redis_families


class _SharedHub:
    """The hub's numbers as prometheus-client metrics in multiprocess mode: the gauges summed
    over the live processes, the counters over every process that ran."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.clients = Gauge(
            "eventwall_clients", CLIENTS_DOC, multiprocess_mode="livesum", registry=None
        )
        self.by_page = Gauge(
            "eventwall_clients_by_page",
            BY_PAGE_DOC,
            ["page"],
            multiprocess_mode="livesum",
            registry=None,
        )
        self.counters = [
            (Counter(name, doc, registry=None), read) for name, doc, read in HUB_COUNTERS
        ]
        self.written = [0] * len(self.counters)

    def write(self) -> None:
        """Bring this process's file up to its hub's numbers."""
        self.clients.set(self.hub.client_count)
        counts = self.hub.clients_by_kind()
        for kind in PAGE_KINDS:
            self.by_page.labels(kind).set(counts.get(kind, 0))
        for i, (counter, read) in enumerate(self.counters):
            value = read(self.hub)
            if value > self.written[i]:
                counter.inc(value - self.written[i])
                self.written[i] = value


async def keep_shared(metrics: Metrics, every: float = 1.0) -> None:
    """Write this process's numbers once a `every` seconds, for the other processes' scrapes."""
    while True:
        metrics.share()
        await asyncio.sleep(every)


async def _redis_families(store: Store, states: tuple[State, ...]) -> list[Metric]:
    posts = GaugeMetricFamily(
        "eventwall_posts", "Posts per moderation state, per event.", labels=["event", "state"]
    )
    events = await store.list_events()
    counts = await store.counts([e.slug for e in events])
    for slug, sizes in counts.items():
        for state, count in sizes.items():
            if state in states:
                posts.add_metric([slug, state.value], count)
    lag = GaugeMetricFamily(
        "eventwall_ingest_lag_seconds",
        "Seconds between a source's newest item's creation and its taking by the worker.",
        labels=["source"],
    )
    taken = CounterMetricFamily(
        "eventwall_ingest_items", "Items taken from each source.", labels=["source"]
    )
    registry = SourceRegistry(store.redis)
    for config in await registry.list():
        status = await registry.status(config.id)
        taken.add_metric([config.id], status.taken)
        # `lag` is written by the worker beside the fields SourceStatus reads.
        raw = await store.redis.hget(SourceRegistry.STATUS + config.id, "lag")
        with contextlib.suppress(ValueError):
            if raw is not None:
                lag.add_metric([config.id], float(raw))
    return [posts, lag, taken]


async def metrics(request: Request) -> Response:
    """Counters, gauges and histograms of this web process; with METRICS_TOKEN set, for its
    bearers only and with every state's counts, else for anyone without the private ones."""
    svc = services(request)
    token = svc.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response(
                "401: /metrics needs `Authorization: Bearer <METRICS_TOKEN>`.\n",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="metrics"'},
            )
    collected: Metrics = request.app.state.metrics
    await collected.refresh(svc.store, private=bool(token))
    collected.share()  # our own numbers as of now; the other processes' at most a second old
    return Response(generate_latest(collected.registry), media_type=CONTENT_TYPE)
