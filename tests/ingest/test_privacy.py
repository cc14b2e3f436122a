"""Privacy at ingest: opt-outs, local avatars, no GPS on any photo path, deletions take media."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from ingest.fetch import safe_client
from ingest.media import LocalStorage, PhotoPipeline
from ingest.pipeline import apply, take
from ingest.sources.base import Deleted, Edited
from ingest.sources.mastodon import status_post
from tests.helpers import eventwall, post_dict, write_jsonl
from wall.mod_store import ModerationStore
from wall.models import Author, Event, Photo, Post
from wall.moderation import State
from wall.privacy import says_nowall
from wall.store import Store


def make(native_id: str, text: str, *, handle: str = "@ada@example.org", **extra: object) -> Post:
    """A post by one author."""
    return Post(
        source="test",
        native_id=native_id,
        author=Author(handle=handle, display_name=str(extra.pop("name", "Ada"))),
        text=text,
        created_at=datetime.now(UTC),
        **extra,  # type: ignore[arg-type]
    )


@pytest.fixture
async def photos(tmp_path: Path) -> AsyncIterator[PhotoPipeline]:
    """A pipeline storing under a temporary media folder."""
    async with safe_client(allow_loopback=True) as client:
        yield PhotoPipeline(LocalStorage(tmp_path / "media"), client, timeout=2.0)


@pytest.mark.parametrize(
    ("text", "out"),
    [
        ("Please no #nowall", True),
        ("#NoWall at the start", True),
        ("#nowall.", True),
        ("#nowalls are fine", False),
        ("a#nowall in a word", False),
        ("##nowall", False),
        ("nowall without the hash", False),
    ],
)
def test_nowall_is_a_whole_hashtag(text: str, out: bool) -> None:
    """#nowall counts as a hashtag of its own, in any case; not inside other words."""
    assert says_nowall(text) is out


async def test_opted_out_posts_are_not_taken(store: Store, event: Event) -> None:
    """#nowall in the text, the name or the tags, or an author on the list: nothing is stored."""
    mod = ModerationStore(store.redis)
    await mod.opt_out(event.slug, "@Shy@Example.org")
    refused = [
        make("1", "Great talk #nowall"),
        make("2", "hello", name="Bea #NoWall"),
        make("3", "hello", hashtags=("nowall",)),
        make("4", "hello from the list", handle="@shy@example.org"),
    ]
    for post in refused:
        outcome = await take(store, event, post)
        assert not outcome.changed
        assert await store.get_state(event.slug, post.id) is None
    assert (await take(store, event, make("5", "I'm fine on the wall"))).changed
    await mod.opt_out(event.slug, "shy@example.org", out=False)
    assert (await take(store, event, make("6", "back again", handle="@shy@example.org"))).changed
    assert await mod.opted_out(event.slug) == set()


async def test_an_edit_adding_nowall_removes_the_post(store: Store, event: Event) -> None:
    """An author who edits #nowall into a post already on the wall takes it off."""
    post = make("7", "on the wall")
    await take(store, event, post)
    assert await store.get_state(event.slug, post.id) == State.APPROVED
    await apply(store, event, Edited(make("7", "on the wall, but #nowall please")))
    assert await store.get_state(event.slug, post.id) is None


def test_mastodon_author_with_nowall_in_bio_is_skipped() -> None:
    """A Mastodon account whose bio (note) says #nowall: its statuses are not taken."""
    status = {
        "id": "1",
        "account": {"acct": "shy", "note": "<p>Photographer. #nowall</p>", "display_name": "S"},
        "content": "<p>Hello #event</p>",
        "created_at": "2026-11-23T18:00:00Z",
    }
    assert status_post(status, "masto.example") is None
    status["account"]["note"] = "<p>Photographer.</p>"  # type: ignore[index]
    assert status_post(status, "masto.example") is not None


async def test_avatars_are_stored_locally_or_dropped(
    store: Store, event: Event, files: str, photos: PhotoPipeline, tmp_path: Path
) -> None:
    """A remote avatar becomes a small local copy; one that fails to load leaves initials."""
    kept = make("8", "hi", handle="@a@example.org")
    kept = Post(**{**_fields(kept), "author": Author("@a@example.org", "A", f"{files}/good.jpg")})
    await take(store, event, kept, photos)
    stored = await store.get_post(event.slug, kept.id)
    assert stored and stored.author.avatar_url.startswith("/media/p/")
    local = tmp_path / "media" / stored.author.avatar_url.removeprefix("/media/")
    with Image.open(local) as avatar:
        assert max(avatar.size) <= 128
    for n, url in enumerate(
        [f"{files}/script.jpg", f"{files}/missing.jpg", "javascript:alert(1)", "//evil.example/a"]
    ):
        post = make(f"9{n}", "hi", handle=f"@b{n}@example.org")
        post = Post(**{**_fields(post), "author": Author(post.author.handle, "B", url)})
        await take(store, event, post, photos)
        stored = await store.get_post(event.slug, post.id)
        assert stored and stored.author.avatar_url == "", url


async def test_downloaded_photo_has_no_gps_and_deletion_removes_its_files(
    store: Store, event: Event, files: str, photos: PhotoPipeline, tmp_path: Path
) -> None:
    """A source's photo is stored without EXIF or GPS; deleted at the source, its files go too."""
    post = make("10", "look", photos=(Photo(f"{files}/gps.jpg", alt="room"),))
    await take(store, event, post, photos)
    stored = await store.get_post(event.slug, post.id)
    assert stored and len(stored.photos) == 1
    paths = [
        tmp_path / "media" / u.removeprefix("/media/")
        for u in (stored.photos[0].url, stored.photos[0].thumb_url)
    ]
    for path in paths:
        data = path.read_bytes()
        assert b"Exif" not in data and b"SpyCam" not in data
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif().get_ifd(0x8825)
    # Another post shows the same picture: its files stay until that one goes too.
    twin = make("11", "same picture", photos=(Photo(f"{files}/gps.jpg"),))
    await take(store, event, twin, photos)
    await apply(store, event, Deleted(post.id), photos)
    assert await store.get_post(event.slug, post.id) is None
    assert all(p.exists() for p in paths)
    await apply(store, event, Deleted(twin.id), photos)
    assert not any(p.exists() for p in paths)


def _fields(post: Post) -> dict[str, object]:
    return {f: getattr(post, f) for f in Post.__dataclass_fields__}


def test_optout_command_manages_the_list(env: dict[str, str], tmp_path: Path) -> None:
    """`eventwall optout add|list|remove` keeps an event's opt-out list; a replay honours it."""
    assert (
        eventwall("event", "create", "--replace", "shy", "--title", "Shy", env=env).returncode == 0
    )
    added = eventwall("optout", "add", "@Shy@Example.org", "--event", "shy", env=env)
    assert added.returncode == 0, added.stderr
    listed = eventwall("optout", "list", "--event", "shy", env=env)
    assert listed.stdout.split() == ["shy@example.org"]
    assert eventwall("optout", "add", "x", "--event", "nope", env=env).returncode == 2
    lines = [post_dict("1", author={"handle": "@shy@example.org"}), post_dict("2")]
    replayed = eventwall(
        "ingest", "replay", str(write_jsonl(tmp_path / "p.jsonl", lines)), "--event", "shy", env=env
    )
    assert "1 new (1 pending), 0 already there, 0 skipped, 1 not taken" in replayed.stdout
    assert "author opted out" in replayed.stderr
    removed = eventwall("optout", "remove", "shy@example.org", "--event", "shy", env=env)
    assert removed.returncode == 0
    assert eventwall("optout", "list", "--event", "shy", env=env).stdout == "no opt-outs for shy\n"
