"""An event's named screens (`stage`, `lobby`, ...) and the scene each shows: a layout, theme
and cycle time chosen live by a moderator, or a holding slide instead of the posts.

A scene change is an entry of the event's public change log, published in the same atomic
step, so every open wall gets it like any post and a reconnecting wall replays it."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from redis.asyncio import Redis

from wall.changes import channel
from wall.keys import as_text, event_key
from wall.layouts import LAYOUTS
from wall.models import THEMES
from wall.redis_pool import publish_command

DEFAULT_SCREEN = "main"
MAX_HOLDING = 140
"""Characters of a holding slide's message: read from across a room, so short."""
MAX_SCREENS = 32
"""Screens one event keeps count of: a wall naming a new one past this is not counted."""
SEEN_SECONDS = 30
"""A wall that has not said it is there for this long is no longer counted as connected."""
_SCREEN_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_WALL_RE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class SceneError(ValueError):
    """A scene that can't be shown; the message says which field and why."""


def screen_name(raw: str | None) -> str:
    """A screen's name from a URL (`?screen=`): lower-case letters, digits and '-', else main."""
    name = (raw or "").strip().lower()
    return name if _SCREEN_RE.fullmatch(name) else DEFAULT_SCREEN


@dataclass(frozen=True, slots=True)
class Scene:
    """What one screen shows. Empty values leave the wall as its URL and the event set it."""

    screen: str = DEFAULT_SCREEN
    layout: str = ""
    theme: str = ""
    cycle: int = 0
    """Seconds per post in the spotlight and ticker; 0 for the wall's own."""
    holding: str = ""
    """A message ("Back at 20:15"): when set, the screen shows a holding slide, not posts."""

    def __post_init__(self) -> None:
        if not _SCREEN_RE.fullmatch(self.screen):
            raise SceneError("screen: lower-case letters, digits and '-', at most 32")
        if self.layout and self.layout not in LAYOUTS:
            raise SceneError(f"layout: one of {', '.join(LAYOUTS)}")
        if self.theme and self.theme not in THEMES:
            raise SceneError(f"theme: one of {', '.join(THEMES)}")
        if not 0 <= self.cycle <= 600:
            raise SceneError("cycle: 1 to 600 seconds, or 0 for the wall's own")
        if len(self.holding) > MAX_HOLDING:
            raise SceneError(f"holding: at most {MAX_HOLDING} characters")

    def to_json(self) -> str:
        """The scene as stored and logged."""
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> Scene:
        """A stored scene; SceneError if it is not one."""
        try:
            data: Any = json.loads(raw or "{}")
            return cls(
                screen=str(data.get("screen", DEFAULT_SCREEN)),
                layout=str(data.get("layout", "")),
                theme=str(data.get("theme", "")),
                cycle=int(data.get("cycle", 0)),
                holding=" ".join(str(data.get("holding", "")).split()),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            raise SceneError(f"not a scene: {raw[:80]!r}") from exc


# KEYS: scenes, log:public  ARGV: maxlen, channel, screen, scene json, slug, publish command
_SET_SCENE = r"""
redis.call('HSET', KEYS[1], ARGV[3], ARGV[4])
local xid = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*',
  'type', 'scene', 'post_id', '', 'post', '', 'state', '', 'actor', '', 'reason', ARGV[4])
redis.call(ARGV[6], ARGV[2], cjson.encode({id = xid, event = ARGV[5], stream = 'public',
  type = 'scene', post_id = '', post = '', state = '', actor = '', reason = ARGV[4]}))
return xid
"""


class ScreenStore:
    """Scenes per screen, and which walls said lately that they show each screen."""

    def __init__(self, redis: Redis, *, log_maxlen: int = 10_000) -> None:
        self.redis = redis
        self.log_maxlen = log_maxlen
        self.publish = publish_command(redis)
        self._set_scene = redis.register_script(_SET_SCENE)

    async def set_scene(self, slug: str, scene: Scene) -> str:
        """Show a scene on its screen, on every wall at once; returns the change id."""
        xid = await self._set_scene(
            keys=[event_key(slug, "scenes"), event_key(slug, "log:public")],
            args=[
                self.log_maxlen,
                channel(slug, "public"),
                scene.screen,
                scene.to_json(),
                slug,
                self.publish,
            ],
        )
        return as_text(xid)

    async def scene(self, slug: str, screen: str) -> Scene:
        """The scene a screen shows now (the walls' own choices if none was set)."""
        raw = await self.redis.hget(event_key(slug, "scenes"), screen)
        if raw is None:
            return Scene(screen=screen)
        try:
            return Scene.from_json(as_text(raw))
        except SceneError:
            return Scene(screen=screen)

    async def scenes(self, slug: str) -> dict[str, Scene]:
        """Every screen that has had a scene set, by name."""
        raw = await self.redis.hgetall(event_key(slug, "scenes"))
        found: dict[str, Scene] = {}
        for name, value in raw.items():
            try:
                found[as_text(name)] = Scene.from_json(as_text(value))
            except SceneError:
                continue
        return found

    async def seen(self, slug: str, screen: str, wall_id: str, now_ms: int) -> bool:
        """Note that a wall shows this screen now; False (not counted) for a malformed id or
        a new screen past MAX_SCREENS."""
        if not _WALL_RE.fullmatch(wall_id) or not _SCREEN_RE.fullmatch(screen):
            return False
        names = event_key(slug, "screens")
        if not await self.redis.sismember(names, screen):
            if await self.redis.scard(names) >= MAX_SCREENS:
                return False
            await self.redis.sadd(names, screen)
        key = event_key(slug, f"walls:{screen}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {wall_id: now_ms})
            pipe.zremrangebyscore(key, "-inf", now_ms - SEEN_SECONDS * 1000)
            pipe.zremrangebyrank(key, 0, -1001)  # a bound, whatever a client sends
            pipe.expire(key, SEEN_SECONDS * 4)
            await pipe.execute()
        return True

    async def walls(self, slug: str, now_ms: int) -> dict[str, int]:
        """Screens by name (those with a scene or a wall lately) and how many walls show each."""
        names = {as_text(n) for n in await self.redis.smembers(event_key(slug, "screens"))}
        names |= set(await self.scenes(slug))
        names.add(DEFAULT_SCREEN)
        ordered = sorted(names)
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in ordered:
                pipe.zcount(event_key(slug, f"walls:{name}"), now_ms - SEEN_SECONDS * 1000, "+inf")
            counts = await pipe.execute()
        return {name: int(count) for name, count in zip(ordered, counts, strict=True)}
