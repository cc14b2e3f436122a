"""What an export writes for a post, pure: its JSONL line, its CSV row, its archive copy.

The files themselves are written by `server/export.py`, for the command line and the
admin's downloads alike.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Container

from wall.models import Photo, Post

CSV_COLUMNS = (
    "id",
    "created_at",
    "author_handle",
    "author_name",
    "text",
    "url",
    "photo_urls",
    "photo_count",
    "hashtags",
    "sensitive",
    "content_warning",
    "language",
    "source",
)
# A media URL we serve ourselves and may copy into an archive: no "..", no odd characters.
_LOCAL_MEDIA = re.compile(
    r"^/media/((?:[A-Za-z0-9_-][A-Za-z0-9._-]*/)*[A-Za-z0-9_-][A-Za-z0-9._-]*)$"
)


def jsonl_line(post: Post) -> str:
    """The post as one line of the replay format (`eventwall ingest replay` reads it back)."""
    return json.dumps(post.to_dict(), ensure_ascii=False, sort_keys=True)


# A cell starting with one of these is a formula to Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading `'`."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def csv_row(post: Post) -> list[str]:
    """The post as a spreadsheet row, in CSV_COLUMNS order; every cell safe from formulas."""
    return [csv_cell(value) for value in _csv_values(post)]


def _csv_values(post: Post) -> list[str]:
    return [
        post.id,
        post.created_at.isoformat(),
        post.author.handle,
        post.author.display_name,
        post.text,
        post.url,
        " ".join(p.url for p in post.photos),
        str(len(post.photos)),
        " ".join(post.hashtags),
        "true" if post.sensitive else "false",
        post.content_warning,
        post.language,
        post.source,
    ]


def media_path(url: str) -> str | None:
    """A local media URL's path inside the archive (`media/p/ab/abcd.jpg`), None if not ours."""
    match = _LOCAL_MEDIA.fullmatch(url)
    if match is None or ".." in match.group(1).split("/"):
        return None
    return f"media/{match.group(1)}"


def archive_post(post: Post, copied: Container[str]) -> Post:
    """The post as the static archive shows it: media in `copied` (archive paths) made
    relative; remote images and missing files dropped, since the archive must open with
    no network request and no broken image (the post's own link stays)."""

    def local(url: str) -> str:
        path = media_path(url) if url else None
        return path if path is not None and path in copied else ""

    photos = []
    for photo in post.photos:
        path = local(photo.url)
        if path:
            photos.append(dataclasses.replace(photo, url=path, thumb_url=local(photo.thumb_url)))
    avatar = local(post.author.avatar_url)
    author = dataclasses.replace(post.author, avatar_url=avatar)
    return dataclasses.replace(post, photos=tuple(photos), author=author)


def media_files(posts: list[Post]) -> list[str]:
    """Every local media URL the posts use (photos, thumbnails, avatars), once each, in order."""
    seen: dict[str, None] = {}
    for post in posts:
        photos: tuple[Photo, ...] = post.photos
        for url in (
            *(p.url for p in photos),
            *(p.thumb_url for p in photos),
            post.author.avatar_url,
        ):
            if url and media_path(url) is not None:
                seen.setdefault(url, None)
    return list(seen)
