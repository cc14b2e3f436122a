"""Image URLs a post or event may hold: our own media files, or http(s) ones the photo
pipeline fetches; never another path on this site. Re-encoding keeps no comments."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline, process, process_avatar
from ingest.pipeline import normalize, take
from tests.fakes import serve
from tests.helpers import eventwall, post_dict
from tests.ingest.test_media import jpeg
from wall.models import Event, Photo, Post, PostError
from wall.sanitize import is_media_path, media_url, safe_url
from wall.store import Store

HOSTILE_LOCAL = [
    "/media/../e/testevent/export.zip",
    "/media/%2e%2e/metrics",
    "/media/p/%2E%2E/%2E%2E/metrics",
    "/media/./p/a.jpg",
    "/media/.hidden.jpg",
    "/media\\..\\metrics",
    "/media/p\\a.jpg",
    "/\t/evil.example/x.jpg",
    "/media/p/a\n.jpg",
    "/media/ p/a.jpg",
    "/metrics",
    "/e/testevent/export.zip",
    "//evil.example/x.jpg",
    "/media/",
    "/media/p/a.jpg?x=1",
    "/media/p/a.jpg#x",
]


@pytest.mark.parametrize("url", HOSTILE_LOCAL)
def test_only_plain_media_paths_are_image_urls(url: str) -> None:
    """`..`, percent-escapes, backslashes, spaces, tabs and other site paths are refused."""
    assert media_url(url) == "" and not is_media_path(url.strip())


def test_media_files_and_web_urls_are_image_urls() -> None:
    """Our files and http(s) URLs (for the pipeline to fetch) are kept; other schemes not."""
    assert media_url("/media/p/ab/abc.jpg") == "/media/p/ab/abc.jpg"
    assert media_url("/media/avatars/ada-1.png") == "/media/avatars/ada-1.png"
    assert media_url("https://cdn.example/a.jpg") == "https://cdn.example/a.jpg"
    for url in ("javascript:alert(1)", "data:image/png;base64,AA", "ftp://x/y", "file:///etc"):
        assert media_url(url) == ""


def test_a_tab_or_backslash_can_not_turn_a_local_link_into_another_host() -> None:
    """Browsers drop tabs and read `\\` as `/`: such a local path is refused as a link too."""
    for url in ("/\t/evil.example", "/\\evil.example", "/\n/evil.example", "/x\\y"):
        assert safe_url(url) == ""
    assert safe_url("/e/testevent/live") == "/e/testevent/live"


def test_posts_keep_no_image_url_that_is_not_media() -> None:
    """At normalization a hostile avatar, photo or thumbnail URL is dropped."""
    post = Post.from_dict(
        post_dict(
            "urls",
            author={"handle": "@a", "avatar_url": "/media/../e/testevent/export.zip"},
            photos=[
                {"url": "/media/%2e%2e/metrics"},
                {"url": "/media/p/ok.jpg", "thumb_url": "/\t/evil.example/t.jpg"},
            ],
        )
    )
    clean = normalize(post)
    assert clean.author.avatar_url == ""
    assert [(p.url, p.thumb_url) for p in clean.photos] == [("/media/p/ok.jpg", "")]


async def test_local_image_urls_must_be_files_we_hold(tmp_path: Path) -> None:
    """A local photo or avatar URL is kept only when it names a real file in the media
    folder; a missing file or any other path is dropped."""
    media = tmp_path / "media"
    (media / "p").mkdir(parents=True)
    (media / "p" / "real.jpg").write_bytes(jpeg())
    pipeline = PhotoPipeline(LocalStorage(media), None)
    kept = await pipeline.localize_all(
        (
            Photo(url="/media/p/real.jpg", thumb_url="/media/p/missing.jpg"),
            Photo(url="/media/p/missing.jpg"),
            Photo(url="/media/../e/testevent/export.zip"),
        )
    )
    assert [(p.url, p.thumb_url) for p in kept] == [("/media/p/real.jpg", "")]
    assert await pipeline.avatar("/media/p/real.jpg") == "/media/p/real.jpg"
    for url in ("/media/p/missing.jpg", "/media/%2e%2e/metrics", "/e/testevent/export.zip"):
        assert await pipeline.avatar(url) == ""


async def test_a_replayed_post_with_a_same_site_url_shows_no_image(
    store: Store, event: Event, tmp_path: Path
) -> None:
    """Taken through the real pipeline, a post pointing at the export or /metrics stores no
    image URL at all."""
    pipeline = PhotoPipeline(LocalStorage(tmp_path / "media"), None)
    post = Post.from_dict(
        post_dict(
            "sneaky",
            "look",
            author={"handle": "@m", "avatar_url": "/media/%2e%2e/metrics"},
            photos=[{"url": "/media/../e/testevent/export.zip"}],
        )
    )
    await take(store, event, post, pipeline)
    stored = await store.get_post(event.slug, post.id)
    assert stored is not None and stored.photos == () and stored.author.avatar_url == ""


def test_an_event_logo_is_one_of_our_media_files() -> None:
    """An event's logo must be a file under /media/; a stored one that is not is dropped."""
    for bad in ("/media/../e/x/export.zip", "https://cdn.example/logo.png", "/\t/evil.example"):
        with pytest.raises(PostError, match="logo_url"):
            Event(slug="x", title="X", logo_url=bad)
    assert Event(slug="x", title="X", logo_url="/media/logo.png").logo_url == "/media/logo.png"
    stored = {"slug": "x", "title": "X", "logo_url": "/media/%2e%2e/metrics"}
    assert Event.from_dict(stored).logo_url == ""


@pytest.fixture
async def logo_server() -> AsyncIterator[str]:
    """A loopback server with a logo."""

    async def logo(request: Request) -> Response:
        return Response(jpeg((300, 100)), media_type="image/jpeg")

    async with serve(Starlette(routes=[Route("/logo.jpg", logo)])) as base:
        yield base


async def test_a_remote_logo_is_fetched_into_media_at_event_creation(
    logo_server: str, env: dict[str, str], store: Store
) -> None:
    """`event create --logo-url https://…` fetches the logo through the photo pipeline and
    the event points at the local copy."""
    import asyncio

    local_env = {**env, "FETCH_ALLOW_LOOPBACK": "true"}
    url = f"{logo_server}/logo.jpg"
    made = await asyncio.to_thread(
        eventwall, "event", "create", "logo", "--title", "Logo", "--logo-url", url, env=local_env
    )
    assert made.returncode == 0, made.stderr
    event = await store.get_event("logo")
    assert event is not None and event.logo_url.startswith("/media/p/")
    assert (Path(env["DATA_DIR"]) / "media" / event.logo_url.removeprefix("/media/")).is_file()
    refused = await asyncio.to_thread(
        eventwall, "event", "create", "logo2", "--title", "L", "--logo-url", url, env=env
    )
    assert refused.returncode == 2 and "logo" in refused.stderr and "loopback" in refused.stderr


def _with_comment(kind: str, comment: bytes) -> bytes:
    image = Image.new("RGB" if kind == "JPEG" else "P", (40, 30))
    out = io.BytesIO()
    image.save(out, kind, comment=comment)
    assert comment in out.getvalue()
    return out.getvalue()


@pytest.mark.parametrize("kind", ["JPEG", "GIF"])
def test_re_encoding_keeps_no_comment(kind: str) -> None:
    """A JPEG COM segment or a GIF comment (a position, say) is gone from every rendition."""
    secret = b"lat=48.8582 lon=2.2945"
    data = _with_comment(kind, secret)
    processed = process(data, max_pixels=10**7)
    assert secret not in processed.display.data and secret not in processed.thumb.data
    assert secret not in process_avatar(data, max_pixels=10**7).data


async def test_uploads_go_through_the_same_re_encoding(tmp_path: Path) -> None:
    """An uploaded JPEG's comment does not survive `store_bytes` either."""
    async with safe_client() as client:
        pipeline = PhotoPipeline(LocalStorage(tmp_path / "media"), client)
        photo = await pipeline.store_bytes(_with_comment("JPEG", b"lat=1 lon=2"))
    written = (tmp_path / "media" / photo.url.removeprefix("/media/")).read_bytes()
    assert b"lat=1" not in written
