"""Announcements over the wall: shown for some minutes, or withdrawn."""

from __future__ import annotations

from usecases import Result, Stores, done
from wall.mod_store import Announcement, AuditEntry, now_ms

MAX_ANNOUNCEMENT = 140
DEFAULT_MINUTES = 15
MAX_MINUTES = 24 * 60


def clean_text(text: str) -> str:
    """An announcement as the wall shows it: one line, at most MAX_ANNOUNCEMENT characters."""
    return " ".join(text.split())[:MAX_ANNOUNCEMENT]


def clamp_minutes(raw: str) -> int:
    """Minutes from a form or a flag: 1 to a day; the default when not a number."""
    try:
        return max(1, min(MAX_MINUTES, int(raw)))
    except ValueError:
        return DEFAULT_MINUTES


async def announce(stores: Stores, slug: str, actor: str, text: str, minutes: int) -> Result:
    """Show an announcement on the wall for `minutes`; empty text withdraws it."""
    text = clean_text(text)
    if not text:
        return await withdraw(stores, slug, actor)
    minutes = max(1, min(MAX_MINUTES, minutes))
    await stores.mod.announce(slug, Announcement(text, now_ms() + minutes * 60_000, actor))
    await stores.mod.record(slug, AuditEntry(now_ms(), actor, "announce", "", "", "", text))
    return done(f"Announcement shown for {minutes} minutes.")


async def withdraw(stores: Stores, slug: str, actor: str) -> Result:
    """Take the announcement off the wall."""
    await stores.mod.announce(slug, None)
    await stores.mod.record(slug, AuditEntry(now_ms(), actor, "withdraw", "", "", "", ""))
    return done("Announcement withdrawn.")
