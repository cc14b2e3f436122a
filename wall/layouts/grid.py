"""Grid: rows of posts that fill the screen, newest first."""

from wall.layouts import Layout, register

register(Layout("grid", "rows of posts filling the screen", engine="grid", order=10))
