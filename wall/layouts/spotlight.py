"""Spotlight: one post at a time, large, its photo beside or above the words."""

from wall.layouts import Layout, register

register(Layout("spotlight", "one post at a time, large", cycles=True, fit_photo=True, order=30))
