"""An event's rules and opt-out list as use-cases, shared by the console and the CLI."""

from __future__ import annotations

from usecases import Stores
from usecases.rules import opt_out, set_mode, set_rules
from wall.models import Event
from wall.store import Store


async def test_set_rules_saves_mode_and_rules(store: Store, stores: Stores) -> None:
    """Saving rules switches the mode, stores words, tags and the flood limit, and audits it."""
    await store.save_event(Event(slug="testevent", title="T"))
    result = await set_rules(
        stores,
        "testevent",
        "ann@example.org",
        mode="post",
        blocked_words=["spam", " "],
        blocked_tags=["#nope"],
        flood_limit=3,
        hold_duplicates=False,
    )
    assert result.ok
    event = await store.get_event("testevent")
    assert event is not None and event.moderation == "post"
    rules = await stores.mod.rules("testevent")
    assert rules.blocked_words == ("spam",) and rules.blocked_tags == ("nope",)
    assert rules.flood_limit == 3 and not rules.hold_duplicates
    assert (await stores.mod.audit("testevent"))[0].reason == "mode post"


async def test_bad_mode_and_missing_event_are_refused(store: Store, stores: Stores) -> None:
    """A mode other than pre/post, or an unknown event, changes nothing."""
    await store.save_event(Event(slug="testevent", title="T"))
    assert (await set_mode(stores, "testevent", "cli", "sometimes")).problem == "invalid"
    assert (await set_mode(stores, "nope", "cli", "post")).problem == "missing"
    event = await store.get_event("testevent")
    assert event is not None and event.moderation == "pre"


async def test_opt_out_add_and_remove(store: Store, stores: Stores) -> None:
    """An author goes on the opt-out list case-folded and comes off it; an empty handle is refused."""
    await store.save_event(Event(slug="testevent", title="T"))
    assert (await opt_out(stores, "testevent", "cli", "@Ada@Example.org", out=True)).ok
    assert await stores.mod.opted_out("testevent") == {"ada@example.org"}
    back = await opt_out(stores, "testevent", "cli", "@ada@example.org", out=False)
    assert back.message == "@ada@example.org is back in."
    assert await stores.mod.opted_out("testevent") == set()
    assert (await opt_out(stores, "testevent", "cli", " @ ", out=True)).problem == "invalid"
