"""Feeds out: JSON Feed 1.1 and Atom (RFC 4287) of an event's approved posts."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from wall.models import Event, Post
from wall.sanitize import post_html

ATOM_NS = "http://www.w3.org/2005/Atom"
TITLE_LENGTH = 80


def entry_title(post: Post) -> str:
    """A one-line title for a post: its author and the start of its text (its content
    warning instead, when it has one: a title shows in lists before anyone chooses to read)."""
    text = " ".join((post.content_warning or post.text).split())
    if len(text) > TITLE_LENGTH:
        text = text[: TITLE_LENGTH - 1].rstrip() + "…"
    return f"{post.author.name}: {text}" if text else post.author.name


def absolute(base: str, url: str) -> str:
    """A URL made absolute against the site's base (media paths are stored site-relative)."""
    return base + url if url.startswith("/") else url


def _updated(posts: list[Post]) -> datetime:
    # The sane time, not the claimed one: a post dated 9999 would date the feed to it.
    return max((p.at for p in posts), default=datetime(1970, 1, 1, tzinfo=UTC))


def json_feed(event: Event, posts: list[Post], base: str) -> str:
    """The JSON Feed 1.1 document for these posts (newest first)."""
    page = f"{base}/e/{event.slug}/live"
    items: list[dict[str, Any]] = []
    for post in posts:
        item: dict[str, Any] = {
            "id": post.id,
            "url": post.url or f"{page}#{post.dom_id}",
            "title": entry_title(post),
            "content_html": post_html(post.text, post.html),
            "content_text": post.text,
            "date_published": post.at.isoformat(),
            "authors": [
                {
                    key: value
                    for key, value in (
                        ("name", post.author.name),
                        ("url", post.author.profile_url),
                        ("avatar", absolute(base, post.author.avatar_url)),
                    )
                    if value
                }
            ],
            "tags": list(post.hashtags),
        }
        if post.language:
            item["language"] = post.language
        if post.content_warning:
            item["summary"] = post.content_warning
        if post.photos:
            item["image"] = absolute(base, post.photos[0].url)
            item["attachments"] = [
                {"url": absolute(base, p.url), "mime_type": _mime(p.url), "title": p.alt}
                for p in post.photos
            ]
        items.append(item)
    feed: dict[str, Any] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": event.title,
        "home_page_url": page,
        "feed_url": f"{base}/e/{event.slug}/feed.json",
        "items": items,
    }
    if event.description:
        feed["description"] = event.description
    return json.dumps(feed, ensure_ascii=False, indent=1)


def atom_feed(event: Event, posts: list[Post], base: str) -> bytes:
    """The Atom document for these posts (newest first)."""
    ET.register_namespace("", ATOM_NS)
    page = f"{base}/e/{event.slug}/live"

    def sub(parent: ET.Element, tag: str, text: str = "", **attrs: str) -> ET.Element:
        el = ET.SubElement(parent, f"{{{ATOM_NS}}}{tag}", attrs)
        if text:
            el.text = text
        return el

    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    sub(feed, "id", f"{page}")
    sub(feed, "title", event.title)
    if event.description:
        sub(feed, "subtitle", event.description)
    sub(feed, "updated", _updated(posts).isoformat())
    sub(feed, "link", rel="self", href=f"{base}/e/{event.slug}/feed.atom")
    sub(feed, "link", rel="alternate", type="text/html", href=page)
    author = sub(feed, "author")
    sub(author, "name", event.title)
    for post in posts:
        entry = sub(feed, "entry")
        sub(entry, "id", f"{page}#{post.dom_id}")
        sub(entry, "title", entry_title(post))
        sub(entry, "updated", post.at.isoformat())
        sub(entry, "published", post.at.isoformat())
        sub(entry, "link", rel="alternate", href=post.url or f"{page}#{post.dom_id}")
        if post.content_warning:
            sub(entry, "summary", post.content_warning)
        who = sub(entry, "author")
        sub(who, "name", post.author.name)
        if post.author.profile_url:
            sub(who, "uri", post.author.profile_url)
        for tag in post.hashtags:
            sub(entry, "category", term=tag)
        for photo in post.photos:
            sub(
                entry,
                "link",
                rel="enclosure",
                href=absolute(base, photo.url),
                type=_mime(photo.url),
                title=photo.alt,
            )
        photos = "".join(
            f'<p><img src="{html.escape(absolute(base, p.url))}" alt="{html.escape(p.alt)}"></p>'
            for p in post.photos
        )
        sub(entry, "content", post_html(post.text, post.html) + photos, type="html")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))


def _mime(url: str) -> str:
    lower = url.lower().split("?")[0]
    for ext, mime in ((".png", "image/png"), (".webp", "image/webp"), (".gif", "image/gif")):
        if lower.endswith(ext):
            return mime
    return "image/jpeg"
