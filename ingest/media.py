"""The photo pipeline: download within limits, prove it is an image, make safe local copies.

Every photo from every source comes through here before a post is stored, so the wall only
ever shows files Eventwall wrote itself: decoded by Pillow (never trusted by extension or
MIME type), stripped of EXIF and GPS, turned upright, re-encoded at two sizes and named by
the hash of their content. A slow venue connection or a dead remote server can't blank it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import io
import logging
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
from PIL import Image, ImageOps, UnidentifiedImageError

from ingest.fetch import SafeClient
from wall.models import Photo
from wall.sanitize import is_media_path
from wall.settings import Settings

log = logging.getLogger(__name__)

USER_AGENT = "Eventwall/0.1 (+https://github.com/eventwall/eventwall; live event wall)"
DISPLAY_SIZE = 1920
THUMB_SIZE = 480
AVATAR_SIZE = 128
AVATAR_CACHE = 4096
# Formats Pillow may decode here; everything else is refused before any pixel is read.
FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


# p/ab/abcdef….jpg: never a path that could leave the media folder.
_STORED_NAME = re.compile(r"p/[0-9a-f]{2}/[0-9a-f]{64}\.[a-z]{3,4}")


class MediaError(Exception):
    """A photo refused by the pipeline; the message says why, for the log."""


@dataclass(frozen=True, slots=True)
class Rendition:
    """One re-encoded size of a photo, as bytes ready to store."""

    data: bytes
    width: int
    height: int
    extension: str = "jpg"


@dataclass(frozen=True, slots=True)
class Processed:
    """A verified photo: its display size and its thumbnail."""

    display: Rendition
    thumb: Rendition


class MediaStorage(Protocol):
    """Where finished files go; `put` returns the URL pages use."""

    def put(self, data: bytes, extension: str) -> str:
        """Store bytes under a name derived from their content; return its URL."""
        ...

    def remove(self, url: str) -> bool:
        """Delete the file behind a URL `put` returned; False if it is not ours or gone."""
        ...

    def has(self, url: str) -> bool:
        """Whether the URL names a file this storage holds (and nothing else)."""
        ...


class LocalStorage:
    """Content-addressed files under a folder served at `url_prefix` (`DATA_DIR/media`)."""

    def __init__(self, root: Path, url_prefix: str = "/media") -> None:
        self.root = root
        self.url_prefix = url_prefix.rstrip("/")

    def put(self, data: bytes, extension: str) -> str:
        """Write the file once (same content, same name) and return its URL."""
        digest = hashlib.sha256(data).hexdigest()
        name = f"p/{digest[:2]}/{digest}.{extension}"
        path = self.root / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file.
            partial = path.with_suffix(".part")
            partial.write_bytes(data)
            partial.replace(path)
        return f"{self.url_prefix}/{name}"

    def has(self, url: str) -> bool:
        """Whether the URL is a plain media path (no `..`, escapes) to a file we hold."""
        name = url.removeprefix(self.url_prefix + "/")
        if name == url or not is_media_path(f"/media/{name}"):
            return False
        return (self.root / name).is_file()

    def remove(self, url: str) -> bool:
        """Delete a content-addressed file by its URL; only names `put` could have made."""
        name = url.removeprefix(self.url_prefix + "/")
        if name == url or not _STORED_NAME.fullmatch(name):
            return False
        try:
            (self.root / name).unlink()
        except FileNotFoundError:
            return False
        return True


async def download(client: SafeClient, url: str, *, max_bytes: int, timeout: float) -> bytes:
    """The body at `url`, streamed; MediaError past `max_bytes` or `timeout` seconds in all."""
    if not url.startswith(("http://", "https://")):
        raise MediaError(f"not an http(s) URL: {url[:80]!r}")
    try:
        async with asyncio.timeout(timeout):
            async with client.stream("GET", url, headers={"User-Agent": USER_AGENT}) as response:
                if response.status_code != 200:
                    raise MediaError(f"HTTP {response.status_code} for {url}")
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise MediaError(f"too large: {declared} bytes declared (limit {max_bytes})")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise MediaError(f"too large: over {max_bytes} bytes")
                return bytes(body)
    except TimeoutError as exc:
        raise MediaError(f"download took longer than {timeout}s: {url}") from exc
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise MediaError(f"download failed: {exc}") from exc


def process(data: bytes, *, max_pixels: int) -> Processed:
    """Decode, verify and re-encode a photo; MediaError for anything that is not a sane image."""
    rgb = _decode(data, max_pixels=max_pixels)
    return Processed(display=_encode(rgb, DISPLAY_SIZE), thumb=_encode(rgb, THUMB_SIZE))


def process_avatar(data: bytes, *, max_pixels: int) -> Rendition:
    """An avatar decoded, verified and re-encoded at thumbnail size; MediaError if refused."""
    return _encode(_decode(data, max_pixels=max_pixels), AVATAR_SIZE)


def _decode(data: bytes, *, max_pixels: int) -> Image.Image:
    with warnings.catch_warnings():
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that: make it a refusal.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
            # The header is read, no pixels yet: refuse bombs before decoding them.
            if image.width * image.height > max_pixels:
                raise MediaError(
                    f"too many pixels: {image.width}x{image.height} (limit {max_pixels})"
                )
            image.load()
        except MediaError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaError(f"decompression bomb refused: {exc}") from exc
        except (OSError, SyntaxError, ValueError, UnidentifiedImageError) as exc:
            raise MediaError(f"not a readable image: {exc}") from exc
    return _flatten(ImageOps.exif_transpose(image))


def _flatten(image: Image.Image) -> Image.Image:
    # Transparent areas go on white: JPEG has no alpha, and a wall is read on light cards.
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _encode(image: Image.Image, longest: int) -> Rendition:
    copy = image.copy()
    # Pillow carries a source's JPEG COM or GIF comment in `info` and writes it back on save.
    copy.info.clear()
    copy.thumbnail((longest, longest), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    # With `info` cleared, no EXIF, GPS, XMP, ICC or comment from the source survives.
    copy.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return Rendition(out.getvalue(), copy.width, copy.height)


class PhotoPipeline:
    """Turns a remote (or uploaded) photo into local, safe copies and a Photo pointing at them."""

    def __init__(
        self,
        storage: MediaStorage,
        client: SafeClient | None,
        *,
        max_bytes: int = 15_000_000,
        timeout: float = 15.0,
        max_pixels: int = 40_000_000,
    ) -> None:
        if client is not None and not isinstance(client, SafeClient):
            # Photo and avatar URLs come from strangers' posts: never fetch them unchecked.
            raise TypeError("the photo pipeline fetches through ingest.fetch.safe_client()")
        self.storage = storage
        self.client = client
        self.max_bytes = max_bytes
        self.timeout = timeout
        self.max_pixels = max_pixels
        # Every post by one author names the same avatar: fetch it once per process.
        self._avatars: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: Settings, client: SafeClient | None) -> PhotoPipeline:
        """A pipeline storing under the media folder, with the configured limits."""
        return cls(
            LocalStorage(settings.media_dir),
            client,
            max_bytes=settings.media_max_bytes,
            timeout=settings.media_timeout,
            max_pixels=settings.media_max_pixels,
        )

    async def store_bytes(self, data: bytes, *, alt: str = "") -> Photo:
        """A Photo for bytes already in hand (an upload); MediaError if they are refused."""
        if len(data) > self.max_bytes:
            raise MediaError(f"too large: {len(data)} bytes (limit {self.max_bytes})")
        processed = await asyncio.to_thread(process, data, max_pixels=self.max_pixels)
        display_url = await asyncio.to_thread(
            self.storage.put, processed.display.data, processed.display.extension
        )
        thumb_url = await asyncio.to_thread(
            self.storage.put, processed.thumb.data, processed.thumb.extension
        )
        return Photo(
            url=display_url,
            width=processed.display.width,
            height=processed.display.height,
            alt=alt,
            thumb_url=thumb_url,
        )

    async def localize(self, photo: Photo) -> Photo:
        """The photo downloaded, verified and stored locally; MediaError if refused."""
        if self.client is None:
            raise MediaError("this pipeline takes uploads only")
        data = await download(
            self.client, photo.url, max_bytes=self.max_bytes, timeout=self.timeout
        )
        stored = await self.store_bytes(data, alt=photo.alt)
        return dataclasses.replace(stored, kind=photo.kind)  # a video's still keeps its play mark

    async def localize_all(self, photos: tuple[Photo, ...]) -> tuple[Photo, ...]:
        """Every photo that passes, local; refused ones are dropped with the reason logged."""
        kept = []
        for photo in photos:
            if photo.url.startswith("/"):
                if self.storage.has(photo.url):  # already ours
                    thumb = photo.thumb_url if self.storage.has(photo.thumb_url) else ""
                    kept.append(dataclasses.replace(photo, thumb_url=thumb))
                else:
                    log.warning("photo %s refused: not one of our media files", photo.url[:200])
                continue
            try:
                kept.append(await self.localize(photo))
            except MediaError as exc:
                log.warning("photo %s refused: %s", photo.url[:200], exc)
        return tuple(kept)

    async def avatar(self, url: str) -> str:
        """A remote avatar as a local thumbnail URL; "" (initials shown) if it can't be had."""
        if not url:
            return ""
        if url.startswith("/"):
            return url if self.storage.has(url) else ""
        if url in self._avatars:
            return self._avatars[url]
        local = ""
        if self.client is not None:
            try:
                data = await download(
                    self.client, url, max_bytes=self.max_bytes, timeout=self.timeout
                )
                rendition = await asyncio.to_thread(
                    process_avatar, data, max_pixels=self.max_pixels
                )
                local = await asyncio.to_thread(
                    self.storage.put, rendition.data, rendition.extension
                )
            except MediaError as exc:
                log.info("avatar %s not taken: %s", url[:200], exc)
        if len(self._avatars) >= AVATAR_CACHE:
            self._avatars.clear()
        self._avatars[url] = local
        return local
