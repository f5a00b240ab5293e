"""Pictures from phones, made safe to keep and show: the type is what Pillow finds in the
bytes (not the name or the declared type), the size is capped before and after decoding,
and the picture is decoded and encoded again (which drops EXIF, GPS tags included, and
anything hidden after the image data), turned upright and scaled down."""

from __future__ import annotations

import base64
import binascii
import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from core.images import MAX_PIXELS, decode_picture

#: What phones send: JPEG (most cameras), PNG (screenshots, the signature pad), WebP.
PHOTO_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO"})
PHOTO_MAX_SIDE = 1600
SIGNATURE_MAX_SIDE = 800
#: JPEGs are decoded at the smallest scale that still gives this many pixels a side
#: (the JPEG decoder's own shortcut): a 50 MP photo never fills memory at full size.
DECODE_SIDE = 2 * PHOTO_MAX_SIDE


def _decode(data: bytes, field: str) -> Image.Image:
    return decode_picture(
        data,
        field=field,
        max_bytes=settings.PROOF_MAX_UPLOAD_BYTES,
        formats=PHOTO_FORMATS,
        decode_side=DECODE_SIDE,
        max_pixels=MAX_PIXELS,
    )


def photo_clean(data: bytes, field: str = "photo") -> ContentFile:
    """A JPEG of at most PHOTO_MAX_SIDE pixels a side, upright, with no metadata."""
    image = ImageOps.exif_transpose(_decode(data, field))
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=True)
    return ContentFile(out.getvalue(), name="photo.jpg")


def signature_clean(value: bytes | str, field: str = "signature") -> ContentFile:
    """The signature pad's PNG (raw, or a `data:image/png;base64,` URL): dark strokes on
    white, at most SIGNATURE_MAX_SIDE pixels a side; a blank pad is no signature."""
    if isinstance(value, str):
        head, _comma, payload = value.partition(",")
        if not head.startswith("data:image/") or ";base64" not in head:
            raise ValidationError({field: _("Send the signature as a PNG image.")})
        try:
            value = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError({field: _("The signature could not be read.")}) from None
    image = _decode(value, field).convert("RGBA")
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    grey = flat.convert("L")
    if grey.getextrema()[0] > 200:  # nothing darker than light grey: nothing was drawn
        raise ValidationError({field: _("The signature is empty.")})
    grey.thumbnail((SIGNATURE_MAX_SIDE, SIGNATURE_MAX_SIDE))
    out = io.BytesIO()
    grey.save(out, "PNG", optimize=True)
    return ContentFile(out.getvalue(), name="signature.png")
