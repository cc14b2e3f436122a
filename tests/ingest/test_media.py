"""The photo pipeline against hostile images served by a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import io
import struct
import time
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from ingest.fetch import safe_client
from ingest.media import LocalStorage, MediaError, PhotoPipeline, download, process
from ingest.pipeline import take
from tests.fakes import serve
from wall.models import Author, Event, Photo, Post
from wall.store import Store


def jpeg(size: tuple[int, int] = (64, 32), exif: Image.Exif | None = None) -> bytes:
    """A small real JPEG, optionally carrying EXIF."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def gps_exif() -> Image.Exif:
    """EXIF with a GPS position, a camera model and orientation 6 (rotate 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0110] = "SpyCam 3000"  # Model
    exif[0x0112] = 6  # Orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 24.0)
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 3.0)
    return exif


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims billions of pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16, 9)  # a few rows of zeros
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


async def _endless_slow() -> AsyncIterator[bytes]:
    while True:
        yield b"\xff" * 10
        await asyncio.sleep(0.05)


async def _endless_fast() -> AsyncIterator[bytes]:
    while True:
        yield b"\xff" * 65536
        await asyncio.sleep(0)


def files_app() -> Starlette:
    """A file server with good and hostile images, all claiming to be JPEG."""
    good = jpeg()
    bodies = {
        "good.jpg": good,
        "gps.jpg": jpeg((80, 40), gps_exif()),
        "truncated.jpg": good[: len(good) // 2],
        "script.jpg": b"<script>alert('pwned')</script>\n",
        "bomb.jpg": png_bomb(),
    }

    async def file(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "endless-slow.jpg":
            return StreamingResponse(_endless_slow(), media_type="image/jpeg")
        if name == "endless-fast.jpg":
            return StreamingResponse(_endless_fast(), media_type="image/jpeg")
        if name not in bodies:
            return Response("no", 404)
        return Response(bodies[name], media_type="image/jpeg")

    return Starlette(routes=[Route("/{name}", file)])


@pytest.fixture
async def files() -> AsyncIterator[str]:
    """The base URL of the hostile file server."""
    async with serve(files_app()) as base:
        yield base


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[PhotoPipeline]:
    """A pipeline storing under a temporary media folder with tight limits."""
    async with safe_client(allow_loopback=True) as client:
        yield PhotoPipeline(
            LocalStorage(tmp_path / "media"), client, max_bytes=1_000_000, timeout=1.0
        )


async def test_good_photo_is_stored_locally_at_two_sizes(
    files: str, pipeline: PhotoPipeline, tmp_path: Path
) -> None:
    """A real photo becomes local display and thumbnail JPEGs, content-addressed under /media."""
    photo = await pipeline.localize(Photo(f"{files}/good.jpg", alt="a red and blue card"))
    assert photo.url.startswith("/media/p/") and photo.thumb_url.startswith("/media/p/")
    assert photo.alt == "a red and blue card"
    assert (photo.width, photo.height) == (64, 32)
    stored = tmp_path / "media" / photo.url.removeprefix("/media/")
    with Image.open(stored) as written:
        assert written.format == "JPEG"
    again = await pipeline.localize(Photo(f"{files}/good.jpg"))
    assert again.url == photo.url  # same content, same name


def test_large_photo_is_scaled_to_display_and_thumbnail_sizes() -> None:
    """Display copies are at most 1920 px and thumbnails at most 480 px on the long side."""
    out = io.BytesIO()
    Image.new("RGB", (4000, 1000), "white").save(out, "PNG")
    processed = process(out.getvalue(), max_pixels=40_000_000)
    assert (processed.display.width, processed.display.height) == (1920, 480)
    assert (processed.thumb.width, processed.thumb.height) == (480, 120)


async def test_gps_exif_is_stripped_and_photo_turned_upright(
    files: str, pipeline: PhotoPipeline, tmp_path: Path
) -> None:
    """EXIF (GPS, camera) is gone from stored copies, and orientation 6 is applied to pixels."""
    source = Image.open(io.BytesIO(jpeg((80, 40), gps_exif())))
    assert source.getexif().get_ifd(0x8825)  # the test photo really has GPS
    photo = await pipeline.localize(Photo(f"{files}/gps.jpg"))
    for url in (photo.url, photo.thumb_url):
        data = (tmp_path / "media" / url.removeprefix("/media/")).read_bytes()
        stored = Image.open(io.BytesIO(data))
        assert "exif" not in stored.info
        assert not stored.getexif()
        assert b"SpyCam" not in data and b"GPS" not in data
    assert (photo.width, photo.height) == (40, 80)  # rotated upright


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("truncated.jpg", "not a readable image"),
        ("script.jpg", "not a readable image"),
        ("bomb.jpg", "decompression bomb"),
        ("missing.jpg", "HTTP 404"),
    ],
)
async def test_hostile_files_are_refused(
    files: str, pipeline: PhotoPipeline, tmp_path: Path, name: str, reason: str
) -> None:
    """Truncated files, scripts named .jpg, bombs and missing files are refused; nothing stored."""
    with pytest.raises(MediaError, match=reason):
        await pipeline.localize(Photo(f"{files}/{name}"))
    assert not list((tmp_path / "media").rglob("*.jpg"))


def test_bomb_between_limit_and_pillow_limit_is_refused() -> None:
    """Past MAX_IMAGE_PIXELS, where Pillow only warns, the pipeline refuses all the same."""
    with pytest.raises(MediaError, match="decompression bomb"):
        process(png_bomb(10_000, 10_000), max_pixels=10**12)


def test_image_over_the_configured_pixel_limit_is_refused_before_decoding() -> None:
    """The configured pixel limit applies from the header, before any pixel is decoded."""
    with pytest.raises(MediaError, match="too many pixels"):
        process(png_bomb(5_000, 5_000), max_pixels=1_000_000)


async def test_endless_slow_download_is_aborted_at_the_time_limit(files: str) -> None:
    """A download that never ends is aborted at the time limit, not waited on forever."""
    async with safe_client(allow_loopback=True) as client:
        started = time.monotonic()
        with pytest.raises(MediaError, match="longer than"):
            await download(client, f"{files}/endless-slow.jpg", max_bytes=10**9, timeout=0.5)
        assert time.monotonic() - started < 5


async def test_endless_fast_download_is_aborted_at_the_size_limit(files: str) -> None:
    """A download past the size limit is aborted while streaming, never held whole."""
    async with safe_client(allow_loopback=True) as client:
        with pytest.raises(MediaError, match="too large"):
            await download(client, f"{files}/endless-fast.jpg", max_bytes=500_000, timeout=30)


async def test_taken_post_points_at_local_copies_and_drops_refused_photos(
    files: str, pipeline: PhotoPipeline, store: Store, event: Event
) -> None:
    """A stored post shows only local copies; a refused photo is dropped, the post kept."""
    post = Post(
        source="test",
        native_id="p1",
        author=Author("@ada@example.org"),
        text="look #testevent",
        created_at=datetime.now(UTC),
        photos=(Photo(f"{files}/good.jpg", alt="card"), Photo(f"{files}/script.jpg")),
    )
    outcome = await take(store, event, post, pipeline)
    assert outcome.changed
    stored = await store.get_post(event.slug, post.id)
    assert stored is not None
    assert [p.alt for p in stored.photos] == ["card"]
    assert stored.photos[0].url.startswith("/media/p/")
