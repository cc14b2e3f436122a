"""An event's branding made local: a logo or sponsor logos given as http(s) URLs are fetched
once through the photo pipeline, checked and stored under /media like any photo, so the
pages' CSP keeps img-src 'self' and a screen never waits on someone else's server."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from ingest.fetch import SafeClient, safe_client
from ingest.media import MediaError, PhotoPipeline
from wall.models import Event, Photo
from wall.sanitize import is_media_path
from wall.settings import Settings

MAX_SPONSORS = 8
"""Logos the sponsor strip rotates through; more would each show too rarely to be seen."""


class BrandingError(Exception):
    """A logo that could not be had; the message is one line naming it and why."""


def fetch_client(settings: Settings) -> SafeClient:
    """The HTTP client branding is fetched with: the worker's, public addresses only."""
    return safe_client(allow_loopback=settings.fetch_allow_loopback, timeout=settings.media_timeout)


async def localize(settings: Settings, urls: Sequence[str]) -> list[str]:
    """Each URL as one the pages serve: /paths kept, http(s) URLs fetched, checked and stored."""
    local: list[str] = []
    remote = [u for u in urls if not u.startswith("/")]
    if not remote:
        bad = [u for u in urls if not is_media_path(u)]
        if bad:
            raise BrandingError(f"logo {bad[0][:200]}: not a file under /media/")
        return list(urls)
    async with fetch_client(settings) as client:
        photos = PhotoPipeline.from_settings(settings, client)
        for url in urls:
            if url.startswith("/"):
                if not is_media_path(url):
                    # Every wall view loads it: never another path on this site.
                    raise BrandingError(f"logo {url[:200]}: not a file under /media/")
                local.append(url)
                continue
            try:
                stored = await photos.localize(Photo(url=url, alt="logo"))
            except MediaError as exc:
                raise BrandingError(f"logo {url[:200]}: {exc}") from exc
            local.append(stored.url)
    return local


async def brand(
    settings: Settings, event: Event, *, logo_url: str | None, sponsors: Sequence[str] | None
) -> Event:
    """The event with its logo and sponsor strip set (None leaves one as it is), made local."""
    if sponsors is not None and len(sponsors) > MAX_SPONSORS:
        raise BrandingError(f"sponsors: at most {MAX_SPONSORS} logos")
    changes: dict[str, object] = {}
    if logo_url:
        changes["logo_url"] = (await localize(settings, [logo_url]))[0]
    elif logo_url == "":
        changes["logo_url"] = ""
    if sponsors is not None:
        extra = dict(event.extra)
        extra["sponsors"] = await localize(settings, [s for s in sponsors if s])
        if not extra["sponsors"]:
            del extra["sponsors"]
        changes["extra"] = extra
    return dataclasses.replace(event, **changes)  # type: ignore[arg-type]
