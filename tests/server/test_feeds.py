"""Feeds out: JSON Feed 1.1 and Atom of approved posts, parsed by feedparser."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

import feedparser
import httpx

from server.feeds import ATOM_NS
from tests.server.test_live import at
from wall.models import Event
from wall.moderation import State
from wall.store import Store

PHOTO = {"url": "/media/stage.jpg", "width": 640, "height": 480, "alt": "The stage"}


def json_feed_problems(doc: dict[str, Any]) -> list[str]:
    """What a JSON Feed 1.1 document lacks of the spec's required fields and types.

    feedparser 6.0 (the newest release) reads RSS and Atom only, so the JSON Feed
    spec's MUSTs are checked here directly: https://www.jsonfeed.org/version/1.1/
    """
    problems = []
    if doc.get("version") != "https://jsonfeed.org/version/1.1":
        problems.append("version")
    if not isinstance(doc.get("title"), str) or not doc["title"]:
        problems.append("title")
    if not isinstance(doc.get("items"), list):
        return [*problems, "items"]
    for key in ("home_page_url", "feed_url"):
        if key in doc and not str(doc[key]).startswith(("http://", "https://")):
            problems.append(key)
    for i, item in enumerate(doc["items"]):
        if not isinstance(item.get("id"), str) or not item["id"]:
            problems.append(f"items[{i}].id")
        if not (item.get("content_html") or item.get("content_text")):
            problems.append(f"items[{i}]: content_html or content_text")
        for author in item.get("authors", []):
            if not any(author.get(k) for k in ("name", "url", "avatar")):
                problems.append(f"items[{i}].authors: name, url or avatar")
        for attachment in item.get("attachments", []):
            if not attachment.get("url") or not attachment.get("mime_type"):
                problems.append(f"items[{i}].attachments: url and mime_type")
    return problems


async def seed(store: Store, event: Event) -> None:
    await store.ingest(event.slug, at("one", 1, text="First talk <b>starts</b>"), State.APPROVED)
    await store.ingest(event.slug, at("two", 2, photos=[PHOTO]), State.APPROVED)
    await store.ingest(event.slug, at("secret", 3, text="not yet approved"), State.PENDING)


async def test_json_feed_has_required_fields_and_parses(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """The JSON Feed carries the spec's required version, title and items, each item an
    id and content, and only approved posts."""
    await seed(store, event)
    response = await client.get("/e/testevent/feed.json")
    assert response.headers["content-type"].startswith("application/feed+json")
    doc = json.loads(response.text)
    assert doc["version"] == "https://jsonfeed.org/version/1.1"
    assert doc["title"] == "Test Event"
    assert doc["feed_url"] == "http://wall.test/e/testevent/feed.json"
    assert [item["id"] for item in doc["items"]] == ["test:two", "test:one"]
    for item in doc["items"]:
        assert isinstance(item["id"], str)
        assert item.get("content_html") or item.get("content_text")
        assert item["date_published"].startswith("2026-05-01T19:0")
    assert "&lt;b&gt;starts&lt;/b&gt;" in doc["items"][1]["content_html"]
    assert doc["items"][0]["attachments"][0]["url"] == "http://wall.test/media/stage.jpg"
    assert json_feed_problems(doc) == []
    assert "not yet approved" not in response.text


async def test_atom_feed_has_required_elements_and_parses(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """The Atom feed has feed id, title, updated and author, and each entry an id, title,
    updated and content (RFC 4287 4.1.1, 4.1.2); pending posts are left out."""
    await seed(store, event)
    response = await client.get("/e/testevent/feed.atom")
    assert response.headers["content-type"].startswith("application/atom+xml")
    root = ET.fromstring(response.content)
    ns = {"a": ATOM_NS}
    assert root.tag == f"{{{ATOM_NS}}}feed"
    for name in ["id", "title", "updated", "author/a:name"]:
        assert root.find(f"a:{name}", ns) is not None, name
    assert root.find("a:link[@rel='self']", ns) is not None
    entries = root.findall("a:entry", ns)
    assert len(entries) == 2
    for entry in entries:
        for name in ["id", "title", "updated", "content", "author/a:name"]:
            assert (entry.findtext(f"a:{name}", namespaces=ns) or "").strip(), name
    parsed = feedparser.parse(response.content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "Test Event"
    assert len(parsed.entries) == 2
    assert "not yet approved" not in response.text
    assert parsed.entries[0].enclosures[0].href == "http://wall.test/media/stage.jpg"
    assert parsed.entries[1].title.startswith("Ada: First talk")


async def test_a_warned_post_is_titled_by_its_warning_and_kept_out_of_the_gallery(
    client: httpx.AsyncClient, store: Store, event: Event
) -> None:
    """Feeds title a content-warned post by its warning (with it as the summary); the photo
    gallery, whose captions are post text, leaves it out."""
    photos = [{"url": "/media/twist.jpg", "width": 10, "height": 10, "alt": ""}]
    warned = at("cw", 1, text="the twist is", content_warning="Spoilers", photos=photos)
    await store.ingest(event.slug, warned, State.APPROVED)
    doc = json.loads((await client.get("/e/testevent/feed.json")).text)
    assert doc["items"][0]["title"] == "Ada: Spoilers"
    assert doc["items"][0]["summary"] == "Spoilers"
    atom = feedparser.parse((await client.get("/e/testevent/feed.atom")).content)
    assert atom.entries[0].title == "Ada: Spoilers"
    gallery = (await client.get("/e/testevent/gallery")).text
    assert "twist.jpg" not in gallery and "the twist" not in gallery
