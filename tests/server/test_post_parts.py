"""The post's author, text and photo markup is written once and is the same on every screen."""

from __future__ import annotations

from server.render import Renderer
from tests.helpers import post_dict
from wall.models import Post

POST = Post.from_dict(
    post_dict(
        "1",
        author={"handle": "@ada@example.org", "display_name": "Ada", "avatar_url": "/media/a.jpg"},
        language="fr",
        photos=[{"url": "/media/p/x.jpg", "alt": "a cat", "width": 10, "height": 20}],
    )
)
NAMES = (
    '<span class="names"><span class="display-name" dir="auto">Ada</span> '
    '<span class="handle" dir="auto">@ada@example.org</span></span>'
)
TEXT = '<div class="post-text" lang="fr" dir="auto">post 1 #testevent</div>'
PHOTO = '<img src="/media/p/x.jpg" alt="a cat" width="10" height="20"'


def test_every_post_template_shares_the_markup() -> None:
    """The wall's post, the moderator's card and the spotlight show author, text and photo alike."""
    env = Renderer().env
    rendered = {
        "_post.html": env.get_template("_post.html").render(post=POST),
        "_mod_post.html": env.get_template("_mod_post.html").render(
            post=POST, state="pending", reason="", pinned=False, csrf="", slug="e"
        ),
        "_spotlight.html": env.get_template("_spotlight.html").render(post=POST),
    }
    for name, html in rendered.items():
        assert NAMES in html and TEXT in html and PHOTO in html, name
        assert html.count('class="avatar" src="/media/a.jpg"') == 1, name
