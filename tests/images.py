"""Real images for tests, good and hostile, and a file server on loopback that serves them."""

from __future__ import annotations

import asyncio
import io
import struct
import zlib
from collections.abc import AsyncIterator

from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route


def jpeg(size: tuple[int, int] = (64, 32), exif: Image.Exif | None = None) -> bytes:
    """A small real JPEG, optionally carrying EXIF."""
    image = Image.new("RGB", size, (200, 30, 30))
    image.paste((30, 30, 200), (0, 0, size[0] // 2, size[1]))  # left half blue
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif if exif is not None else Image.Exif())
    return out.getvalue()


def gps_exif() -> Image.Exif:
    """EXIF with a GPS position, a camera model and orientation 6 (rotate 90° clockwise)."""
    exif = Image.Exif()
    exif[0x0110] = "SpyCam 3000"  # Model
    exif[0x0112] = 6  # Orientation
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 24.0)
    gps[3] = "E"
    gps[4] = (2.0, 21.0, 3.0)
    return exif


def png_bomb(width: int = 60_000, height: int = 60_000) -> bytes:
    """A tiny PNG whose header claims billions of pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (width + 1) * 16, 9)  # a few rows of zeros
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


async def _endless_slow() -> AsyncIterator[bytes]:
    while True:
        yield b"\xff" * 10
        await asyncio.sleep(0.05)


async def _endless_fast() -> AsyncIterator[bytes]:
    while True:
        yield b"\xff" * 65536
        await asyncio.sleep(0)


def files_app() -> Starlette:
    """A file server with good and hostile images, all claiming to be JPEG."""
    good = jpeg()
    bodies = {
        "good.jpg": good,
        "gps.jpg": jpeg((80, 40), gps_exif()),
        "truncated.jpg": good[: len(good) // 2],
        "script.jpg": b"<script>alert('pwned')</script>\n",
        "bomb.jpg": png_bomb(),
    }

    async def file(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "endless-slow.jpg":
            return StreamingResponse(_endless_slow(), media_type="image/jpeg")
        if name == "endless-fast.jpg":
            return StreamingResponse(_endless_fast(), media_type="image/jpeg")
        if name not in bodies:
            return Response("no", 404)
        return Response(bodies[name], media_type="image/jpeg")

    return Starlette(routes=[Route("/{name}", file)])
