"""The demo meetup: a fictional evening of #pyvalley, written by the project.

Each line is (attendee, minutes from the start of the talks, text, photo). Negative minutes
are the build-up; photo names a scene that `ingest.sources.demo_media` draws at run time.
"""

from __future__ import annotations

EVENT_SLUG = "demo"
EVENT_TITLE = "Python Valley Meetup #42"
HASHTAG = "pyvalley"

# (handle, display name, colour)
ATTENDEES: list[tuple[str, str, str]] = [
    ("ada", "Ada Okafor", "#e4572e"),
    ("bruno", "Bruno Lindqvist", "#29335c"),
    ("chen", "Chen Wei", "#f3a712"),
    ("dara", "Dara Ní Bhriain", "#669bbc"),
    ("emil", "Emil Sørensen", "#a8c686"),
    ("fatima", "Fatima Haddad", "#c1121f"),
    ("gus", "Gus Moreira", "#7b2cbf"),
    ("hana", "Hana Kobayashi", "#ff8fab"),
    ("ivo", "Ivo Petrov", "#2a9d8f"),
    ("jules", "Jules Martin", "#e9c46a"),
    ("kemal", "Kemal Arslan", "#264653"),
    ("lea", "Léa Dubois", "#9d4edd"),
]

POSTS: list[tuple[str, int, str, str | None]] = [
    ("ada", -4320, "Three days until #pyvalley 42! Who's coming? 🐍", None),
    ("bruno", -4200, "Signed up for #pyvalley. First meetup since I moved here, say hi!", None),
    (
        "chen",
        -2880,
        "Finished my slides on async generators for #pyvalley. 42 slides, naturally.",
        "slides",
    ),
    (
        "dara",
        -1440,
        "Tomorrow! #pyvalley — doors at 18:30, talks at 19:00, pizza in between.",
        None,
    ),
    ("emil", -1400, "Is there a waiting list for #pyvalley? Asking for my whole team.", None),
    ("fatima", -600, "Booked the 17:52 train so I make it to #pyvalley on time for once.", None),
    ("gus", -180, "Packing the stickers for #pyvalley. So many stickers.", "stickers"),
    (
        "hana",
        -90,
        "On the train to #pyvalley with @ivo, debating tabs vs spaces. Spaces are winning.",
        "train",
    ),
    ("ivo", -85, "Correction: spaces have won. #pyvalley", None),
    ("jules", -60, "Leaving the office now. Save me a slice #pyvalley", None),
    ("kemal", -45, "The venue is filling up already #pyvalley", "room"),
    ("lea", -40, "Première fois à #pyvalley ! Bonjour tout le monde 👋", None),
    ("ada", -30, "Name badges are at the door, grab a marker #pyvalley", "badges"),
    ("bruno", -25, "Found the pizza. Found the people. Found a seat. #pyvalley", "pizza"),
    ("chen", -15, "Mic check, one two. Slides are up. Nervous? Me? #pyvalley", "stage"),
    ("dara", -5, "Full house tonight! Welcome everyone to #pyvalley 42 🎉", "room"),
    (
        "emil",
        2,
        "Dara opening #pyvalley: 'we started with six people in a café'. Now look at us.",
        None,
    ),
    (
        "fatima",
        5,
        "First talk: Chen on async generators. The room is quiet in the good way. #pyvalley",
        "stage",
    ),
    ("gus", 9, '"An async generator is a conversation, not a list." — Chen at #pyvalley', None),
    ("hana", 12, "Live-coding at #pyvalley and the demo worked first time. Witchcraft.", "slides"),
    (
        "ivo",
        15,
        "Taking notes: aclosing() is your friend when you break out of an async for. #pyvalley",
        None,
    ),
    ("jules", 18, "Made it! Missed the first ten minutes, the train had opinions. #pyvalley", None),
    (
        "kemal",
        21,
        "Great question from the back about backpressure. Bounded queues, people! #pyvalley",
        None,
    ),
    ("lea", 24, "J'adore l'ambiance ici. Merci pour l'accueil #pyvalley", None),
    ("ada", 27, "Applause for Chen! Slides will be on the meetup page #pyvalley", "room"),
    (
        "bruno",
        30,
        "Break time at #pyvalley. The queue for coffee is an async generator too.",
        "coffee",
    ),
    (
        "chen",
        33,
        "Thank you all for listening! Code from my talk: https://example.org/chen/agen #pyvalley",
        None,
    ),
    (
        "dara",
        35,
        "Second talk starting in 5 minutes: Fatima on type hints in old code #pyvalley",
        None,
    ),
    (
        "emil",
        38,
        "Met three people who also maintain a 15-year-old Django app. Support group formed. #pyvalley",
        None,
    ),
    ("fatima", 40, "Here we go! Typing a legacy codebase one module at a time. #pyvalley", "stage"),
    (
        "gus",
        43,
        '"Start with the functions everyone calls and nobody trusts." — Fatima #pyvalley',
        None,
    ),
    (
        "hana",
        46,
        "mypy --strict on day one is a trap, says Fatima, and the room nods in pain. #pyvalley",
        None,
    ),
    ("ivo", 49, "Sketch of tonight's ideas at #pyvalley", "sketch"),
    ("jules", 52, "Stealing the 'typed islands' idea for work tomorrow #pyvalley", None),
    ("kemal", 55, "Q&A at #pyvalley going strong, Fatima handling it like a champ", "room"),
    (
        "lea",
        58,
        "Les annotations de type, enfin expliquées clairement. Bravo Fatima ! #pyvalley",
        None,
    ),
    ("ada", 61, "Lightning talks next! Three volunteers, five minutes each #pyvalley", None),
    (
        "bruno",
        64,
        "Lightning talk 1: a Raspberry Pi that waters plants and tweets... I mean posts. #pyvalley",
        "plants",
    ),
    (
        "chen",
        68,
        "Lightning talk 2: pattern matching for config files. Didn't know you could do that. #pyvalley",
        None,
    ),
    (
        "dara",
        72,
        "Lightning talk 3: Kemal's 'one weird trick' for faster test suites. It's fixtures. #pyvalley",
        None,
    ),
    ("emil", 75, "Group photo time! Everyone squeeze in #pyvalley", "group"),
    ("fatima", 78, "Thank you #pyvalley for the lovely questions. Slides coming tonight.", None),
    ("gus", 80, "Stickers are all gone. You people are wonderful #pyvalley", "stickers"),
    ("hana", 83, "Best meetup yet. The energy tonight was something else #pyvalley", None),
    ("ivo", 86, "Shout-out to the hosts for the venue and the pizza #pyvalley", None),
    (
        "jules",
        90,
        "Walking to the station with half the room. The conversation continues #pyvalley",
        None,
    ),
    (
        "kemal",
        95,
        "My slides: https://example.org/kemal/fixtures — thanks for having me #pyvalley",
        None,
    ),
    ("lea", 100, "Merci #pyvalley ! Je reviens le mois prochain, c'est sûr.", None),
    (
        "ada",
        110,
        "Thank you speakers, volunteers and all 80 of you. #pyvalley 43 is on the 14th of next month!",
        "room",
    ),
    (
        "bruno",
        120,
        "Home. Still buzzing from #pyvalley. Going to try async generators this weekend.",
        None,
    ),
    ("chen", 140, "Slides and recording are up. Thanks again #pyvalley ❤️", None),
    (
        "dara",
        180,
        "Numbers from tonight: 80 people, 3 talks, 24 pizzas, 0 bugs in the live demos. #pyvalley",
        None,
    ),
    (
        "emil",
        600,
        "Morning after #pyvalley: already refactored a module with the typed-islands approach.",
        None,
    ),
    ("fatima", 720, "So many kind messages since last night. This community! #pyvalley", None),
    ("gus", 900, "Who wants to give a lightning talk at #pyvalley 43? DM the organizers!", None),
    ("hana", 1000, "Wrote up my notes from #pyvalley on my blog, async gens + typing", None),
    ("ivo", 1200, "The group photo from #pyvalley is my new desktop background", "group"),
    ("jules", 1440, "Already counting down to #pyvalley 43 📅", None),
    (
        "kemal",
        1500,
        "Test suite went from 9 minutes to 2 with the fixture trick. Thanks #pyvalley!",
        None,
    ),
    ("lea", 1600, "Rendez-vous le 14 pour #pyvalley 43 !", None),
]
