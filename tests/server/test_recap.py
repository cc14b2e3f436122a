"""The recap page and the admins' exports over HTTP: approved posts only, admins only."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
import zipfile
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from server.app import create_app
from tests.helpers import post_dict
from tests.server.moderation_helpers import PASSWORD, login, run, seed
from wall import details
from wall.accounts import Accounts
from wall.mod_store import ModerationStore
from wall.models import Event, Post
from wall.moderation import State
from wall.settings import Settings
from wall.store import Store

START = "2026-11-23T19:00:00+01:00"


def at(native_id: str, when: str, handle: str = "@ada@example.org", **extra: object) -> Post:
    author = {"handle": handle, "display_name": handle.split("@")[1].title()}
    return Post.from_dict(post_dict(native_id, created_at=when, author=author, **extra))


async def test_recap_shows_only_approved_posts_with_chart_and_table(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """Totals, chart bars, the table and the people count approved posts only; pending,
    rejected and hidden posts and their authors never appear."""
    await store.save_event(
        details.apply(
            event,
            {
                "starts_at": START,
                "ends_at": "2026-11-23T22:00:00+01:00",
                "timezone": "Europe/Paris",
                "venue": "The Hall",
                "next_title": "Meetup #43",
                "next_url": "https://example.org/43",
            },
        )
    )
    photo = [{"url": "/media/p/aa/one.jpg", "width": 40, "height": 30, "alt": "The stage"}]
    await store.ingest(event.slug, at("a1", "2026-11-23T17:10Z"), State.APPROVED)
    await store.ingest(event.slug, at("a2", "2026-11-23T18:20Z", photos=photo), State.APPROVED)
    await store.ingest(
        event.slug, at("b1", "2026-11-23T18:40Z", "@bob@example.org"), State.APPROVED
    )
    for state in (State.PENDING, State.REJECTED, State.HIDDEN):
        secret = at(f"x-{state}", "2026-11-23T18:30Z", f"@sneaky{state}@example.org")
        await store.ingest(event.slug, secret, state)
    response = await client.get("/e/testevent/recap")
    assert response.status_code == 200
    html = response.text
    assert "sneaky" not in html.casefold()
    assert re.search(r'id="total-posts">3<', html)
    assert re.search(r'id="total-people">2<', html)
    assert re.search(r'id="total-photos">1<', html)
    svg = re.search(r"<svg[^>]*>.*?</svg>", html, re.S)
    assert svg and 'role="img"' in svg.group(0)
    assert "<title id=" in svg.group(0) and "<desc id=" in svg.group(0)
    assert 'class="mark mark-start"' in svg.group(0) and 'class="mark mark-end"' in svg.group(0)
    bars = [int(n) for n in re.findall(r'class="bar"[^>]*data-count="(\d+)"', svg.group(0))]
    # Paris time: 18:10, 19:20, 19:40 -> 18:00=1, 19:00=2, then empty hours to the 22:00 end.
    assert bars == [1, 2, 0, 0, 0]
    rows = re.findall(r"<tr><th scope=\"row\"><time[^>]*>([^<]+)</time></th><td>(\d+)</td>", html)
    assert rows[:2] == [("2026-11-23 18:00", "1"), ("2026-11-23 19:00", "2")]
    assert len(rows) == 5
    most = re.search(r'<ol class="people" id="most-active">(.*?)</ol>', html, re.S)
    assert most and re.findall(r'data-handle="([^"]+)"', most.group(1)) == [
        "@ada@example.org",
        "@bob@example.org",
    ]
    # Bob's first post (19:40 Paris) came during the event; Ada posted before it began.
    firsts = re.search(r'id="first-timers">(.*?)</ul>', html, re.S)
    assert firsts and re.findall(r'data-handle="([^"]+)"', firsts.group(1)) == ["@bob@example.org"]
    assert 'src="/media/p/aa/one.jpg"' in html and 'href="/e/testevent/gallery"' in html
    assert "Meetup #43" in html and "The Hall" in html
    assert "/export.zip" not in html  # export links are for admins


async def test_recap_of_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    """No such event: 404."""
    assert (await client.get("/e/nope/recap")).status_code == 404


async def test_live_page_shows_the_event_details(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """The live page shows start, end, time zone, venue and next event, and links the recap."""
    changes = {"starts_at": START, "ends_at": "2026-11-23T22:00+01:00", "timezone": "Europe/Paris"}
    await store.save_event(details.apply(event, {**changes, "venue": "The Hall"}))
    html = (await client.get("/e/testevent/live")).text
    assert '<time datetime="2026-11-23T19:00:00+01:00">' in html
    assert 'class="ends-at" datetime="2026-11-23T22:00:00+01:00"' in html
    assert "(Europe/Paris)" in html and "The Hall" in html
    assert 'href="/e/testevent/recap"' in html


# -- the admins' exports and the details form -----------------------------------------


def _seed_posts(redis_url: str, media: Path) -> None:
    (media / "p" / "aa").mkdir(parents=True)
    (media / "p" / "aa" / "one.jpg").write_bytes(b"\xff\xd8 a photo")
    photo = [{"url": "/media/p/aa/one.jpg", "alt": "The stage"}]

    async def work(store: Store, accounts: Accounts, mod: ModerationStore) -> None:
        await store.ingest("testevent", at("a1", "2026-11-23T17:10Z", photos=photo), State.APPROVED)
        await store.ingest("testevent", at("a2", "2026-11-23T18:10Z"), State.APPROVED)
        await store.ingest("testevent", at("p1", "2026-11-23T18:20Z"), State.PENDING)

    run(redis_url, work)


def test_exports_need_an_admin(settings: Settings, redis_url: str) -> None:
    """Without a session: a redirect to login; a moderator of the event: 403; an admin: 200."""
    seed(redis_url, moderators={"mod@example.org": "testevent"}, admins=("boss@example.org",))
    with TestClient(create_app(settings)) as anonymous:
        for kind in ("jsonl", "csv", "zip"):
            response = anonymous.get(f"/e/testevent/export.{kind}", follow_redirects=False)
            assert response.status_code == 303
            assert response.headers["location"].startswith("/login?next=")
    with TestClient(create_app(settings)) as moderator:
        login(moderator, "mod@example.org")
        for kind in ("jsonl", "csv", "zip"):
            assert moderator.get(f"/e/testevent/export.{kind}").status_code == 403
        assert "/export.zip" not in moderator.get("/e/testevent/recap").text
    with TestClient(create_app(settings)) as admin:
        login(admin, "boss@example.org", PASSWORD)
        assert admin.get("/e/testevent/export.jsonl").status_code == 200
        assert admin.get("/e/testevent/export.exe").status_code == 404
        assert admin.get("/e/nope/export.csv").status_code == 404
        assert 'href="/e/testevent/export.zip"' in admin.get("/e/testevent/recap").text


def test_admin_downloads_hold_every_approved_post_and_no_other(
    settings: Settings, redis_url: str
) -> None:
    """JSONL and CSV hold the two approved posts, not the pending one; the zip holds the
    archive's index.html, its stylesheet and the photo, referenced relatively."""
    seed(redis_url, admins=("boss@example.org",))
    _seed_posts(redis_url, settings.media_dir)
    with TestClient(create_app(settings)) as admin:
        login(admin, "boss@example.org")
        jsonl = admin.get("/e/testevent/export.jsonl")
        assert jsonl.headers["content-disposition"].startswith("attachment; filename=")
        ids = [json.loads(line)["id"] for line in jsonl.text.splitlines()]
        assert ids == ["test:a1", "test:a2"]
        table = list(csv.DictReader(io.StringIO(admin.get("/e/testevent/export.csv").text)))
        assert [row["id"] for row in table] == ["test:a1", "test:a2"]
        assert table[0]["photo_urls"] == "/media/p/aa/one.jpg"
        download = admin.get("/e/testevent/export.zip")
        assert download.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(download.content)) as archive:
            names = set(archive.namelist())
            assert {"testevent/index.html", "testevent/style.css"} <= names
            assert archive.read("testevent/media/p/aa/one.jpg") == b"\xff\xd8 a photo"
            index = archive.read("testevent/index.html").decode()
    assert 'src="media/p/aa/one.jpg"' in index
    assert "post-test_a1" in index and "post-test_a2" in index and "post-test_p1" not in index
    assert "/media/" not in index and "<script" not in index


def test_admin_page_sets_event_details_with_csrf(settings: Settings, redis_url: str) -> None:
    """The details form needs the CSRF token, saves valid details into the event, and
    refuses a bad one with a message naming the field, keeping what was typed."""
    seed(redis_url, admins=("boss@example.org",))
    form = {
        "kind": "details",
        "event": "testevent",
        "starts_at": START,
        "ends_at": "",
        "timezone": "Europe/Paris",
        "venue": "The Hall",
        "next_title": "Next one",
        "next_url": "https://example.org/next",
        "next_starts_at": "",
    }
    with TestClient(create_app(settings)) as admin:
        login(admin, "boss@example.org")
        page = admin.get("/admin?event=testevent")
        assert 'id="details"' in page.text
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        assert admin.post("/admin?event=testevent", data=form).status_code == 403
        saved = admin.post("/admin?event=testevent", data={**form, "csrf": token.group(1)})
        assert saved.status_code == 200, saved.text
        assert 'value="Europe/Paris"' in saved.text
        bad = admin.post(
            "/admin?event=testevent",
            data={**form, "timezone": "Mars/Olympus", "csrf": token.group(1)},
        )
        assert bad.status_code == 400
        assert "timezone: not an IANA time zone" in bad.text
        assert 'value="Mars/Olympus"' in bad.text

    async def stored(store: Store, accounts: Accounts, mod: ModerationStore) -> Event | None:
        return await store.get_event("testevent")

    event = run(redis_url, stored)
    assert event is not None
    assert event.extra["timezone"] == "Europe/Paris" and event.extra["venue"] == "The Hall"
    assert event.extra["next_event"] == {"title": "Next one", "url": "https://example.org/next"}


@pytest.mark.parametrize("starts_at", ["", START])
async def test_recap_size_is_bounded_whatever_the_dates(
    client: httpx.AsyncClient, store: Store, event: Event, starts_at: str
) -> None:
    """Posts dated 0001-01-01 and 9999-12-31 (stored as they came, before times were made
    sane) give a recap of at most about 400 day bars, not one of two thousand years."""
    from wall.recap import MAX_SPAN

    if starts_at:
        event = dataclasses.replace(event, extra={"starts_at": starts_at})
        await store.save_event(event)
    for native_id, when in [
        ("ancient", "0001-01-01T00:00:00+00:00"),
        ("future", "9999-12-31T23:59:59+00:00"),
        ("usual", START),
    ]:
        await store.ingest(event.slug, at(native_id, when), State.APPROVED)
    response = await client.get(f"/e/{event.slug}/recap")
    assert response.status_code == 200
    rows = re.findall(r'<tr><th scope="row">', response.text)
    assert 0 < len(rows) <= MAX_SPAN.days + 2 + 3 * 24 + 13  # the day chart and a close-up
    assert len(response.text) < 1_000_000
    assert 'id="total-posts">3<' in response.text
