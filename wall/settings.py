"""Every setting, read from the environment in one place and passed on as values."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    """Eventwall's settings; each field is the lower-case name of its environment variable."""

    redis_url: str = ""
    """Redis to use (redis://host:port/db; redis+cluster://host:port for a Redis Cluster, any
    node a seed). Empty: start the embedded Valkey under DATA_DIR."""
    host: str = "127.0.0.1"
    """Address the web server listens on."""
    port: int = 8000
    """Port the web server listens on."""
    data_dir: Path = Path("var")
    """Folder for the embedded Redis's data, generated media and other state."""
    demo: bool = True
    """Replay the demo meetup into the `demo` event when the worker starts."""
    demo_rate: float = 0.5
    """Demo posts per second."""
    demo_loop: bool = True
    """Start the demo corpus again, with new ids, when it ends."""
    changelog_maxlen: int = 10_000
    """Entries kept in each event's change log (a capped stream); older ones are trimmed."""
    client_queue: int = 256
    """Messages buffered per websocket client; a client further behind is closed with 1013."""
    send_timeout: float = 5.0
    """Seconds one send to a websocket client may take before it is closed with 1013."""
    resume_limit: int = 1000
    """At most this many missed changes are replayed on reconnect; more get a full re-render."""
    page_size: int = 50
    """Posts rendered on a first page load and on a full re-render."""
    media_max_bytes: int = 15_000_000
    """Largest photo downloaded or uploaded, in bytes; a download is aborted past it."""
    media_timeout: float = 15.0
    """Seconds one photo download may take in all before it is aborted."""
    media_max_pixels: int = 40_000_000
    """Largest photo in pixels (width x height), checked before decoding: bombs are refused."""
    source_reload: float = 2.0
    """Seconds between the worker's checks of the configured sources (added, removed)."""
    upload_rate: int = 5
    """Attendee uploads accepted per IP address per UPLOAD_WINDOW seconds, per event."""
    upload_window: int = 600
    """Seconds of the attendee upload rate-limit window."""
    poll_interval: float = 15.0
    """Seconds between two polls of a polled source (Mastodon REST without a token, RSS)."""
    bluesky_jetstream: str = "wss://jetstream2.us-east.bsky.network"
    """Jetstream server a Bluesky source follows when it names none (`--server`)."""
    bluesky_appview: str = "https://public.api.bsky.app"
    """Bluesky AppView asked for authors' profiles and quoted posts."""
    bluesky_plc: str = "https://plc.directory"
    """DID directory asked for an author's handle when the AppView can't give their profile."""
    embed_origins: str = ""
    """Sites allowed to frame /e/{slug}/embed, space- or comma-separated origins; empty: none."""
    public_url: str = ""
    """Base URL people reach this server at, for the wall's QR code. Empty: the request's own."""
    secret_key: str = field(default="", repr=False)  # never in a logged repr()
    """Key signing moderators' session cookies. Empty: generated once into DATA_DIR/secret_key (0600)."""
    session_hours: int = 12
    """How long a moderator stays logged in."""
    ingest_buffer: int = 10_000
    """Items the worker holds in memory while Redis is unreachable; past it the oldest is dropped."""
    shutdown_timeout: float = 10.0
    """Seconds a stopping process (SIGTERM) may take to close its clients and flush its buffer."""
    log_format: str = "text"
    """Log lines as `text` (human-readable) or `json` (one JSON object a line)."""
    max_body_bytes: int = 65_536
    """Largest request body (forms, JSON) in bytes; larger ones get 413. Uploads: MEDIA_MAX_BYTES."""
    ws_ping_interval: float = 20.0
    """Seconds between keepalive pings to each websocket client (0: no pings)."""
    ws_ping_timeout: float = 60.0
    """Seconds a client may take to answer a ping, or to take a close frame, before it is cut."""
    web_workers: int = 0
    """Web processes `eventwall run` starts on its one port; 0: one per core, at most 8."""
    prometheus_multiproc_dir: str = ""
    """Folder where web processes sharing a port sum their /metrics (set by `eventwall run`)."""
    expected_clients: int = 1000
    """Websocket clients one web process expects at once; sizes its Redis pool (1 per 4, 16-1000)."""
    redis_pool_timeout: float = 10.0
    """Seconds a request waits for a free Redis connection before it gets 503 (a socket: 1013)."""
    fetch_allow_loopback: bool = False
    """Let outbound fetches (sources, photos, avatars) reach loopback; for tests and local demos."""
    allowed_hosts: str = ""
    """Host names (comma- or space-separated, `*` for any) whose Host header builds absolute
    links when PUBLIC_URL is empty; localhost and loopback addresses always do."""
    metrics_token: str = ""
    """Bearer token /metrics asks for; then it also counts each event's pending, rejected and
    hidden posts. Empty: /metrics is open, with approved posts counted only."""
    redis_replica_wait_ms: int = 100
    """On a Redis Cluster: milliseconds a moderator's decision waits for a replica to hold it
    (WAIT 1) before it is confirmed, so a failover can't lose it; 0: don't wait."""
    forwarded_allow_ips: str = ""
    """Proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs or networks, `*`);
    empty: no forwarding header is believed, the connection's own address counts."""
    """Let outbound fetches (sources, photos, avatars) reach loopback; for tests and local demos."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from environment variables (upper-case field names), defaults elsewhere."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get(f.name.upper())
            if raw is None or raw == "":
                continue
            default = f.default
            if isinstance(default, bool):
                if raw.lower() not in {"1", "true", "yes", "on", "0", "false", "no", "off"}:
                    raise ValueError(f"{f.name.upper()}: expected true or false, got {raw!r}")
                values[f.name] = raw.lower() in {"1", "true", "yes", "on"}
            elif isinstance(default, int | float | Path):
                try:
                    values[f.name] = type(default)(raw)
                except ValueError as exc:
                    raise ValueError(f"{f.name.upper()}: {exc}") from exc
            else:
                values[f.name] = raw
            problem = _problem(f.name, values[f.name], f.default)
            if problem:
                raise ValueError(f"{f.name.upper()}: {problem}, got {raw!r}")
        return cls(**values)  # type: ignore[arg-type]

    @property
    def media_dir(self) -> Path:
        """Where generated and downloaded media files live."""
        return self.data_dir / "media"


# The range of each number that has one more precise than "not negative".
_RANGES: dict[str, tuple[float, float]] = {
    "port": (0, 65535),
    "client_queue": (1, 1_000_000),
    "changelog_maxlen": (1, 10**9),
    "page_size": (1, 10_000),
    "expected_clients": (1, 10**7),
    "web_workers": (0, 64),
    "session_hours": (1, 24 * 365),
    "upload_window": (1, 10**7),
    "send_timeout": (0.001, 3600),
    "media_timeout": (0.001, 3600),
    "redis_pool_timeout": (0.001, 3600),
    "redis_replica_wait_ms": (0, 60_000),
    "source_reload": (0.01, 86400),
    "poll_interval": (0.1, 86400),
    "demo_rate": (0.001, 10_000),
}
# Text settings with a fixed form: a check and the words saying what is expected.
_TEXT_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "log_format": (lambda v: v in {"text", "json"}, "expected text or json"),
    "redis_url": (
        lambda v: v.startswith(
            ("redis://", "rediss://", "unix://", "redis+cluster://", "rediss+cluster://")
        ),
        "expected redis://host:port/db (or rediss://, unix://, redis+cluster://host:port)",
    ),
    "public_url": (
        lambda v: v.startswith(("http://", "https://")) and len(v) > len("https://"),
        "expected an http(s):// URL such as https://wall.example.org",
    ),
    "host": (lambda v: bool(v.strip()) and " " not in v, "expected an address such as 127.0.0.1"),
    "prometheus_multiproc_dir": (os.path.isabs, "expected an absolute folder path"),
}


def _url_rule(default: object) -> tuple[Callable[[str], bool], str] | None:
    """A setting whose default is a URL takes a URL of the same kind (http(s) or ws(s))."""
    if not isinstance(default, str):
        return None
    for schemes in (("https://", "http://"), ("wss://", "ws://")):
        if default.startswith(schemes):
            expected = f"expected a {schemes[1].rstrip(':/')}(s):// URL"
            return (lambda v, s=schemes: v.startswith(s) and len(v) > len(s[0])), expected
    return None


def _problem(name: str, value: object, default: object = None) -> str:
    """What is wrong with one converted value, or "" (every setting is checked at start)."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            return "expected a finite number"
        low, high = _RANGES.get(name, (0, float("inf")))
        if not low <= value <= high:
            upper = "" if high == float("inf") else f" and {high:g}"
            return (
                f"expected a number between {low:g}{upper}"
                if upper
                else f"expected at least {low:g}"
            )
        return ""
    rule = _TEXT_RULES.get(name) or _url_rule(default)
    if isinstance(value, str) and rule:
        check, expected = rule
        return "" if check(value) else expected
    return ""


def free_form_names() -> set[str]:
    """Settings whose any text is acceptable (a key, a list of origins or addresses)."""
    return {
        f.name.upper()
        for f in fields(Settings)
        if isinstance(f.default, str) and f.name not in _TEXT_RULES and not _url_rule(f.default)
    }


def documented_names() -> list[str]:
    """The environment variable of every setting, for the docs check."""
    return [f.name.upper() for f in fields(Settings)]
