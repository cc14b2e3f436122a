"""How Eventwall's costs grow with the event: pages, exports and import at 1k to 1M posts.

    python -m bench.scale                      # 1k, 10k and 100k approved posts
    python -m bench.scale --short              # 1k and 10k (part of `make bench`)
    python -m bench.scale --million            # 1k, 10k, 100k and 1M
    python -m bench.scale --sizes 5000 --no-write
    python -m bench.scale --import-only --sizes 1000000   # only `eventwall ingest replay`

Each event is built straight into a private Valkey (2,000 authors, 10 % of posts with a
photo, 2 % pending, over 3 days, the event itself on the last evening). Then, against one
`eventwall web` process (bench.serve, with its loop-lag probe): every page is fetched three
times (the median is kept), the admin downloads are streamed, and `eventwall export` and
`eventwall ingest replay` run as commands. Each row records the time, the web process's
RSS, and the event loop's worst stall while the request ran (how long any other request
would have waited). The growth table goes into docs/performance.md between its markers.
It reports; it never fails on a figure.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
from redis.asyncio import Redis

from bench.process import ROOT, ServerProcess
from ingest.pipeline import normalize
from wall import details
from wall.accounts import Accounts
from wall.export import jsonl_line
from wall.models import Author, Event, Photo, Post
from wall.moderation import State
from wall.redis_server import EmbeddedRedis
from wall.store import Store

AUTHORS = 2000
BUILD_BATCH = 500
PASSWORD = "scale-run-loopback-only-7f3e"  # passes the password rule (not the email name)
ADMIN = "bench@example.org"
DOC = ROOT / "docs" / "performance.md"
BEGIN, END = "<!-- scale:begin -->", "<!-- scale:end -->"
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
PAGES = (
    "live",
    "live?before=deep",
    "wall",
    "recap",
    "gallery",
    "feed.json",
    "feed.atom",
    "moderate",
    "moderate?tab=pending&order=oldest",
    "moderate?tab=approved&order=newest",
)


@dataclass
class Row:
    """One measured path at one size."""

    path: str
    size: int
    ms: float
    stall_ms: float
    rss_mb: float
    note: str = ""
    cpu_ms: float = 0.0
    """CPU time the web process (pages) or the command spent: what load on the machine
    can't inflate, unlike the wall-clock `ms`."""
    own_stall_ms: float = 0.0
    """The part of the worst stall the web process's own CPU time explains (see bench.serve)."""
    hold_ms: float = 0.0
    """The longest any one callback of the web process ran, in CPU time (see bench.serve)."""
    gc_ms: float = 0.0
    """The longest garbage collection in the web process meanwhile (5 ms or more; bench.serve)."""


@dataclass
class Results:
    """Every row, by path then size."""

    rows: list[Row] = field(default_factory=list)
    loads: dict[int, float] = field(default_factory=dict)
    """The machine's 1-minute load average as each size's measurements began."""

    def add(self, row: Row) -> None:
        """Keep a row and say it."""
        self.rows.append(row)
        note = f" ({row.note})" if row.note else ""
        print(
            f"{row.size:>8} {row.path:<36} {row.ms:9.1f} ms  cpu {row.cpu_ms:9.1f} ms"
            f"  stall {row.stall_ms:7.1f} ms (own {row.own_stall_ms:5.1f},"
            f" longest callback {row.hold_ms:5.1f}, gc {row.gc_ms:5.1f})"
            f"  rss {row.rss_mb:6.0f} MB{note}",
            flush=True,
        )


def _post(rng: random.Random, n: int, at: datetime) -> Post:
    author = rng.randrange(AUTHORS)
    photos: tuple[Photo, ...] = ()
    if rng.random() < 0.10:
        photos = (Photo(url=f"/media/p/bench/{n % 50}.jpg", width=800, height=600, alt="room"),)
    return Post(
        source="bench",
        native_id=str(n),
        author=Author(f"@user{author}@example.org", f"User {author}"),
        text=f"Post {n} from the room: the talk on streaming was great #pyvalley",
        created_at=at,
        photos=photos,
        hashtags=("pyvalley",),
    )


async def build(redis_url: str, slug: str, size: int) -> None:
    """An event of `size` approved posts (and 2 % pending) over 3 days, written in batches."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    store = Store(redis)
    try:
        event = Event(slug=slug, title=f"Scale {size}", hashtags=("pyvalley",), moderation="post")
        event = details.apply(
            event,
            {
                "starts_at": (START + timedelta(days=2, hours=1)).isoformat(),
                "ends_at": (START + timedelta(days=2, hours=4)).isoformat(),
                "timezone": "Europe/Paris",
            },
        )
        await store.save_event(event)
        rng = random.Random(size)
        span = 3 * 86400
        pending = size // 50
        for first in range(0, size + pending, BUILD_BATCH):
            items = []
            for n in range(first, min(first + BUILD_BATCH, size + pending)):
                at = START + timedelta(seconds=rng.randrange(span))
                state = State.APPROVED if n < size else State.PENDING
                items.append((_post(rng, n, at), state, "bench", ""))
            await store.ingest_many(slug, items)
    finally:
        await redis.aclose()


def write_photos(media: Path) -> None:
    """The 50 photo files the events' posts show (for the HTML archive to copy)."""
    media.mkdir(parents=True, exist_ok=True)
    for i in range(50):
        (media / f"{i}.jpg").write_bytes(b"\xff\xd8 bench photo")


async def add_admin(redis_url: str) -> None:
    """The admin the benchmark logs in as."""
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        await Accounts(redis).add(ADMIN, PASSWORD, admin=True)
    finally:
        await redis.aclose()


def login(client: httpx.Client) -> None:
    """Log in through the form, with its CSRF token."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    client.post(
        "/login", data={"email": ADMIN, "password": PASSWORD, "csrf": token.group(1), "next": "/"}
    )


def _deep_cursor(client: httpx.Client, slug: str) -> str:
    # A cursor about half way down the event: the `data-cursor` of a post from the middle.
    html = client.get(f"/e/{slug}/live").text
    cursor = re.findall(r'data-cursor="([^"]+)"', html)
    if not cursor:
        return ""
    ms, _, post_id = cursor[-1].partition(".")
    return f"{int(ms) - 36 * 3600 * 1000}.{post_id}"


class PeakRss:
    """The highest RSS of a process tree, polled every 20 ms while in the `with` block."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            try:
                root = psutil.Process(self.pid)
                total = root.memory_info().rss
                total += sum(c.memory_info().rss for c in root.children(recursive=True))
                self.peak = max(self.peak, total)
            except psutil.Error:
                pass
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def timed_get(server: ServerProcess, client: httpx.Client, url: str, *, repeat: int = 3) -> Row:
    """`repeat` GETs (each streamed to the end) as a row: median ms, the server's median CPU
    ms per request, the worst loop stall and its own part, peak RSS MB, a non-200 status."""
    times, stalls, own, holds, gcs, cpus, note = [], [], [], [], [], [], ""
    with PeakRss(server.process.pid) as rss:
        for _ in range(repeat):
            started, t0, cpu0 = time.time(), time.perf_counter(), server.cpu()
            with client.stream("GET", url) as response:
                for _chunk in response.iter_bytes():
                    pass
            times.append((time.perf_counter() - t0) * 1000)
            cpus.append((server.cpu() - cpu0) * 1000)
            if response.status_code != 200:
                note = f"HTTP {response.status_code}"
            # The probe reports once a second: wait for the report covering this request.
            time.sleep(1.1)
            stalls += server.lag_between(started, time.time() - 1.0)
            own += server.own_lag_between(started, time.time() - 1.0)
            holds += server.hold_between(started, time.time() - 1.0)
            gcs += server.gc_between(started, time.time() - 1.0)
    return Row(
        path="",
        size=0,
        ms=statistics.median(times),
        stall_ms=max(stalls, default=0.0),
        rss_mb=rss.peak / 2**20,
        note=note,
        cpu_ms=statistics.median(cpus),
        own_stall_ms=max(own, default=0.0),
        hold_ms=max(holds, default=0.0),
        gc_ms=max(gcs, default=0.0),
    )


def run_command(
    args: list[str], env: dict[str, str], *, stdout: Path | None = None
) -> tuple[float, float, str, float]:
    """Run an `eventwall` command: seconds, peak RSS MB, its last line of output, CPU ms."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = stdout.open("w") if stdout else subprocess.PIPE
    t0 = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.PIPE,
        text=True,
    )
    with PeakRss(process.pid) as rss:
        _, err = process.communicate()
    seconds = time.perf_counter() - t0
    if stdout:
        out.close()  # type: ignore[union-attr]
    last = (err or "").strip().splitlines()[-1:] or [""]
    if process.returncode != 0:
        last = [f"exit {process.returncode}: {last[0]}"]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return seconds, rss.peak / 2**20, last[0], cpu


def idle_row(server: ServerProcess, size: int, seconds: float = 3.0) -> Row:
    """The worst loop stall with no request at all: the machine's own noise."""
    # Reports come once a second: the first one stamped after now covers the second before
    # it (start-up, or the last request), which was not idle.
    time.sleep(1.1)
    started = time.time()
    time.sleep(seconds + 1.1)
    end = time.time() - 1.0
    return Row(
        "(idle: no request)",
        size,
        0.0,
        max(server.lag_between(started, end), default=0.0),
        server.rss() / 2**20,
        own_stall_ms=max(server.own_lag_between(started, end), default=0.0),
        hold_ms=max(server.hold_between(started, end), default=0.0),
    )


def measure(
    size: int, redis_url: str, server: ServerProcess, data: Path, results: Results, valkey: int
) -> None:
    """Every path at one size (`valkey`: the Redis server's pid, for its share of the import)."""
    slug = f"scale-{size}"
    base = f"http://127.0.0.1:{server.port}"
    with httpx.Client(base_url=base, timeout=3600) as client:
        login(client)
        deep = _deep_cursor(client, slug)
        for page in PAGES:
            path = page.replace("deep", deep)
            # Once first, unmeasured: a page's first request also compiles its templates.
            client.get(f"/e/{slug}/{path}")
            row = timed_get(server, client, f"/e/{slug}/{path}")
            results.add(dataclasses.replace(row, path=f"/e/{{slug}}/{page}", size=size))
        for kind in ("jsonl", "csv", "zip"):
            row = timed_get(server, client, f"/e/{slug}/export.{kind}", repeat=1)
            results.add(dataclasses.replace(row, path=f"download export.{kind}", size=size))
    env = {**os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(data), "DEMO": "false"}
    for row in export_rows(slug, size, data, env):
        results.add(row)
    exported = data / f"{slug}.jsonl"
    results.add(replay_row(exported, f"import-{size}", size, env, valkey))
    for done in (exported, data / f"{slug}.csv"):
        done.unlink(missing_ok=True)


def export_rows(slug: str, size: int, data: Path, env: dict[str, str]) -> list[Row]:
    """`eventwall export` of an event in each format, as rows; the files stay in `data`."""
    rows = []
    for kind, suffix in (("jsonl", ".jsonl"), ("csv", ".csv"), ("html", "-archive")):
        out = data / f"{slug}{suffix}"
        seconds, rss, last, cpu = run_command(
            ["export", slug, "--format", kind, "--out", str(out)], env
        )
        rate = _rate(size, seconds, cpu) + (f"; {last}" if "exit" in last else "")
        rows.append(
            Row(f"eventwall export --format {kind}", size, seconds * 1000, 0, rss, rate, cpu)
        )
    return rows


def replay_row(path: Path, slug: str, size: int, env: dict[str, str], valkey: int) -> Row:
    """`eventwall ingest replay` of a file as a row, with the Redis server's CPU per post."""
    server = psutil.Process(valkey)
    before = sum(server.cpu_times()[:2])
    seconds, rss, last, cpu = run_command(["ingest", "replay", str(path), "--event", slug], env)
    redis_us = (sum(server.cpu_times()[:2]) - before) / size * 1e6
    note = _rate(size, seconds, cpu) + f", Redis {redis_us:,.0f} µs CPU a post"
    note += f"; {last}" if "exit" in last else ""
    return Row("eventwall ingest replay", size, seconds * 1000, 0, rss, note, cpu)


def write_archive(path: Path, size: int) -> None:
    """A JSONL file of `size` posts as `eventwall export` writes them (for --import-only)."""
    rng = random.Random(size)
    with path.open("w", encoding="utf-8") as out:
        for n in range(size):
            post = normalize(_post(rng, n, START + timedelta(seconds=rng.randrange(3 * 86400))))
            out.write(jsonl_line(post) + "\n")


def import_only(sizes: list[int], *, then_export: bool = False) -> None:
    """Only the import, at each size, into a fresh Redis: the time, CPU and rate of each;
    with `then_export`, `eventwall export` of what was imported in every format too."""
    with tempfile.TemporaryDirectory(prefix="ew-import-") as tmp:
        data = Path(tmp) / "data"
        write_photos(data / "media" / "p" / "bench")
        for run, size in enumerate(sizes):
            archive = Path(tmp) / f"{size}.jsonl"
            write_archive(archive, size)
            # A fresh Redis for every run, a size repeated too: a known post is not stored again.
            embedded = EmbeddedRedis(Path(tmp) / f"valkey-{run}")
            redis_url = embedded.start()
            try:
                assert embedded.process is not None
                env = {**os.environ, "REDIS_URL": redis_url, "DATA_DIR": str(data)}
                load = os.getloadavg()[0]
                row = replay_row(
                    archive, "import", size, env | {"DEMO": "false"}, embedded.process.pid
                )
                print(
                    f"{size:>8} load {load:.1f}: {row.ms / 1000:,.1f} s, CPU {row.cpu_ms / 1000:,.1f} s, {row.rss_mb:.0f} MB, {row.note}",
                    flush=True,
                )
                for done in export_rows("import", size, data, env) if then_export else ():
                    print(
                        f"{'':>8} {done.path}, load {os.getloadavg()[0]:.1f}: {done.ms / 1000:,.1f} s, CPU {done.cpu_ms / 1000:,.1f} s, {done.rss_mb:.0f} MB, {done.note}",
                        flush=True,
                    )
            finally:
                embedded.stop()
            archive.unlink()


def _rate(size: int, seconds: float, cpu_ms: float) -> str:
    # Posts per wall-clock second, and per CPU second of the command (startup included).
    return f"{size / seconds:,.0f} posts/s ({size / max(cpu_ms / 1000, 1e-3):,.0f} per CPU s)"


def table(results: Results, sizes: list[int]) -> str:
    """The growth table: one row per path, one column per size (ms, worst stall)."""
    paths = list(dict.fromkeys(r.path for r in results.rows))
    head = "| path | " + " | ".join(f"{s:,}" for s in sizes) + " |"
    lines = [head, "|---|" + "---|" * len(sizes)]
    for path in paths:
        cells = []
        for size in sizes:
            row = next((r for r in results.rows if r.path == path and r.size == size), None)
            if row is None:
                cells.append("")
                continue
            cell = f"{row.ms:,.0f} ms" if row.ms >= 10 else f"{row.ms:.1f} ms"
            if row.cpu_ms:
                cell += f" (cpu {row.cpu_ms:,.0f})"
            if row.stall_ms:
                cell += f", stall {row.stall_ms:.0f} (own {row.own_stall_ms:.0f},"
                cell += f" longest callback {row.hold_ms:.0f})"
            cell += f", {row.rss_mb:.0f} MB"
            if row.note:
                cell += f", {row.note}"
            cells.append(cell)
        lines.append(f"| `{path}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_doc(text: str) -> None:
    """Replace what lies between the markers in docs/performance.md (appending them if absent)."""
    doc = DOC.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{text}\n{END}"
    if BEGIN in doc and END in doc:
        doc = doc[: doc.index(BEGIN)] + block + doc[doc.index(END) + len(END) :]
    else:
        doc = doc.rstrip("\n") + "\n\n## Scale: costs as the event grows\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    """Build the events, measure every path at every size, print and record the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.scale")
    parser.add_argument("--sizes", default="", help="comma-separated post counts")
    parser.add_argument("--short", action="store_true", help="1k and 10k only")
    parser.add_argument("--million", action="store_true", help="add 1M posts (long)")
    parser.add_argument("--no-write", action="store_true", help="print, don't edit the docs")
    parser.add_argument(
        "--import-only", action="store_true", help="only `eventwall ingest replay`, printed"
    )
    parser.add_argument(
        "--then-export", action="store_true", help="with --import-only: export it in every format"
    )
    args = parser.parse_args(argv)
    if args.sizes:
        sizes = [int(s) for s in args.sizes.split(",")]
    else:
        sizes = [1_000, 10_000] if args.short else [1_000, 10_000, 100_000]
        sizes += [1_000_000] if args.million else []
    if args.import_only:
        import_only(sizes, then_export=args.then_export)
        return
    results = Results()
    with tempfile.TemporaryDirectory(prefix="ew-scale-") as tmp:
        data = Path(tmp) / "data"
        embedded = EmbeddedRedis(Path(tmp) / "valkey")
        redis_url = embedded.start()
        server: ServerProcess | None = None
        try:
            asyncio.run(add_admin(redis_url))
            write_photos(data / "media" / "p" / "bench")
            for size in sizes:
                t0 = time.perf_counter()
                asyncio.run(build(redis_url, f"scale-{size}", size))
                took = time.perf_counter() - t0
                print(f"built {size:,} posts in {took:.1f} s ({size / took:,.0f} posts/s)")
            server = ServerProcess("eventwall", redis_url).start()
            for size in sizes:
                results.loads[size] = os.getloadavg()[0]
                results.add(idle_row(server, size))
                assert embedded.process is not None
                measure(size, redis_url, server, data, results, embedded.process.pid)
        finally:
            if server is not None:
                server.stop()
            embedded.stop()
    load = os.getloadavg()[0]
    loads = "; ".join(f"{n:,} posts: {results.loads[n]:.1f}" for n in sizes if n in results.loads)
    loads = f"as each size began: {loads}" if loads else "unknown"
    text = (
        f"Measured {datetime.now(UTC):%Y-%m-%d} by `python -m bench.scale"
        f"{' --short' if args.short else ''}{' --million' if args.million else ''}` on the 2-core"
        f" machine (load average {loads}, {load:.1f} at the end). Each cell: time (median of 3 for"
        " pages) with the CPU time the web process or the command spent on it in brackets (what"
        " the machine's load cannot inflate), the worst event-loop stall while it ran (ms;"
        " none for commands, which run in their own process; the idle row is the machine's"
        " own noise) with, as `own`, the part of it the web process's own CPU time explains"
        " (the rest was waiting for a core) and the longest any one callback of the web"
        " process ran, in CPU time, peak RSS of the web process or the command.\n\n"
        + table(results, sizes)
    )
    print("\n" + text)
    if not args.no_write:
        write_doc(text)


if __name__ == "__main__":
    main()
