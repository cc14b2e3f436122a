"""An app.bsky.feed.post record as its author's client shows it: rich text and embeds.

Facets address the text in UTF-8 bytes; links keep the full URI of their facet (clients
shorten the visible text), mentions link to the profile, tags to the tag's page.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

from wall.models import MAX_PHOTOS, Card, Photo, Quote
from wall.sanitize import LINK_REL, safe_url

LINK = "app.bsky.richtext.facet#link"
MENTION = "app.bsky.richtext.facet#mention"
TAG = "app.bsky.richtext.facet#tag"


def _target(feature: Any) -> str:
    """Where a facet feature links to, or "" for one we don't link."""
    if not isinstance(feature, dict):
        return ""
    kind = feature.get("$type")
    if kind == LINK and isinstance(feature.get("uri"), str):
        return safe_url(feature["uri"])
    if kind == MENTION and isinstance(feature.get("did"), str):
        return f"https://bsky.app/profile/{quote(feature['did'], safe=':')}"
    if kind == TAG and isinstance(feature.get("tag"), str):
        return f"https://bsky.app/hashtag/{quote(feature['tag'], safe='')}"
    return ""


def _spans(record: dict[str, Any], size: int) -> list[tuple[int, int, str]]:
    """(byteStart, byteEnd, href) of each usable facet, in order, without overlaps."""
    spans = []
    for facet in record.get("facets") or []:
        if not isinstance(facet, dict) or not isinstance(facet.get("index"), dict):
            continue
        start, end = facet["index"].get("byteStart"), facet["index"].get("byteEnd")
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= size):
            continue
        href = next((t for t in map(_target, facet.get("features") or []) if t), "")
        if href:
            spans.append((start, end, href))
    spans.sort()
    kept: list[tuple[int, int, str]] = []
    for span in spans:
        if not kept or span[0] >= kept[-1][1]:
            kept.append(span)
    return kept


def record_html(record: dict[str, Any]) -> str:
    """The record's text as HTML: escaped, its facets as links, its line breaks kept."""
    text = record.get("text")
    if not isinstance(text, str):
        return ""
    data = text.encode("utf-8")
    pieces: list[str] = []
    at = 0
    for start, end, href in _spans(record, len(data)):
        # A facet that cuts a character in two is the record's fault: decode what is there.
        pieces.append(html.escape(data[at:start].decode("utf-8", "replace")))
        label = html.escape(data[start:end].decode("utf-8", "replace"))
        pieces.append(f'<a href="{html.escape(href, quote=True)}" rel="{LINK_REL}">{label}</a>')
        at = end
    pieces.append(html.escape(data[at:].decode("utf-8", "replace")))
    body = "".join(pieces).replace("\n", "<br>")
    return f"<p>{body}</p>" if body else ""


def _blob(blob: Any) -> str:
    ref = blob.get("ref") if isinstance(blob, dict) else None
    link = ref.get("$link") if isinstance(ref, dict) else None
    return link if isinstance(link, str) else ""


def embed_media(
    embed: Any, did: str, cdn: str, video: str
) -> tuple[tuple[Photo, ...], Card | None]:
    """Images, a video's still (marked), and an external link's card, from a post's embed."""
    if not isinstance(embed, dict):
        return (), None
    if embed.get("$type") == "app.bsky.embed.recordWithMedia":
        embed = _obj(embed.get("media"))
    kind = embed.get("$type")
    photos = []
    if kind == "app.bsky.embed.images":
        for item in embed.get("images") or []:
            cid = _blob(item.get("image")) if isinstance(item, dict) else ""
            if cid:
                ratio = item.get("aspectRatio") or {}
                photos.append(
                    Photo(
                        url=f"{cdn}/img/feed_fullsize/plain/{did}/{cid}@jpeg",
                        width=int(ratio.get("width") or 0),
                        height=int(ratio.get("height") or 0),
                        alt=str(item.get("alt") or ""),
                    )
                )
    elif kind == "app.bsky.embed.video":
        cid = _blob(embed.get("video"))
        if cid:
            ratio = embed.get("aspectRatio") or {}
            photos.append(
                Photo(
                    url=f"{video}/watch/{quote(did, safe='')}/{cid}/thumbnail.jpg",
                    width=int(ratio.get("width") or 0),
                    height=int(ratio.get("height") or 0),
                    alt=str(embed.get("alt") or ""),
                    kind="video",
                )
            )
    elif kind == "app.bsky.embed.external" and isinstance(embed.get("external"), dict):
        external = embed["external"]
        if isinstance(external.get("uri"), str):
            thumb = _blob(external.get("thumb"))
            return (), Card(
                url=external["uri"],
                title=str(external.get("title") or ""),
                description=str(external.get("description") or ""),
                image=f"{cdn}/img/feed_thumbnail/plain/{did}/{thumb}@jpeg" if thumb else "",
            )
    return tuple(photos[:MAX_PHOTOS]), None


def quoted_uri(embed: Any) -> str:
    """The at:// URI of the post a record quotes, or ""."""
    if not isinstance(embed, dict):
        return ""
    if embed.get("$type") == "app.bsky.embed.recordWithMedia":
        embed = _obj(embed.get("record"))
    if embed.get("$type") != "app.bsky.embed.record":
        return ""
    record = embed.get("record")
    uri = record.get("uri") if isinstance(record, dict) else None
    return uri if isinstance(uri, str) and uri.startswith("at://") else ""


def quote_of(uri: str, view: Any) -> Quote:
    """A quoted post from its at:// URI and, when the AppView gave one, its post view."""
    _, _, rest = uri.partition("at://")
    did, _, rkey = rest.partition("/app.bsky.feed.post/")
    url = f"https://bsky.app/profile/{did}/post/{rkey}"
    if not isinstance(view, dict):
        return Quote(url=url, author=did)
    author = _obj(view.get("author"))
    record = _obj(view.get("record"))
    name = str(author.get("displayName") or author.get("handle") or did)
    return Quote(url=url, author=name, text=str(record.get("text") or ""))


def _obj(value: Any) -> dict[str, Any]:
    """The value if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}
