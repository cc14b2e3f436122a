"""`eventwall source add|list|remove`: the sources feeding each event, kept in Redis."""

from __future__ import annotations

import argparse
import sys

from ingest.sources import kinds
from usecases import Refused, Stores, sources
from wall.redis_pool import open_redis
from wall.settings import Settings
from wall.sources import SourceError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `source` command and its subcommands."""
    source = sub.add_parser("source", help="manage the sources feeding events")
    source_sub = source.add_subparsers(dest="source_command", required=True)
    add = source_sub.add_parser("add", help="add a source; the running worker picks it up")
    kinds.add_arguments(add)
    add.add_argument("--event", required=True, help="event slug")
    source_sub.add_parser("list", help="list sources and their status")
    remove = source_sub.add_parser("remove", help="remove a source by id")
    remove.add_argument("id")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `source` subcommand."""
    redis = open_redis(
        settings.redis_url,
        expected_clients=settings.expected_clients,
        wait=settings.redis_pool_timeout,
    )
    stores = Stores.on(redis, settings)
    try:
        if args.source_command == "add":
            fields = {name: getattr(args, name) for name in kinds.options()}
            config = await sources.add_source(stores, args.kind, args.event, **fields)
            print(f"added {config.id}: {config.describe}")
        elif args.source_command == "list":
            listed = await sources.sources_with_status(stores)
            for config, status in listed:
                print(f"{config.id}\t{config.describe}\t{status}")
            if not listed:
                print("no sources: add one with `eventwall source add KIND --event SLUG ...`")
        elif args.source_command == "remove":
            await sources.remove_source(stores, args.id)
            print(f"removed {args.id}")
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1 if args.source_command == "remove" else 2
    except SourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        await redis.aclose()
    return 0
