"""Pictures for the demo, drawn with Pillow at run time: nothing is downloaded."""

from __future__ import annotations

import hashlib
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

PHOTO_SIZE = (1200, 800)
AVATAR_SIZE = 128

SCENES: dict[str, tuple[str, str, str]] = {
    # scene: (top colour, bottom colour, caption)
    "room": ("#1d3557", "#e63946", "A full room"),
    "stage": ("#10002b", "#e0aaff", "On stage"),
    "slides": ("#003049", "#fcbf49", "def agen(): yield"),
    "pizza": ("#6a040f", "#ffba08", "Pizza o'clock"),
    "badges": ("#184e77", "#99d98c", "Hello, my name is"),
    "stickers": ("#3a0ca3", "#f72585", "Stickers!"),
    "train": ("#2b2d42", "#8d99ae", "17:52 to the meetup"),
    "coffee": ("#432818", "#bb9457", "Coffee break"),
    "sketch": ("#f8f9fa", "#adb5bd", "Typed islands"),
    "plants": ("#081c15", "#74c69d", "Plant-o-matic"),
    "group": ("#240046", "#ff9e00", "Group photo"),
}


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    base = Image.new("RGB", size, top)
    overlay = Image.new("RGB", size, bottom)
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(overlay, base, mask)


def draw_scene(scene: str) -> Image.Image:
    """A recognisable, deterministic picture for a scene of the evening."""
    top, bottom, caption = SCENES[scene]
    image = _gradient(PHOTO_SIZE, top, bottom)
    draw = ImageDraw.Draw(image)
    rng = random.Random(scene)
    width, height = PHOTO_SIZE
    # Heads and shoulders of a crowd, or shapes on a stage: circles and rounded blocks.
    for _ in range(28):
        x, y = rng.randrange(0, width), rng.randrange(height // 3, height)
        r = rng.randrange(20, 70)
        shade = rng.randrange(20, 90)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(shade, shade, shade + 20))
        draw.rounded_rectangle(
            (x - r * 1.6, y + r, x + r * 1.6, y + r * 4), 30, fill=(shade, shade, shade)
        )
    draw.rounded_rectangle((60, 60, width - 60, 220), 24, fill=(0, 0, 0))
    draw.text((100, 95), caption, font=_font(84), fill=(255, 255, 255))
    return image


def draw_avatar(initials: str, colour: str) -> Image.Image:
    """A round avatar with initials on the attendee's colour."""
    image = Image.new("RGB", (AVATAR_SIZE, AVATAR_SIZE), colour)
    draw = ImageDraw.Draw(image)
    font = _font(56)
    box = draw.textbbox((0, 0), initials, font=font)
    x = (AVATAR_SIZE - (box[2] - box[0])) / 2 - box[0]
    y = (AVATAR_SIZE - (box[3] - box[1])) / 2 - box[1]
    draw.text((x, y), initials, font=font, fill=(255, 255, 255))
    return image


def ensure_scene(media_dir: Path, scene: str) -> tuple[str, int, int]:
    """Write a scene's JPEG once; return its media path and size."""
    name = f"demo/{scene}-{hashlib.sha1(scene.encode()).hexdigest()[:8]}.jpg"
    path = media_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_scene(scene).save(path, "JPEG", quality=82, optimize=True)
    return name, *PHOTO_SIZE


def ensure_avatar(media_dir: Path, handle: str, display_name: str, colour: str) -> str:
    """Write an attendee's avatar PNG once; return its media path."""
    name = f"demo/avatar-{handle}.png"
    path = media_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        initials = "".join(part[0] for part in display_name.split()[:2]).upper()
        draw_avatar(initials, colour).save(path, "PNG")
    return name
