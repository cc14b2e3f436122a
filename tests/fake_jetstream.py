"""A fake Jetstream server on loopback: /subscribe websocket, plus getProfiles and a CDN."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

CORPUS = Path(__file__).resolve().parent / "corpus" / "real" / "bluesky"


def recorded_events(name: str, tag: str = "") -> list[dict[str, Any]]:
    """Recorded Jetstream events (tests/corpus/real/bluesky, see SOURCES.md there), one a line;
    with `tag`, each post record also carries it in its `tags` list (outside text and facets)."""
    events = [json.loads(line) for line in (CORPUS / name).read_text().splitlines() if line]
    for event in events:
        record = (event.get("commit") or {}).get("record")
        if tag and isinstance(record, dict):
            record["tags"] = [*record.get("tags", []), tag]
    return events


def create(
    did: str,
    rkey: str,
    time_us: int,
    text: str,
    *,
    tags: list[str] | None = None,
    facet_tag: str | None = None,
    images: list[tuple[str, str]] | None = None,
    operation: str = "create",
) -> dict[str, Any]:
    """A Jetstream commit event for an app.bsky.feed.post record."""
    record: dict[str, Any] = {
        "$type": "app.bsky.feed.post",
        "createdAt": "2026-05-01T10:00:00.000Z",
        "langs": ["en"],
        "text": text,
    }
    if tags:
        record["tags"] = tags
    if facet_tag:
        start = text.encode().find(f"#{facet_tag}".encode())
        record["facets"] = [
            {
                "index": {"byteStart": start, "byteEnd": start + len(facet_tag) + 1},
                "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": facet_tag}],
            }
        ]
    if images:
        record["embed"] = {
            "$type": "app.bsky.embed.images",
            "images": [
                {
                    "alt": alt,
                    "image": {
                        "$type": "blob",
                        "ref": {"$link": cid},
                        "mimeType": "image/jpeg",
                        "size": 1000,
                    },
                    "aspectRatio": {"width": 64, "height": 32},
                }
                for cid, alt in images
            ],
        }
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vuowo2b",
            "operation": operation,
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
            "record": record,
            "cid": "bafyreidwaivazkwu67xztlmuobx35hs2lnfh3kolmgfmucldvhd3sgzcqi",
        },
    }


def delete(did: str, rkey: str, time_us: int) -> dict[str, Any]:
    """A Jetstream delete commit."""
    return {
        "did": did,
        "time_us": time_us,
        "kind": "commit",
        "commit": {
            "rev": "3l3qo2vuowo2c",
            "operation": "delete",
            "collection": "app.bsky.feed.post",
            "rkey": rkey,
        },
    }


@dataclass
class FakeJetstream:
    """Tests push events to subscribers, see their query strings, and drop them."""

    sockets: list[WebSocket] = field(default_factory=list)
    connects: list[dict[str, str]] = field(default_factory=list)
    profile_requests: int = 0
    files: dict[str, bytes] = field(default_factory=dict)
    bios: dict[str, str] = field(default_factory=dict)
    """Profile descriptions by DID (empty for the others)."""
    recorded_profiles: dict[str, dict[str, Any]] | None = None
    """Profile views by DID served as they are; a DID not in it gets a 500 (AppView trouble)."""
    did_documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    """DID documents served at /plc/{did}, as plc.directory does."""
    post_views: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Post views by at:// URI, for getPosts."""

    def app(self) -> Starlette:
        """Jetstream's /subscribe, the AppView's getProfiles and the CDN, in one app."""
        return Starlette(
            routes=[
                WebSocketRoute("/subscribe", self.subscribe),
                Route("/xrpc/app.bsky.actor.getProfiles", self.profiles),
                Route("/xrpc/app.bsky.feed.getPosts", self.posts),
                Route("/plc/{did}", self.did_document),
                Route("/img/{size}/plain/{did}/{cid}", self.image),
                Route("/watch/{did}/{cid}/thumbnail.jpg", self.image),
            ]
        )

    async def subscribe(self, socket: WebSocket) -> None:
        """Accept a subscriber and keep it until it leaves or is dropped."""
        await socket.accept()
        self.connects.append(dict(socket.query_params))
        self.sockets.append(socket)
        try:
            while True:
                await socket.receive_text()
        except WebSocketDisconnect:
            pass
        finally:
            if socket in self.sockets:
                self.sockets.remove(socket)

    async def profiles(self, request: Request) -> Response:
        """app.bsky.actor.getProfiles for any DID: handle derived from the DID."""
        self.profile_requests += 1
        actors = request.query_params.getlist("actors")
        if self.recorded_profiles is not None:
            if any(did not in self.recorded_profiles for did in actors):
                return JSONResponse({"error": "InternalServerError"}, 500)
            return JSONResponse({"profiles": [self.recorded_profiles[d] for d in actors]})
        return JSONResponse(
            {
                "profiles": [
                    {
                        "did": did,
                        "handle": f"{did.rsplit(':', 1)[-1]}.bsky.social",
                        "displayName": "Bea",
                        "description": self.bios.get(did, ""),
                        "avatar": "",
                    }
                    for did in actors
                ]
            }
        )

    async def posts(self, request: Request) -> Response:
        """app.bsky.feed.getPosts: the known post views among the URIs asked."""
        uris = request.query_params.getlist("uris")
        return JSONResponse({"posts": [self.post_views[u] for u in uris if u in self.post_views]})

    async def did_document(self, request: Request) -> Response:
        """A DID document, as plc.directory serves it."""
        document = self.did_documents.get(request.path_params["did"])
        if document is None:
            return JSONResponse({"message": "DID not registered"}, 404)
        return JSONResponse(document)

    async def image(self, request: Request) -> Response:
        """A CDN image (or a video's still) by CID (the '@jpeg' suffix stripped)."""
        cid = request.path_params["cid"].removesuffix("@jpeg")
        if cid not in self.files:
            return Response("no", 404)
        return Response(self.files[cid], media_type="image/jpeg")

    async def send(self, *events: dict[str, Any] | str) -> None:
        """Send events (dicts as JSON, strings as they are) to every subscriber."""
        for socket in list(self.sockets):
            for event in events:
                # As Jetstream (Go) writes it: compact, non-ASCII text as UTF-8, not \u escapes.
                text = (
                    event
                    if isinstance(event, str)
                    else json.dumps(event, ensure_ascii=False, separators=(",", ":"))
                )
                await socket.send_text(text)

    async def drop(self) -> None:
        """Close every subscriber's connection."""
        for socket in list(self.sockets):
            self.sockets.remove(socket)
            await socket.close(code=1011)
