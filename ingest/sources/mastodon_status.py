"""A Mastodon status (API v1 entity) as a Post: text, links, warning, media, poll, card, quote."""

from __future__ import annotations

import logging
import re
from typing import Any

from ingest.sources.markup import fold_link_spans, html_text
from wall.models import (
    EMOJI_RE,
    MAX_PHOTOS,
    MAX_POLL,
    Author,
    Card,
    Emoji,
    Photo,
    Post,
    PostError,
    Quote,
    parse_time,
)
from wall.privacy import says_nowall

log = logging.getLogger(__name__)

# A quote's fallback link for clients that can't show quotes: ours shows the quote itself.
_QUOTE_INLINE = re.compile(r"<p\s+class=\"quote-inline\"\s*>.*?</p>", re.IGNORECASE | re.DOTALL)


class StatusError(ValueError):
    """A payload that is not a status we can show; the message says why."""


def _dimensions(attachment: dict[str, Any], size: str) -> tuple[int, int]:
    meta = attachment.get("meta") if isinstance(attachment.get("meta"), dict) else {}
    box = (meta or {}).get(size) or {}
    if not isinstance(box, dict):
        return 0, 0
    try:
        return int(box.get("width") or 0), int(box.get("height") or 0)
    except (TypeError, ValueError):
        return 0, 0


def status_photos(status: dict[str, Any]) -> tuple[Photo, ...]:
    """Images as they are; a video or gifv as its preview still, marked to be played elsewhere."""
    photos = []
    for attachment in status.get("media_attachments") or []:
        if not isinstance(attachment, dict):
            continue
        kind = attachment.get("type")
        alt = str(attachment.get("description") or "")
        if kind == "image":
            width, height = _dimensions(attachment, "original")
            photos.append(Photo(str(attachment.get("url") or ""), width, height, alt))
        elif kind in ("video", "gifv"):
            width, height = _dimensions(attachment, "small")
            preview = str(attachment.get("preview_url") or "")
            photos.append(Photo(preview, width, height, alt, kind=str(kind)))
    return tuple(p for p in photos if p.url)[:MAX_PHOTOS]


def _emoji(status: dict[str, Any]) -> tuple[Emoji, ...]:
    found = []
    for item in status.get("emojis") or []:
        if not isinstance(item, dict):
            continue
        code, url = item.get("shortcode"), item.get("static_url") or item.get("url")
        if isinstance(code, str) and EMOJI_RE.fullmatch(code) and isinstance(url, str) and url:
            found.append(Emoji(code, url))
    return tuple(found)


def _poll(status: dict[str, Any]) -> tuple[str, ...]:
    poll = status.get("poll")
    if not isinstance(poll, dict):
        return ()
    options = poll.get("options") or []
    titles = [str(o.get("title") or "") for o in options if isinstance(o, dict)]
    return tuple(t for t in titles if t)[:MAX_POLL]


def _card(status: dict[str, Any]) -> Card | None:
    card = status.get("card")
    if not isinstance(card, dict) or not isinstance(card.get("url"), str):
        return None
    return Card(
        url=card["url"],
        title=str(card.get("title") or ""),
        description=str(card.get("description") or ""),
        image=str(card.get("image") or ""),
    )


def _quote(status: dict[str, Any]) -> Quote | None:
    quote = status.get("quote")
    if not isinstance(quote, dict) or quote.get("state") not in (None, "accepted"):
        return None  # pending, revoked or deleted quotes show nothing of the other post
    quoted = quote.get("quoted_status")
    if not isinstance(quoted, dict):
        return None
    account = quoted.get("account")
    if not isinstance(account, dict):
        account = {}
    name = str(account.get("display_name") or account.get("acct") or "")
    url = str(quoted.get("url") or quoted.get("uri") or "")
    if not url:
        return None
    warning = str(quoted.get("spoiler_text") or "")
    # A quoted post behind a warning shows the warning, never its text.
    text = "" if warning else html_text(str(quoted.get("content") or ""))
    return Quote(url=url, author=name, text=text, warning=warning)


def status_post(status: Any, host: str) -> Post | None:
    """A status as a Post; None for a boost or an author opted out (skipped); StatusError if malformed."""
    if not isinstance(status, dict):
        raise StatusError("status is not an object")
    if status.get("reblog"):
        return None
    status_id, account = status.get("id"), status.get("account")
    if not isinstance(status_id, str) or not status_id:
        raise StatusError("status without a string id")
    if not isinstance(account, dict) or not isinstance(account.get("acct"), str):
        raise StatusError(f"status {status_id}: no account.acct")
    acct = account["acct"] if "@" in account["acct"] else f"{account['acct']}@{host}"
    content = status.get("content") or ""
    if not isinstance(content, str):
        raise StatusError(f"status {status_id}: content is not a string")
    if says_nowall(str(account.get("note") or ""), str(account.get("display_name") or "")):
        log.info("status %s: not taken: author opted out (#nowall in their profile)", status_id)
        return None
    quote = _quote(status)
    shown = _QUOTE_INLINE.sub("", content) if quote else content
    try:
        return Post(
            source="mastodon",
            native_id=f"{host}:{status_id}",
            author=Author(
                handle=f"@{acct}",
                display_name=str(account.get("display_name") or ""),
                avatar_url=str(account.get("avatar_static") or account.get("avatar") or ""),
                profile_url=str(account.get("url") or ""),
            ),
            # The plain copy keeps whole URLs (blocked words see them); the HTML shows them
            # folded, as Mastodon's own clients do.
            text=html_text(shown),
            html=fold_link_spans(shown),
            created_at=parse_time(status.get("created_at")),
            photos=status_photos(status),
            url=str(status.get("url") or status.get("uri") or ""),
            hashtags=tuple(
                str(t["name"]).casefold()
                for t in status.get("tags") or []
                if isinstance(t, dict) and t.get("name")
            ),
            sensitive=bool(status.get("sensitive")),
            content_warning=str(status.get("spoiler_text") or ""),
            language=str(status.get("language") or ""),
            card=None if status.get("media_attachments") or quote else _card(status),
            quote=quote,
            poll=_poll(status),
            emoji=_emoji(status),
        )
    except (PostError, TypeError, ValueError, AttributeError) as exc:
        raise StatusError(f"status {status_id}: {exc}") from exc
