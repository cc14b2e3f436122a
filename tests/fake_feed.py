"""A feed server on loopback: recorded feeds served as files, with or without an ETag."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CORPUS = Path(__file__).resolve().parent / "corpus" / "real" / "feeds"
# Media hosts the recorded feeds name; served by the fake instead, so nothing leaves loopback.
_MEDIA = re.compile(
    r"https?://(media\.cmx\.edu\.kg|i2\.ytimg\.com|secure\.gravatar\.com|example\.com/thumbnail)"
)


@dataclass
class FakeFeeds:
    """Feeds by path (`/feeds/{name}`); `etag` off serves them as servers without validators do."""

    image: bytes = b""
    etag: bool = True
    feeds: dict[str, str] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)
    media_requests: list[str] = field(default_factory=list)

    def app(self) -> Starlette:
        """The Starlette app serving the feeds and their media."""
        return Starlette(
            routes=[
                Route("/feeds/{name}", self.feed),
                Route("/remote/{path:path}", self.media),
            ]
        )

    def load(self, name: str, base: str) -> None:
        """Serve a recorded feed (tests/corpus/real/feeds) with its media moved onto `base`."""
        text = (CORPUS / name).read_text()
        self.feeds[name] = _MEDIA.sub(lambda m: f"{base}/remote/{m.group(1)}", text)

    async def feed(self, request: Request) -> Response:
        """GET /feeds/{name}, honouring If-None-Match when ETags are on."""
        name = request.path_params["name"]
        self.requests.append(name)
        if name not in self.feeds:
            return Response("not found", 404)
        body = self.feeds[name]
        headers = {}
        if self.etag:
            tag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if request.headers.get("if-none-match") == tag:
                return Response(status_code=304, headers={"ETag": tag})
            headers["ETag"] = tag
        return Response(body, media_type="application/rss+xml", headers=headers)

    async def media(self, request: Request) -> Response:
        """An image for any media path."""
        self.media_requests.append(request.path_params["path"])
        return Response(self.image, media_type="image/jpeg") if self.image else Response("", 404)
