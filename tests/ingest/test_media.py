"""The photo pipeline against hostile images served by a real HTTP server on loopback."""

from __future__ import annotations

import io
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from ingest.fetch import safe_client
from ingest.media import LocalStorage, MediaError, PhotoPipeline, download, process
from ingest.pipeline import take
from tests.images import gps_exif, jpeg, png_bomb
from wall.models import Author, Event, Photo, Post
from wall.store import Store


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
