"""Mosaic: posts of different sizes packed edge to edge, photos large."""

from wall.layouts import Layout, register

register(Layout("mosaic", "posts of varied sizes packed edge to edge", engine="mosaic", order=20))
