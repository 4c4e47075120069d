"""Photos residents attach to a report: checked to be real images of a sensible size, stored under
var/uploads (readable by the product's user only)."""

from __future__ import annotations

import io
import os
import uuid
from pathlib import Path

from aiohttp import web
from PIL import Image, UnidentifiedImageError

from bot.errors import NotAPhoto

MAX_BYTES = 5 * 1024 * 1024
MAX_PIXELS = 40_000_000  # a 40-megapixel phone photo; a "bomb" claims far more in a few bytes
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
VAR_DIR_KEY = web.AppKey("var_dir", Path)


def photo_dir(var: Path) -> Path:
    path = var / "uploads"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def image_extension(data: bytes) -> str:
    """The file extension for real image bytes of at most MAX_PIXELS; NotAPhoto otherwise. The size
    is read from the header before any pixel is decoded."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise NotAPhoto(f"照片像素太大了（{width}×{height}），请上传 4000 万像素以内的照片", status=413)
            image.verify()
    except NotAPhoto:
        raise
    except Image.DecompressionBombError as error:
        raise NotAPhoto("照片像素太大了，请上传 4000 万像素以内的照片", status=413) from error
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
        raise NotAPhoto("只能上传 JPG、PNG、WEBP 或 GIF 图片") from error
    if kind not in FORMATS:
        raise NotAPhoto("只能上传 JPG、PNG、WEBP 或 GIF 图片")
    return FORMATS[kind]


async def upload_photo(request: web.Request) -> web.Response:
    """Answers the photo's address, or (NotAPhoto, through the app's error middleware) why not."""
    if not request.content_type.startswith("multipart/form-data"):
        raise NotAPhoto("请用表单上传照片（multipart/form-data，字段名 photo）", status=400)
    try:
        reader = await request.multipart()
        field = await reader.next()
    except (ValueError, AssertionError, KeyError) as error:  # a body that is not the multipart it claims
        raise NotAPhoto("上传的内容不完整，请重新选择照片", status=400) from error
    if field is None or getattr(field, "name", None) != "photo" or not hasattr(field, "read_chunk"):
        raise NotAPhoto("请选择一张照片上传", status=400)
    data = bytearray()
    while chunk := await field.read_chunk(64 * 1024):
        data.extend(chunk)
        if len(data) > MAX_BYTES:
            raise NotAPhoto("照片太大了，请上传 5MB 以内的图片", status=413)
    return web.json_response({"url": store_photo(request.app[VAR_DIR_KEY], bytes(data))}, status=201)


def store_photo(var: Path, data: bytes) -> str:
    """Checks the bytes (size, kind, pixels: NotAPhoto says what is wrong) and keeps them; the
    photo's address. Channels that fetch a photo themselves (WeChat) keep it here too."""
    if not data:
        raise NotAPhoto("照片是空的，请重新选择", status=400)
    if len(data) > MAX_BYTES:
        raise NotAPhoto("照片太大了，请上传 5MB 以内的图片", status=413)
    extension = image_extension(data)
    name = f"{uuid.uuid4().hex}.{extension}"
    fd = os.open(photo_dir(var) / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return f"/photos/{name}"


def forget_photo(var: Path, url: str) -> None:
    """A photo kept for a report that was then not filed."""
    (photo_dir(var) / Path(url).name).unlink(missing_ok=True)
