"""Pictures for the demo, drawn with Pillow at run time: nothing is downloaded."""

from __future__ import annotations

import hashlib
import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

AVATAR_SIZE = 128
LANDSCAPE, PORTRAIT, SQUARE, WIDE = (1200, 800), (800, 1200), (1000, 1000), (1400, 700)

# scene: (composition, size, palette of three colours: background, middle, accent)
SCENES: dict[str, tuple[str, tuple[int, int], tuple[str, str, str]]] = {
    "room": ("crowd", WIDE, ("#1d3557", "#457b9d", "#e63946")),
    "stage": ("stage", LANDSCAPE, ("#10002b", "#5a189a", "#e0aaff")),
    "slides": ("slides", LANDSCAPE, ("#0b132b", "#1c2541", "#fcbf49")),
    "pizza": ("pizza", SQUARE, ("#6a040f", "#f48c06", "#ffba08")),
    "badges": ("badge", PORTRAIT, ("#184e77", "#76c893", "#d9ed92")),
    "stickers": ("stickers", SQUARE, ("#3a0ca3", "#f72585", "#4cc9f0")),
    "train": ("train", PORTRAIT, ("#2b2d42", "#8d99ae", "#ef233c")),
    "coffee": ("coffee", PORTRAIT, ("#432818", "#99582a", "#ffe6a7")),
    "sketch": ("sketch", LANDSCAPE, ("#f8f9fa", "#adb5bd", "#1d4ed8")),
    "plants": ("plants", PORTRAIT, ("#081c15", "#2d6a4f", "#95d5b2")),
    "group": ("group", WIDE, ("#240046", "#ff6d00", "#ff9e00")),
}
_VERSION = "2"  # in the file name: a change of drawing is a new file, not a stale cached one


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.lstrip("#"), 16)
    return (value >> 16) & 255, (value >> 8) & 255, value & 255


def _gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    base = Image.new("RGB", size, top)
    overlay = Image.new("RGB", size, bottom)
    mask = Image.linear_gradient("L").resize(size)
    return Image.composite(overlay, base, mask)


def _person(draw: ImageDraw.ImageDraw, x: float, y: float, r: float, fill: tuple[int, ...]) -> None:
    """Head and shoulders, seen from behind in a crowd or facing the camera in a group."""
    draw.ellipse((x - r, y - r, x + r, y + r), fill=fill)
    draw.rounded_rectangle((x - r * 1.7, y + r * 1.1, x + r * 1.7, y + r * 4.5), int(r), fill=fill)


def _crowd(draw: ImageDraw.ImageDraw, rng: random.Random, size: tuple[int, int], tint: str) -> None:
    width, height = size
    r, g, b = _rgb(tint)
    for row in range(4):  # back rows small and dim, front rows large and dark
        depth = (row + 1) / 4
        for _ in range(10 + row * 3):
            x = rng.uniform(-40, width + 40)
            y = height * (0.45 + 0.14 * row) + rng.uniform(-20, 20)
            shade = 0.55 - 0.4 * depth
            fill = (int(r * shade + 10), int(g * shade + 10), int(b * shade + 16))
            _person(draw, x, y, 18 + 26 * depth, fill)


def _compose(
    kind: str, image: Image.Image, rng: random.Random, palette: tuple[str, str, str]
) -> None:
    draw = ImageDraw.Draw(image)
    width, height = image.size
    _, middle, accent = palette
    if kind == "crowd":
        draw.rectangle((width * 0.3, height * 0.08, width * 0.7, height * 0.38), fill=_rgb(accent))
        _crowd(draw, rng, image.size, middle)
    elif kind == "stage":
        draw.polygon(
            [(width * 0.45, 0), (width * 0.55, 0), (width * 0.75, height), (width * 0.25, height)],
            fill=_rgb(middle),
        )
        draw.rectangle((0, height * 0.78, width, height), fill=(20, 10, 30))
        _person(draw, width * 0.5, height * 0.42, 46, (15, 10, 25))
        draw.rectangle((width * 0.47, height * 0.5, width * 0.53, height * 0.78), fill=_rgb(accent))
    elif kind == "slides":
        draw.rectangle(
            (width * 0.1, height * 0.08, width * 0.9, height * 0.62), fill=(245, 245, 240)
        )
        code = ["async for talk in evening:", "    yield await talk", "# 42 slides, naturally"]
        for i, line in enumerate(code):
            draw.text(
                (width * 0.15, height * (0.16 + 0.12 * i)), line, font=_font(54), fill=(30, 30, 60)
            )
        _crowd(draw, rng, image.size, middle)
    elif kind == "pizza":
        for _ in range(3):
            cx, cy, r = (
                rng.uniform(200, width - 200),
                rng.uniform(200, height - 200),
                rng.uniform(150, 230),
            )
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(214, 150, 60))
            draw.ellipse(
                (cx - r * 0.88, cy - r * 0.88, cx + r * 0.88, cy + r * 0.88), fill=_rgb(middle)
            )
            for _ in range(9):
                a, d = rng.uniform(0, 6.28), rng.uniform(0, r * 0.7)
                px, py = cx + d * math.cos(a), cy + d * math.sin(a)
                draw.ellipse((px - 22, py - 22, px + 22, py + 22), fill=(150, 20, 30))
    elif kind == "badge":
        draw.rounded_rectangle(
            (width * 0.12, height * 0.3, width * 0.88, height * 0.7), 30, fill=(250, 250, 250)
        )
        draw.rectangle((width * 0.12, height * 0.3, width * 0.88, height * 0.4), fill=_rgb(middle))
        draw.text(
            (width * 0.18, height * 0.32), "HELLO my name is", font=_font(48), fill=(255, 255, 255)
        )
        draw.text((width * 0.2, height * 0.5), "Ada", font=_font(110), fill=(20, 20, 20))
    elif kind == "stickers":
        for _ in range(16):
            cx, cy, r = rng.uniform(0, width), rng.uniform(0, height), rng.uniform(50, 140)
            colour = _rgb(rng.choice((*palette[1:], "#ffd60a", "#06d6a0", "#ffffff")))
            if rng.random() < 0.5:
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
            else:
                draw.rounded_rectangle(
                    (cx - r, cy - r * 0.7, cx + r, cy + r * 0.7), 24, fill=colour
                )
    elif kind == "train":
        for i in range(3):
            top = height * (0.1 + 0.3 * i)
            draw.rounded_rectangle(
                (width * 0.08, top, width * 0.92, top + height * 0.22), 40, fill=_rgb(middle)
            )
            draw.rectangle(
                (width * 0.08, top + height * 0.1, width * 0.92, top + height * 0.12),
                fill=_rgb(accent),
            )
    elif kind == "coffee":
        draw.ellipse(
            (width * 0.15, height * 0.35, width * 0.85, height * 0.75), fill=(240, 240, 235)
        )
        draw.ellipse((width * 0.22, height * 0.4, width * 0.78, height * 0.7), fill=_rgb(middle))
        draw.arc(
            (width * 0.3, height * 0.47, width * 0.7, height * 0.63),
            200,
            340,
            fill=_rgb(accent),
            width=14,
        )
    elif kind == "sketch":
        for _ in range(7):
            x0, y0 = rng.uniform(60, width * 0.6), rng.uniform(60, height - 200)
            draw.rounded_rectangle(
                (x0, y0, x0 + rng.uniform(180, 380), y0 + 120), 18, outline=_rgb(accent), width=8
            )
        for _ in range(5):
            draw.line(
                [(rng.uniform(0, width), rng.uniform(0, height)) for _ in range(3)],
                fill=_rgb(middle),
                width=6,
            )
    elif kind == "plants":
        for _ in range(12):
            x, y = rng.uniform(0, width), rng.uniform(height * 0.2, height)
            r = rng.uniform(60, 160)
            colour = _rgb(rng.choice(palette[1:]))
            draw.ellipse((x - r * 0.4, y - r, x + r * 0.4, y + r), fill=colour)
        draw.rectangle((width * 0.3, height * 0.8, width * 0.7, height), fill=(120, 70, 40))
    elif kind == "group":
        for row in range(2):
            for i in range(9 - row):
                x = width * (0.08 + 0.105 * i + 0.05 * row)
                tone = rng.randrange(60, 200)
                _person(
                    draw,
                    x,
                    height * (0.35 + 0.22 * row),
                    44,
                    (tone, int(tone * 0.8), int(tone * 0.6)),
                )


def draw_scene(scene: str) -> Image.Image:
    """A recognisable, deterministic picture for a scene of the evening: each its own
    composition, colours and shape (landscape, portrait or square)."""
    kind, size, palette = SCENES[scene]
    image = _gradient(size, palette[0], palette[1] if kind != "sketch" else palette[0])
    _compose(kind, image, random.Random(scene), palette)
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
    digest = hashlib.sha1(f"{scene}:{_VERSION}".encode()).hexdigest()[:8]
    name = f"demo/{scene}-{digest}.jpg"
    path = media_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draw_scene(scene).save(path, "JPEG", quality=82, optimize=True)
    width, height = SCENES[scene][1]
    return name, width, height


def ensure_avatar(media_dir: Path, handle: str, display_name: str, colour: str) -> str:
    """Write an attendee's avatar PNG once; return its media path."""
    name = f"demo/avatar-{handle}.png"
    path = media_dir / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        initials = "".join(part[0] for part in display_name.split()[:2]).upper()
        draw_avatar(initials, colour).save(path, "PNG")
    return name
