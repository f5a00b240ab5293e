"""Pictures from phones, made safe to keep and show: the type is what Pillow finds in the
bytes (not the name or the declared type), the size is capped before and after decoding,
and the picture is decoded and encoded again (which drops EXIF, GPS tags included, and
anything hidden after the image data), turned upright and scaled down."""

from __future__ import annotations

import base64
import binascii
import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from PIL import Image, ImageOps, UnidentifiedImageError

#: What phones send: JPEG (most cameras), PNG (screenshots, the signature pad), WebP.
PHOTO_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "MPO"})
PHOTO_MAX_SIDE = 1600
SIGNATURE_MAX_SIDE = 800
#: More pixels than any phone camera has: a "decompression bomb" is refused unopened.
MAX_PIXELS = 50_000_000
#: Pixels per byte of file beyond which a large picture is a decompression bomb, not a
#: photo: camera JPEGs carry about 3 pixels a byte, PNG screenshots and the signature pad
#: a few dozen; a few-KB PNG of 7000 x 7000 (400 MB to decode) carries thousands.
MAX_PIXELS_PER_BYTE = 200
#: Below this many pixels, any compression is harmless (at most about 16 MB decoded).
SMALL_PIXELS = 4_000_000
#: JPEGs are decoded at the smallest scale that still gives this many pixels a side
#: (the JPEG decoder's own shortcut): a 50 MP photo never fills memory at full size.
DECODE_SIDE = 2 * PHOTO_MAX_SIDE


def _decode(data: bytes, field: str) -> Image.Image:
    if len(data) > settings.PROOF_MAX_UPLOAD_BYTES:
        limit = settings.PROOF_MAX_UPLOAD_BYTES // (1024 * 1024)
        raise ValidationError({field: f"The file is too large (at most {limit} MB)."})
    if not data:
        raise ValidationError({field: "The file is empty."})
    try:
        with warnings.catch_warnings():  # the pixel count is checked here, not warned about
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
        with probe:
            kind = probe.format
            if kind not in PHOTO_FORMATS:
                raise ValidationError({field: "Send a JPEG, PNG or WebP picture."})
            pixels = probe.width * probe.height
            if pixels > MAX_PIXELS:
                raise ValidationError({field: "The picture has too many pixels."})
            if pixels > SMALL_PIXELS and pixels / len(data) > MAX_PIXELS_PER_BYTE:
                raise ValidationError(
                    {field: "This is not a photo: far too many pixels for its size."}
                )
            probe.verify()  # checks the structure without decoding every pixel
        image = Image.open(io.BytesIO(data))
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (DECODE_SIDE, DECODE_SIDE))  # decoded at 1/2 to 1/8 scale
        image.load()  # decodes it all: a truncated or corrupt file fails here
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({field: "This is not a picture that can be read."}) from None
    return image


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
        head, _, payload = value.partition(",")
        if not head.startswith("data:image/") or ";base64" not in head:
            raise ValidationError({field: "Send the signature as a PNG image."})
        try:
            value = base64.b64decode(payload, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError({field: "The signature could not be read."}) from None
    image = _decode(value, field).convert("RGBA")
    flat = Image.new("RGB", image.size, "white")
    flat.paste(image, mask=image.getchannel("A"))
    grey = flat.convert("L")
    if grey.getextrema()[0] > 200:  # nothing darker than light grey: nothing was drawn
        raise ValidationError({field: "The signature is empty."})
    grey.thumbnail((SIGNATURE_MAX_SIDE, SIGNATURE_MAX_SIDE))
    out = io.BytesIO()
    grey.save(out, "PNG", optimize=True)
    return ContentFile(out.getvalue(), name="signature.png")
