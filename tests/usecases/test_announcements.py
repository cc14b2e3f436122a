"""Announcements as use-cases: shown on the public log with an expiry, withdrawn, audited."""

from __future__ import annotations

import json

from usecases import Stores
from usecases.announcements import announce, clamp_minutes, clean_text, withdraw
from wall.mod_store import now_ms
from wall.models import Event
from wall.store import Store


async def test_announce_then_withdraw(store: Store, stores: Stores) -> None:
    """An announcement goes on the public log with its expiry; withdrawing empties it."""
    await store.save_event(Event(slug="testevent", title="T"))
    shown = await announce(stores, "testevent", "ann@example.org", "  Talks\n resume ", 10)
    assert shown.ok and "10 minutes" in shown.message
    note = await stores.mod.announcement("testevent")
    assert note is not None and note.text == "Talks resume" and note.by == "ann@example.org"
    assert 9 * 60_000 < note.expires_ms - now_ms() <= 10 * 60_000
    assert (await withdraw(stores, "testevent", "ann@example.org")).ok
    assert await stores.mod.announcement("testevent") is None
    public = await store.changes_since("testevent", "0-0", stream="public") or []
    texts = [json.loads(c.reason)["text"] for c in public if c.type == "announce"]
    assert texts == ["Talks resume", ""]
    audit = [(e.action, e.reason) for e in reversed(await stores.mod.audit("testevent"))]
    assert audit == [("announce", "Talks resume"), ("withdraw", "")]


async def test_empty_text_withdraws(store: Store, stores: Stores) -> None:
    """An announcement with no text withdraws the current one."""
    await announce(stores, "testevent", "ann@example.org", "Doors open", 5)
    result = await announce(stores, "testevent", "ann@example.org", "   ", 5)
    assert result.message == "Announcement withdrawn."
    assert await stores.mod.announcement("testevent") is None


def test_text_and_minutes_are_bounded() -> None:
    """Text is one line of at most 140 characters; minutes are 1 to a day, 15 when unreadable."""
    assert len(clean_text("x" * 500)) == 140
    assert clamp_minutes("0") == 1 and clamp_minutes("99999") == 24 * 60
    assert clamp_minutes("soon") == 15
