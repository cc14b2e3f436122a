"""The event's world: posts, their authors and photos, and the events they belong to."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from wall import layouts
from wall.sanitize import is_media_path, safe_url

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
MAX_TEXT = 20_000
MAX_PHOTOS = 8
THEMES = ("dark", "light", "contrast")
COLOUR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
MODERATION_MODES = ("pre", "post")


class PostError(ValueError):
    """A post (or event) that cannot be accepted; the message names the field at fault."""


@dataclass(frozen=True, slots=True)
class Author:
    """Who wrote a post, as the source knows them."""

    handle: str
    display_name: str = ""
    avatar_url: str = ""
    profile_url: str = ""

    @property
    def name(self) -> str:
        """The name to show: the display name, or the handle when there is none."""
        return self.display_name or self.handle


@dataclass(frozen=True, slots=True)
class Photo:
    """An image attached to a post; width and height let pages reserve its space."""

    url: str
    width: int = 0
    height: int = 0
    alt: str = ""
    thumb_url: str = ""
    """A small copy for grids and the moderation queue; empty for remote-only photos."""
    kind: str = ""
    """"video" or "gifv" when this is the still of a moving picture (shown with a play mark)."""


MEDIA_KINDS = ("", "video", "gifv")


@dataclass(frozen=True, slots=True)
class Card:
    """A link's preview, as the author's client shows it under the post: title and thumbnail."""

    url: str
    title: str = ""
    description: str = ""
    image: str = ""


@dataclass(frozen=True, slots=True)
class Quote:
    """Another post quoted by this one, shown compactly inside it."""

    url: str
    author: str = ""
    text: str = ""
    warning: str = ""
    """The quoted post's content warning: shown instead of its text."""


@dataclass(frozen=True, slots=True)
class Emoji:
    """A custom emoji: `:shortcode:` in the text is shown as this small image."""

    shortcode: str
    url: str


EMOJI_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")
MAX_POLL = 10


@dataclass(frozen=True, slots=True)
class Post:
    """A normalized post from any source; `id` is stable: `source:native_id`."""

    source: str
    native_id: str
    author: Author
    text: str
    created_at: datetime
    html: str = ""
    photos: tuple[Photo, ...] = ()
    url: str = ""
    hashtags: tuple[str, ...] = ()
    sensitive: bool = False
    content_warning: str = ""
    language: str = ""
    card: Card | None = None
    quote: Quote | None = None
    poll: tuple[str, ...] = ()
    """A poll's options, in order."""
    emoji: tuple[Emoji, ...] = ()
    warning_shown: bool = False
    """A moderator chose to show this content-warned post's text on the wall."""
    ordered_at: datetime | None = None
    """Where the post sits in time for ordering and counting: `created_at` made sane at
    ingest (see `wall.ordering.sane_time`); None: `created_at` itself. Pages show `created_at`."""

    @property
    def id(self) -> str:
        """The stable id, the same however often the post is ingested."""
        return f"{self.source}:{self.native_id}"

    @property
    def warned(self) -> bool:
        """Its text and photos wait behind its content warning (unless a moderator showed them)."""
        return bool(self.content_warning) and not self.warning_shown

    @property
    def dom_id(self) -> str:
        """An HTML id for the post's element, safe in CSS selectors."""
        return dom_id(self.id)

    @property
    def at(self) -> datetime:
        """The post's time for ordering, feeds and the recap's counts (`ordered_at` if set)."""
        return self.ordered_at or self.created_at

    @property
    def created_ms(self) -> int:
        """The ordering score: the post's sane time (`at`) in milliseconds since the epoch."""
        return int(self.at.timestamp() * 1000)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` reads it back."""
        # Not dataclasses.asdict: it deep-copies every value, a cost paid per stored post.
        data: dict[str, Any] = _plain(self)
        data["id"] = self.id
        data["created_at"] = self.created_at.isoformat()
        if self.ordered_at is None:
            del data["ordered_at"]
        else:
            data["ordered_at"] = self.ordered_at.isoformat()
        return data

    @classmethod
    def from_dict(cls, data: Any, *, default_source: str = "import") -> Post:
        """Validate and build a post from a JSON-shaped dict; raise PostError naming the field."""
        if not isinstance(data, dict):
            raise PostError("a post must be a JSON object")
        source = _str(data, "source", default=default_source, required=False)
        native_id = _str(data, "native_id", required=False)
        if not native_id and isinstance(data.get("id"), str):
            # Accept our own export format, where id is "source:native_id".
            prefix, _, rest = data["id"].partition(":")
            native_id = rest if rest and prefix == source else data["id"]
        if not native_id:
            raise PostError("native_id: required")
        if not source or not re.fullmatch(r"[a-z0-9_-]{1,32}", source):
            raise PostError("source: lower-case letters, digits, '-' or '_' (at most 32)")
        author_data = data.get("author")
        if not isinstance(author_data, dict):
            raise PostError("author: required object with at least a handle")
        author = Author(
            handle=_str(author_data, "handle", required=True, where="author."),
            display_name=_str(author_data, "display_name", where="author."),
            avatar_url=_str(author_data, "avatar_url", where="author."),
            profile_url=_str(author_data, "profile_url", where="author."),
        )
        text = _str(data, "text")
        html = _str(data, "html")
        if not (text or html or data.get("photos") or data.get("card") or data.get("quote")):
            raise PostError("text: a post needs text, html, a photo, a link card or a quote")
        if len(text) > MAX_TEXT or len(html) > MAX_TEXT * 2:
            raise PostError(f"text: longer than {MAX_TEXT} characters")
        return cls(
            source=source,
            native_id=native_id,
            author=author,
            text=text,
            html=html,
            created_at=parse_time(data.get("created_at")),
            photos=_photos(data.get("photos", [])),
            url=_str(data, "url"),
            hashtags=_hashtags(data.get("hashtags", [])),
            sensitive=bool(data.get("sensitive", False)),
            content_warning=_str(data, "content_warning"),
            language=_str(data, "language"),
            card=_card(data.get("card")),
            quote=_quote(data.get("quote")),
            poll=_poll(data.get("poll") or []),
            emoji=_emoji(data.get("emoji") or []),
            warning_shown=bool(data.get("warning_shown", False)),
            ordered_at=parse_time(data["ordered_at"]) if data.get("ordered_at") else None,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """An event: a slug for URLs, a title, the hashtags it follows, and how its wall looks."""

    slug: str
    title: str
    hashtags: tuple[str, ...] = ()
    description: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    layout: str = "grid"
    theme: str = "dark"
    accent: str = ""
    logo_url: str = ""
    join_url: str = ""
    moderation: str = "pre"
    """"pre": nothing shows until a moderator approves it; "post": shown at once, hideable."""

    def __post_init__(self) -> None:
        if not SLUG_RE.fullmatch(self.slug):
            raise PostError("slug: lower-case letters, digits and '-', at most 63")
        if not self.title.strip():
            raise PostError("title: required")
        if self.layout not in layouts.LAYOUTS:
            raise PostError(f"layout: one of {', '.join(layouts.names())}")
        if self.theme not in THEMES:
            raise PostError(f"theme: one of {', '.join(THEMES)}")
        if self.accent and not COLOUR_RE.fullmatch(self.accent):
            raise PostError("accent: a colour as #rrggbb")
        if self.logo_url and not is_media_path(self.logo_url):
            # Every wall view loads it: one of our media files, never another path on this
            # site (`/media/../e/x/export.zip`) or another server (the CSP would refuse it).
            raise PostError("logo_url: a file under /media/ (an https logo is fetched into it)")
        if self.join_url and not safe_url(self.join_url):
            raise PostError("join_url: an http(s) URL or a path starting with /")
        if self.moderation not in MODERATION_MODES:
            raise PostError("moderation: 'pre' or 'post'")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; `from_dict` reads it back."""
        data = asdict(self)
        data["hashtags"] = list(self.hashtags)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Event:
        """Build an event from its stored dict."""
        return cls(
            slug=data["slug"],
            title=data["title"],
            hashtags=tuple(data.get("hashtags", ())),
            description=data.get("description", ""),
            extra=dict(data.get("extra", {})),
            layout=data.get("layout") or "grid",
            theme=data.get("theme") or "dark",
            accent=data.get("accent", ""),
            # An event saved before logos were confined keeps working, without its logo.
            logo_url=logo if is_media_path(logo := str(data.get("logo_url") or "")) else "",
            join_url=data.get("join_url", ""),
            moderation=data.get("moderation", "pre"),
        )


def _plain(value: Any) -> Any:
    """Dataclasses as dicts and tuples as lists, all the way down (what JSON holds)."""
    # Dispatched on the exact type (a dict look-up), not isinstance and hasattr: this runs
    # for every value of every post stored or exported.
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is tuple or kind is list:
        return [_plain(item) for item in value]
    names = getattr(kind, "__dataclass_fields__", None)
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    return value


_SCALARS = frozenset({str, bool, int, float, type(None)})


_PLAIN_ID = re.compile(r"[a-z0-9-]+:[A-Za-z0-9-]+")


def dom_id(post_id: str) -> str:
    """The HTML element id of a post, safe in CSS selectors, and never another post's.

    A plain `source:native` id (letters, digits, `-`) reads as `post-source_native`, with
    exactly one `_`. Any other id has its unsafe characters replaced and `__` and a hash of
    the whole id added: `import:x.1` and `import:x_1` must not both be `post-import_x_1`,
    or hiding one would take the other off every open wall.
    """
    if _PLAIN_ID.fullmatch(post_id):
        return "post-" + post_id.replace(":", "_", 1)
    digest = hashlib.sha256(post_id.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"post-{re.sub(r'[^A-Za-z0-9_-]', '_', post_id)[:80]}__{digest}"


def parse_time(value: Any) -> datetime:
    """Parse an ISO 8601 time (a trailing Z allowed); naive times are taken as UTC."""
    if value is None or value == "":
        return datetime.now(UTC)
    if not isinstance(value, str):
        raise PostError("created_at: an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise PostError(f"created_at: not an ISO 8601 time ({value[:40]!r})") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _str(
    data: dict[str, Any], key: str, *, default: str = "", required: bool = False, where: str = ""
) -> str:
    value = data.get(key, default)
    if value is None:
        value = default
    if not isinstance(value, str):
        raise PostError(f"{where}{key}: must be a string")
    if required and not value.strip():
        raise PostError(f"{where}{key}: required")
    return value


def _photos(value: Any) -> tuple[Photo, ...]:
    if not isinstance(value, list):
        raise PostError("photos: must be a list")
    if len(value) > MAX_PHOTOS:
        raise PostError(f"photos: at most {MAX_PHOTOS}")
    photos = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"]:
            raise PostError(f"photos[{i}].url: required string")
        width, height = item.get("width", 0), item.get("height", 0)
        if not isinstance(width, int) or not isinstance(height, int) or width < 0 or height < 0:
            raise PostError(f"photos[{i}]: width and height must be non-negative integers")
        alt = item.get("alt", "") or ""
        if not isinstance(alt, str):
            raise PostError(f"photos[{i}].alt: must be a string")
        thumb_url = item.get("thumb_url", "") or ""
        if not isinstance(thumb_url, str):
            raise PostError(f"photos[{i}].thumb_url: must be a string")
        kind = item.get("kind", "") or ""
        if kind not in MEDIA_KINDS:
            raise PostError(f"photos[{i}].kind: one of 'video', 'gifv' or empty")
        photos.append(
            Photo(
                url=item["url"],
                width=width,
                height=height,
                alt=alt,
                thumb_url=thumb_url,
                kind=kind,
            )
        )
    return tuple(photos)


def _card(value: Any) -> Card | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("url"), str):
        raise PostError("card: an object with a url")
    return Card(
        url=value["url"],
        title=_str(value, "title", where="card."),
        description=_str(value, "description", where="card."),
        image=_str(value, "image", where="card."),
    )


def _quote(value: Any) -> Quote | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("url"), str):
        raise PostError("quote: an object with a url")
    return Quote(
        url=value["url"],
        author=_str(value, "author", where="quote."),
        text=_str(value, "text", where="quote."),
        warning=_str(value, "warning", where="quote."),
    )


def _poll(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(o, str) for o in value):
        raise PostError("poll: must be a list of strings")
    if len(value) > MAX_POLL:
        raise PostError(f"poll: at most {MAX_POLL} options")
    return tuple(value)


def _emoji(value: Any) -> tuple[Emoji, ...]:
    if not isinstance(value, list):
        raise PostError("emoji: must be a list")
    emoji = []
    for i, item in enumerate(value):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("shortcode"), str)
            or not EMOJI_RE.fullmatch(item["shortcode"])
            or not isinstance(item.get("url"), str)
        ):
            raise PostError(f"emoji[{i}]: a shortcode (letters, digits, _) and a url")
        emoji.append(Emoji(item["shortcode"], item["url"]))
    return tuple(emoji)


def _hashtags(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise PostError("hashtags: must be a list of strings")
    return tuple(normalize_tag(t) for t in value if normalize_tag(t))


def normalize_tag(tag: str) -> str:
    """A hashtag compared the way people mean it: no '#', case-folded."""
    return tag.strip().lstrip("#").casefold()
