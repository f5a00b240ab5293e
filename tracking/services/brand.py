"""The business's own look on its customers' tracking page, its emails and its driver app:
a brand colour (headers), an accent colour (buttons, the map's path) and a logo.

Colours: the text on each is chosen here, white or near-black, whichever contrasts more
(WCAG 2 relative luminance). A colour on which neither reaches 4.5:1 (WCAG AA for body
text) is refused rather than warned about: the customer reading the page is not the owner
who chose it, and nothing the owner could see later would tell them it is unreadable.

Logo: PNG, JPEG or WebP, opened by `core.images` as proof photos are (the bytes decide the
type; size, pixels and decompression bombs capped), and refused besides when its name or
declared type says another type than its bytes, when it is animated (the first frame of an
animation is often a blank fade-in: the owner gets what they see), or when it carries
markup or bytes after the image (a polyglot). It is encoded again as a PNG of at most
LOGO_BOX pixels (transparency kept, metadata dropped) and stored per tenant under a name
holding its content hash, so it can be cached for ever and a new logo shows at once.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from core.images import decode_picture, hidden_content
from tracking.models import TrackingSettings
from tracking.selectors import tracking_settings

LOGO_MAX_BYTES = 2 * 1024 * 1024
#: The logo is scaled down to fit this box: wide enough for a word mark in a header.
LOGO_BOX = (512, 256)
#: A logo needs no more pixels than this to start with (5000 x 5000).
LOGO_MAX_PIXELS = 25_000_000
LOGO_FORMATS = frozenset({"PNG", "JPEG", "MPO", "WEBP"})
#: What a name's extension and a declared content type may say, and the format each means
#: (MPO is a camera's JPEG with a second picture inside: a JPEG all the same).
_EXTENSIONS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}
_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/jpg": "JPEG", "image/webp": "WEBP"}
_NAMES = {"PNG": "PNG", "JPEG": "JPEG", "MPO": "JPEG", "WEBP": "WebP"}

TEXT_LIGHT = "#ffffff"
TEXT_DARK = "#111111"
#: WCAG 2.x level AA for normal text.
MIN_CONTRAST = 4.5


# --- colours ---------------------------------------------------------------------------------


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(colour: str) -> float:
    """WCAG 2 relative luminance of `#rrggbb` (0 black, 1 white)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(one: str, other: str) -> float:
    """WCAG 2 contrast ratio of two `#rrggbb` colours, from 1 to 21."""
    a, b = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def text_on(colour: str) -> str:
    """The text colour that reads best on `colour`: white or near-black."""
    if contrast_ratio(colour, TEXT_LIGHT) >= contrast_ratio(colour, TEXT_DARK):
        return TEXT_LIGHT
    return TEXT_DARK


def colour_problem(colour: str) -> str | None:
    """Why `colour` cannot be a background for text (None: it can)."""
    best = contrast_ratio(colour, text_on(colour))
    if best >= MIN_CONTRAST:
        return None
    return _(
        "Neither white nor dark text is readable enough on %(colour)s (best %(ratio)s:1, "
        "at least %(minimum)s:1 needed): choose a lighter or a darker shade."
    ) % {"colour": colour, "ratio": ratio_text(best), "minimum": MIN_CONTRAST}


def ratio_text(ratio: float) -> str:
    """A contrast ratio to one decimal, rounded down: 4.48 is not shown as a passing 4.5."""
    return f"{math.floor(ratio * 10) / 10:.1f}"


# --- what the pages show ------------------------------------------------------------------------


@dataclass(frozen=True)
class Brand:
    """What a page, an email or the driver app shows of the business."""

    business: str
    colour: str
    colour_text: str
    accent: str
    accent_text: str
    logo: str  # its name in storage; empty: none
    logo_width: int
    logo_height: int

    @property
    def logo_hash(self) -> str:
        """The content hash in the logo's name (what its URLs carry)."""
        return logo_hash(self.logo)


def _colour_or_default(value: str, field: str) -> str:
    """A stored colour as pages may put it in a style: `#rrggbb`, else the default (a row
    written around the model's validation must not reach a page's CSS)."""
    if re.fullmatch(r"#[0-9a-fA-F]{6}", value or ""):
        return value.lower()
    return TrackingSettings._meta.get_field(field).default


def brand_of(row: TrackingSettings, *, business: str) -> Brand:
    colour = _colour_or_default(row.brand_colour, "brand_colour")
    accent = _colour_or_default(row.accent_colour, "accent_colour")
    return Brand(
        business=business,
        colour=colour,
        colour_text=text_on(colour),
        accent=accent,
        accent_text=text_on(accent),
        logo=row.logo,
        logo_width=row.logo_width,
        logo_height=row.logo_height,
    )


def current_brand(*, business: str) -> Brand:
    """The brand of the tenant whose schema is active."""
    return brand_of(tracking_settings(), business=business)


def logo_hash(name: str) -> str:
    stem = os.path.splitext(os.path.basename(name))[0]
    return stem.removeprefix("logo-") if name else ""


# --- the logo ---------------------------------------------------------------------------------


def _declared(upload: Any) -> tuple[str | None, str | None, str]:
    """The formats the upload's name and declared type claim, and the name."""
    name = str(getattr(upload, "name", "") or "")
    extension = os.path.splitext(name)[1].lower()
    content_type = str(getattr(upload, "content_type", "") or "").split(";")[0].strip().lower()
    if extension == ".svg" or content_type == "image/svg+xml":
        raise ValidationError(
            {
                "logo": _(
                    "SVG logos are not accepted (they can carry scripts): send a PNG, JPEG or WebP."
                )
            }
        )
    by_name = _EXTENSIONS.get(extension)
    if extension and by_name is None:
        raise ValidationError({"logo": _("Send a JPEG, PNG or WebP picture.")})
    by_type = _TYPES.get(content_type)
    if content_type and content_type != "application/octet-stream" and by_type is None:
        raise ValidationError({"logo": _("Send a JPEG, PNG or WebP picture.")})
    return by_name, by_type, name


def _read(upload: Any) -> bytes:
    if isinstance(upload, bytes):
        return upload
    size = getattr(upload, "size", None)
    if size is not None and size > LOGO_MAX_BYTES:  # refused unread
        raise ValidationError(
            {"logo": _("The file is too large (at most %(limit)s MB).") % {"limit": 2}}
        )
    upload.seek(0)
    return upload.read(LOGO_MAX_BYTES + 1)


def logo_clean(upload: Any) -> tuple[ContentFile, int, int]:
    """The upload as a clean PNG within LOGO_BOX, with its width and height; raises a
    ValidationError on `logo` for anything refused (see the module's docstring)."""
    by_name, by_type, name = _declared(upload)
    data = _read(upload)
    image = decode_picture(
        data,
        field="logo",
        max_bytes=LOGO_MAX_BYTES,
        formats=LOGO_FORMATS,
        decode_side=2 * LOGO_BOX[0],
        max_pixels=LOGO_MAX_PIXELS,
    )
    found = "JPEG" if image.format == "MPO" else image.format
    for claimed in (by_name, by_type):
        if claimed is not None and claimed != found:
            raise ValidationError(
                {
                    "logo": _(
                        "This file says it is a %(claimed)s picture but it is a %(found)s: "
                        "save it again as what it is."
                    )
                    % {"claimed": _NAMES[claimed], "found": _NAMES[found]}
                }
            )
    if image.format != "MPO" and getattr(image, "is_animated", False):
        raise ValidationError({"logo": _("Animated logos are not accepted: send a still picture.")})
    if hidden_content(data, image.format) is not None:
        raise ValidationError(
            {"logo": _("This picture carries something besides the picture: export it again.")}
        )
    image = ImageOps.exif_transpose(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail(LOGO_BOX, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)  # no pnginfo, exif or icc: no metadata
    return ContentFile(out.getvalue(), name=os.path.basename(name) or "logo.png"), *image.size


def logo_name_for(schema: str, png: bytes) -> str:
    """Where a tenant's logo is stored: its schema in the path (row ids and file names
    repeat across tenants), its content hash in the name."""
    return f"brand/{schema}/logo-{hashlib.sha256(png).hexdigest()[:20]}.png"


def _drop_later(name: str) -> None:
    if name:
        transaction.on_commit(lambda: default_storage.delete(name))


@transaction.atomic
def brand_update(
    *,
    schema: str,
    brand_colour: str,
    accent_colour: str,
    logo: Any = None,
    remove_logo: bool = False,
) -> TrackingSettings:
    """Save the tenant's colours and, given one, its new logo (or take the logo away);
    every refused field is reported by name and nothing is saved or stored."""
    row = TrackingSettings.objects.select_for_update().filter(pk=tracking_settings().pk).get()
    errors: dict[str, list[str]] = {}
    row.brand_colour = (brand_colour or "").strip().lower()
    row.accent_colour = (accent_colour or "").strip().lower()
    try:
        row.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    for field in ("brand_colour", "accent_colour"):
        if field not in errors and (problem := colour_problem(getattr(row, field))):
            errors[field] = [problem]
    cleaned = None
    if logo is not None and not remove_logo:
        try:
            cleaned = logo_clean(logo)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    old = row.logo
    if remove_logo:
        row.logo, row.logo_width, row.logo_height = "", 0, 0
    elif cleaned is not None:
        content, width, height = cleaned
        png = content.read()
        name = logo_name_for(schema, png)
        if not default_storage.exists(name):  # the same logo again: the same file
            default_storage.save(name, ContentFile(png))
        row.logo, row.logo_width, row.logo_height = name, width, height
    row.save()
    if old and old != row.logo:
        _drop_later(old)
    return row


def logo_bytes(brand: Brand) -> bytes | None:
    """The stored logo's PNG (for an email's inline picture); None without one."""
    if not brand.logo:
        return None
    try:
        with default_storage.open(brand.logo, "rb") as handle:
            return handle.read()
    except (FileNotFoundError, OSError):
        return None


def logo_response(brand: Brand, wanted_hash: str) -> FileResponse:
    """The logo itself, when `wanted_hash` is the current one's (a stale or made-up hash
    is a 404): cached for a year, since a new logo has a new address."""
    if not brand.logo or wanted_hash != brand.logo_hash:
        raise Http404("No such logo.")
    try:
        handle = default_storage.open(brand.logo, "rb")
    except (FileNotFoundError, OSError):
        raise Http404("The logo is gone.") from None
    response = FileResponse(handle, content_type="image/png")
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


#: The logo's Content-ID in an email: attached inline (multipart/related) rather than
#: linked, since mail clients show inline pictures without asking to "load remote images"
#: (Outlook, Apple Mail with privacy protection, many corporate clients block or proxy
#: remote ones), and the email then needs no public address for the logo.
LOGO_CID = "brand-logo"
