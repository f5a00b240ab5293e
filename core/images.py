"""Pictures from outside (a phone's proof photo, a business's logo), opened safely: the type
is what Pillow finds in the bytes (not the name or the declared type), the size is capped
before and after decoding, a "decompression bomb" (a tiny file of a huge picture) is refused
unopened, and a truncated or corrupt file fails here. The callers then encode the picture
again (which drops EXIF, GPS tags included, and anything hidden after the image data)."""

from __future__ import annotations

import io
import re
import struct
import warnings

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

#: More pixels than any phone camera has: refused unopened.
MAX_PIXELS = 50_000_000
#: Pixels per byte of file beyond which a large picture is a decompression bomb, not a
#: photo: camera JPEGs carry about 3 pixels a byte, PNG screenshots and the signature pad
#: a few dozen; a few-KB PNG of 7000 x 7000 (400 MB to decode) carries thousands.
MAX_PIXELS_PER_BYTE = 200
#: Below this many pixels, any compression is harmless (at most about 16 MB decoded).
SMALL_PIXELS = 4_000_000


def decode_picture(
    data: bytes,
    *,
    field: str,
    max_bytes: int,
    formats: frozenset[str],
    decode_side: int,
    max_pixels: int = MAX_PIXELS,
) -> Image.Image:
    """The decoded picture in `data`, or a ValidationError on `field`: too large, empty,
    not one of `formats` (Pillow's names), too many pixels, a bomb, truncated or corrupt.
    JPEGs are decoded at the smallest scale that still gives `decode_side` pixels a side
    (the JPEG decoder's own shortcut): a 50 MP photo never fills memory at full size."""
    if len(data) > max_bytes:
        limit = max(1, max_bytes // (1024 * 1024))
        raise ValidationError(
            {field: _("The file is too large (at most %(limit)s MB).") % {"limit": limit}}
        )
    if not data:
        raise ValidationError({field: _("The file is empty.")})
    try:
        with warnings.catch_warnings():  # the pixel count is checked here, not warned about
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
        with probe:
            if probe.format not in formats:
                raise ValidationError({field: _("Send a JPEG, PNG or WebP picture.")})
            pixels = probe.width * probe.height
            if pixels > max_pixels:
                raise ValidationError({field: _("The picture has too many pixels.")})
            if pixels > SMALL_PIXELS and pixels / len(data) > MAX_PIXELS_PER_BYTE:
                raise ValidationError(
                    {field: _("This is not a photo: far too many pixels for its size.")}
                )
            probe.verify()  # checks the structure without decoding every pixel
        image = Image.open(io.BytesIO(data))
        if image.format in ("JPEG", "MPO"):
            image.draft("RGB", (decode_side, decode_side))  # decoded at 1/2 to 1/8 scale
        image.load()  # decodes it all: a truncated or corrupt file fails here
    except ValidationError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ValidationError({field: _("This is not a picture that can be read.")}) from None
    return image


# --- what a picture carries besides its pixels ---------------------------------------------

#: Markup a browser or a script engine would act on, if the file were ever served as
#: something else than the picture it claims to be (a "polyglot").
_MARKUP = re.compile(
    rb"<\s*(?:script|html|svg|iframe|object|embed|body|head|meta|!doctype|\?php|\?xml)\b"
    rb"|javascript:",
    re.IGNORECASE,
)


def _png_end(data: bytes) -> int | None:
    """Where a PNG's IEND chunk ends (None: no IEND, a damaged file)."""
    at = 8
    while at + 12 <= len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        at += 12 + length
        if kind == b"IEND":
            return at
    return None


def _webp_end(data: bytes) -> int:
    (size,) = struct.unpack("<I", data[4:8])
    return 8 + size + (size & 1)


def _jpeg_end(data: bytes) -> int:
    """Where a JPEG's last end-of-image marker ends: what follows it is not picture."""
    return data.rfind(b"\xff\xd9") + 2


def hidden_content(data: bytes, kind: str) -> str | None:
    """What `data` (a picture Pillow read as `kind`) carries besides the picture, or None:
    bytes after the image's end ("trailing") or markup anywhere in it ("markup"). Encoding
    the picture again drops both; a file that carries them is refused all the same, since
    nothing an honest picture editor saves looks like that."""
    if _MARKUP.search(data):
        return "markup"
    if kind == "PNG":
        end = _png_end(data)
    elif kind == "WEBP":
        end = _webp_end(data)
    elif kind in ("JPEG", "MPO"):
        end = _jpeg_end(data)
    else:
        return None
    if end is None or data[end:].strip(b"\x00\r\n\t "):
        return "trailing"
    return None
