"""`eventwall source add|list|remove`: the sources feeding each event, kept in Redis."""

from __future__ import annotations

import argparse
import sys
import time

from redis.asyncio import Redis

from wall.settings import Settings
from wall.sources import KINDS, SourceConfig, SourceError, SourceRegistry


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `source` command and its subcommands."""
    source = sub.add_parser("source", help="manage the sources feeding events")
    source_sub = source.add_subparsers(dest="source_command", required=True)
    add = source_sub.add_parser("add", help="add a source; the running worker picks it up")
    add.add_argument("kind", choices=KINDS)
    add.add_argument("--event", required=True, help="event slug")
    add.add_argument("--server", default="", help="Mastodon server (or Jetstream URL)")
    add.add_argument("--tag", default="", help="hashtag to follow")
    add.add_argument("--url", default="", help="feed URL (rss)")
    add.add_argument("--token", default="", help="Mastodon access token: stream instead of poll")
    source_sub.add_parser("list", help="list sources and their status")
    remove = source_sub.add_parser("remove", help="remove a source by id")
    remove.add_argument("id")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `source` subcommand."""
    redis = Redis.from_url(settings.redis_url, decode_responses=True)
    registry = SourceRegistry(redis)
    try:
        if args.source_command == "add":
            try:
                config = SourceConfig.create(
                    args.kind,
                    args.event,
                    server=args.server,
                    tag=args.tag,
                    url=args.url,
                    token=args.token,
                )
            except SourceError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            await registry.add(config)
            print(f"added {config.id}: {config.describe}")
        elif args.source_command == "list":
            now = time.time()
            for config in await registry.list():
                status = await registry.status(config.id)
                print(f"{config.id}\t{config.describe}\t{status.summary(now)}")
        elif args.source_command == "remove":
            if not await registry.remove(args.id):
                print(f"error: no source {args.id}", file=sys.stderr)
                return 1
            print(f"removed {args.id}")
    finally:
        await redis.aclose()
    return 0
