"""Photos residents attach to a report: checked to be real images, stored under var/uploads."""
from __future__ import annotations

import io
import uuid
from pathlib import Path

from aiohttp import web
from PIL import Image, UnidentifiedImageError


MAX_BYTES = 5 * 1024 * 1024
FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}
VAR_DIR_KEY = web.AppKey("var_dir", Path)


def photo_dir(var: Path) -> Path:
    path = var / "uploads"
    path.mkdir(parents=True, exist_ok=True)
    return path


def image_extension(data: bytes) -> str:
    """The file extension for real image bytes; ValueError for anything else."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            kind = image.format
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError("not an image") from error
    if kind not in FORMATS:
        raise ValueError(f"unsupported image format {kind}")
    return FORMATS[kind]


async def upload_photo(request: web.Request) -> web.Response:
    reader = await request.multipart()
    field = await reader.next() if reader else None
    if field is None or field.name != "photo":
        return web.json_response({"error": "请选择一张照片上传"}, status=400)
    data = bytearray()
    while chunk := await field.read_chunk(64 * 1024):
        data.extend(chunk)
        if len(data) > MAX_BYTES:
            return web.json_response({"error": "照片太大了，请上传 5MB 以内的图片"}, status=413)
    try:
        extension = image_extension(bytes(data))
    except ValueError:
        return web.json_response({"error": "只能上传 JPG、PNG、WEBP 或 GIF 图片"}, status=415)
    name = f"{uuid.uuid4().hex}.{extension}"
    (photo_dir(request.app[VAR_DIR_KEY]) / name).write_bytes(data)
    return web.json_response({"url": f"/photos/{name}"}, status=201)
