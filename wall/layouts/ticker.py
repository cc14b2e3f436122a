"""Ticker: one line at a time along the bottom, for a screen that shows something else."""

from wall.layouts import Layout, register

register(Layout("ticker", "one post at a time in a band", cycles=True, order=40))
