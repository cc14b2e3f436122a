"""`eventwall optout add|remove|list`: authors who asked not to be on an event's wall."""

from __future__ import annotations

import argparse
import sys

from usecases import Stores, rules
from wall.redis_pool import open_redis
from wall.settings import Settings


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register the `optout` command and its subcommands."""
    optout = sub.add_parser("optout", help="authors whose posts an event never takes")
    optout_sub = optout.add_subparsers(dest="optout_command", required=True)
    for name, help_text in (
        ("add", "never take this author's posts (already taken ones are not removed)"),
        ("remove", "take this author's posts again"),
    ):
        command = optout_sub.add_parser(name, help=help_text)
        command.add_argument("handle", help="@user@server, @user.bsky.social, …")
        command.add_argument("--event", required=True, help="event slug")
    listing = optout_sub.add_parser("list", help="the authors on an event's opt-out list")
    listing.add_argument("--event", required=True, help="event slug")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    """Carry out one `optout` subcommand; the exit code."""
    redis = open_redis(
        settings.redis_url,
        expected_clients=settings.expected_clients,
        wait=settings.redis_pool_timeout,
    )
    stores = Stores.on(redis, settings)
    try:
        if args.optout_command == "list":
            if await stores.posts.get_event(args.event) is None:
                print(f"error: no event called {args.event!r}", file=sys.stderr)
                return 2
            handles = sorted(await stores.mod.opted_out(args.event))
            for handle in handles:
                print(handle)
            if not handles:
                print(f"no opt-outs for {args.event}")
            return 0
        out = args.optout_command == "add"
        result = await rules.opt_out(stores, args.event, "command line", args.handle, out=out)
        if not result.ok:
            print(f"error: {result.message}", file=sys.stderr)
            return 2
        verb = "opted out of" if out else "back on"
        print(f"{args.handle}: {verb} {args.event}")
        return 0
    finally:
        await redis.aclose()
