"""The business's own look: the logo (hostile pictures refused, good ones cleaned, stored per
tenant, served only as that tenant's), the colours (readable text chosen, unreadable ones
refused), the Brand page, and the brand on the tracking page, its gone page and emails."""

from __future__ import annotations

import email
import io
import struct
import time
import zlib
from email import policy

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import schema_context
from PIL import Image

from dispatch.models import Order
from notifications.models import NotificationSettings
from notifications.services import sending
from tests.conftest import host_client, login_client, tenant_today
from tests.notifications.test_events import smtp_server  # noqa: F401 - the real SMTP fake
from tests.tracking.test_rating import delivered
from tracking.models import TrackingSettings
from tracking.selectors import tracking_settings
from tracking.services.brand import (
    LOGO_BOX,
    brand_update,
    colour_problem,
    contrast_ratio,
    logo_hash,
    text_on,
)
from tracking.services.day import tracking_link_for

pytestmark = pytest.mark.django_db


# --- pictures ---------------------------------------------------------------------------------


def png(width: int = 600, height: int = 300, *, text: str = "", mode: str = "RGBA") -> bytes:
    image = Image.new(mode, (width, height), (200, 30, 60, 128) if mode == "RGBA" else 0)
    out = io.BytesIO()
    if text:
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", text)
        image.save(out, "PNG", pnginfo=info)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def jpeg(width: int = 800, height: int = 800, *, camera: str = "") -> bytes:
    image = Image.new("RGB", (width, height), (20, 120, 200))
    out = io.BytesIO()
    if camera:
        exif = Image.Exif()
        exif[0x010F] = camera  # Make
        exif[0x0110] = "Model of " + camera
        image.save(out, "JPEG", exif=exif.tobytes())
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def jpeg_with_comment(comment: bytes) -> bytes:
    """A JPEG whose COM segment (right after SOI) carries `comment`: a JPEG-HTML polyglot."""
    data = jpeg(64, 64)
    segment = b"\xff\xfe" + struct.pack(">H", len(comment) + 2) + comment
    return data[:2] + segment + data[2:]


def apng() -> bytes:
    frames = [Image.new("RGBA", (120, 60), colour) for colour in ("red", "blue")]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:], duration=200, loop=0)
    return out.getvalue()


def webp(frames: int = 1) -> bytes:
    pictures = [Image.new("RGBA", (700, 350), (0, 90 + 40 * k, 200, 255)) for k in range(frames)]
    out = io.BytesIO()
    pictures[0].save(out, "WEBP", save_all=frames > 1, append_images=pictures[1:], duration=100)
    return out.getvalue()


def gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (40, 40)).save(out, "GIF")
    return out.getvalue()


def bomb_png(side: int) -> bytes:
    """A tiny PNG that decodes to side x side pixels (one bit each, all zero)."""
    raw = b"".join(b"\x00" + b"\x00" * ((side + 7) // 8) for _ in range(side))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_files(schema: str) -> list[str]:
    try:
        return default_storage.listdir(f"brand/{schema}")[1]
    except FileNotFoundError:
        return []


def save(schema: str, logo=None, colour: str = "#aa3300", accent: str = "#0b63ce", **kw):
    return brand_update(schema=schema, brand_colour=colour, accent_colour=accent, logo=logo, **kw)


HOSTILE = {
    "svg with a script": (
        upload(
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "logo.svg",
            "image/svg+xml",
        ),
        "SVG logos are not accepted",
    ),
    "svg named png": (
        upload(b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        "not a picture that can be read",
    ),
    "html named png": (
        upload(b"<!doctype html><script>alert(1)</script>"),
        "not a picture that can be read",
    ),
    "jpeg named png": (upload(jpeg(64, 64)), "says it is a PNG picture but it is a JPEG"),
    "png declared jpeg": (
        upload(png(), "logo.jpg", "image/jpeg"),
        "says it is a JPEG picture but it is a PNG",
    ),
    "gif": (upload(gif(), "logo.gif", "image/gif"), "Send a JPEG, PNG or WebP"),
    "gif named png": (upload(gif()), "Send a JPEG, PNG or WebP"),
    "script appended to a png": (
        upload(png() + b"<script>alert(document.cookie)</script>"),
        "carries something besides the picture",
    ),
    "zip appended to a png": (
        upload(png() + b"PK\x03\x04" + b"\x01" * 200),
        "carries something besides the picture",
    ),
    "jpeg-html polyglot": (
        upload(
            jpeg_with_comment(b"<html><body><script>alert(1)</script>"), "logo.jpg", "image/jpeg"
        ),
        "carries something besides the picture",
    ),
    "bytes after a jpeg": (
        upload(jpeg(64, 64) + b"\x00garbage after the end" * 4, "l.jpg", "image/jpeg"),
        "carries something besides the picture",
    ),
    "decompression bomb": (upload(bomb_png(6000)), "too many pixels"),
    "bomb below the pixel cap": (upload(bomb_png(4800)), "far too many pixels for its size"),
    "truncated png": (upload(png(400, 200)[:300]), "not a picture that can be read"),
    "truncated jpeg": (
        upload(jpeg(400, 400)[:700], "l.jpg", "image/jpeg"),
        "not a picture that can be read",
    ),
    "too big": (upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * (2 * 1024 * 1024 + 1)), "too large"),
    "animated png": (upload(apng()), "Animated logos are not accepted"),
    "animated webp": (upload(webp(3), "l.webp", "image/webp"), "Animated logos are not accepted"),
    "script after a webp": (
        upload(webp() + b"<script>alert(1)</script>", "l.webp", "image/webp"),
        "carries something besides the picture",
    ),
    "empty": (upload(b""), "The file is empty"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_a_hostile_logo_is_refused_with_its_error_and_nothing_stored(alpha, media, case):
    file, error = HOSTILE[case]
    file.seek(0)
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        with pytest.raises(ValidationError) as refused:
            save(schema, logo=file, colour="#123456")
        assert error in " ".join(refused.value.message_dict["logo"])
        row = tracking_settings()
        assert row.logo == "" and row.brand_colour != "#123456"  # nothing saved at all
    assert stored_files(schema) == []


def test_a_good_png_is_reencoded_within_the_box_without_metadata(alpha, media):
    original = png(2000, 1000, text="secret note from the designer")
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        row = save(schema, logo=upload(original))
    assert row.logo.startswith(f"brand/{schema}/logo-") and row.logo.endswith(".png")
    with default_storage.open(row.logo, "rb") as handle:
        kept = handle.read()
    assert kept != original and b"secret note" not in kept
    picture = Image.open(io.BytesIO(kept))
    assert picture.format == "PNG" and picture.size == LOGO_BOX == (row.logo_width, row.logo_height)
    assert picture.mode == "RGBA"  # transparency kept for the coloured header
    assert "Comment" not in picture.info and "exif" not in picture.info


def test_a_good_jpeg_loses_its_camera_data_and_becomes_a_png(alpha, media):
    original = jpeg(1200, 1200, camera="SecretCam 3000")
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        row = save(schema, logo=upload(original, "photo.JPG", "image/jpeg"))
    with default_storage.open(row.logo, "rb") as handle:
        kept = handle.read()
    assert b"SecretCam" not in kept and kept != original
    picture = Image.open(io.BytesIO(kept))
    assert picture.format == "PNG" and max(picture.size) <= max(LOGO_BOX)
    assert picture.size == (256, 256) and not picture.getexif()


def test_a_good_webp_becomes_a_png_within_the_box(alpha, media):
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        row = save(schema, logo=upload(webp(), "logo.webp", "image/webp"))
    with default_storage.open(row.logo, "rb") as handle:
        picture = Image.open(io.BytesIO(handle.read()))
    assert picture.format == "PNG" and picture.size == (512, 256)


def test_a_new_logo_gets_a_new_address_and_the_old_file_goes(
    alpha, media, django_capture_on_commit_callbacks
):
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        first = save(schema, logo=upload(png(300, 100))).logo
        with django_capture_on_commit_callbacks(execute=True):
            second = save(schema, logo=upload(png(310, 100))).logo
        assert logo_hash(first) != logo_hash(second)
        assert not default_storage.exists(first) and default_storage.exists(second)
        with django_capture_on_commit_callbacks(execute=True):
            removed = save(schema, remove_logo=True)
        assert removed.logo == "" and not default_storage.exists(second)


# --- colours ----------------------------------------------------------------------------------


def test_the_text_on_a_colour_is_the_readable_one():
    assert text_on("#0b63ce") == "#ffffff" and text_on("#ffeb3b") == "#111111"
    assert round(contrast_ratio("#ffffff", "#000000"), 1) == 21.0
    assert contrast_ratio("#0b63ce", "#ffffff") >= 4.5


def test_a_colour_no_text_can_be_read_on_is_refused(alpha):
    # mid grey: 4.48:1 with white, 4.2:1 with near-black
    assert "(best 4.4:1, at least 4.5:1 needed)" in colour_problem("#777777")
    assert colour_problem("#0b63ce") is None and colour_problem("#ffeb3b") is None
    schema = alpha.tenant.schema_name
    with schema_context(schema):
        with pytest.raises(ValidationError) as refused:
            save(schema, colour="#777777", accent="red;}")
        errors = refused.value.message_dict
        assert "readable" in errors["brand_colour"][0]
        assert errors["accent_colour"] == ["A colour like #0b63ce."]
        assert tracking_settings().brand_colour == "#0b63ce"


# --- the Brand page ---------------------------------------------------------------------------


def test_the_brand_page_is_the_owners_and_saves_logo_and_colours(alpha, media):
    dispatcher = login_client(alpha.host, alpha.dispatcher_email)
    assert dispatcher.get("/settings/brand/").status_code == 403
    assert host_client(alpha.host).get("/settings/brand/").status_code == 302  # sign in
    owner = login_client(alpha.host, alpha.owner_email)
    page = owner.get("/settings/brand/").content.decode()
    assert 'id="brand-preview"' in page and "/settings/messages/" in page
    saved = owner.post(
        "/settings/brand/",
        {
            "form": "brand",
            "brand_colour": "#AA3300",
            "accent_colour": "#ffeb3b",
            "logo": upload(png(900, 300)),
        },
    )
    assert saved.status_code == 302
    with schema_context(alpha.tenant.schema_name):
        row = TrackingSettings.objects.get()
    assert (row.brand_colour, row.accent_colour) == ("#aa3300", "#ffeb3b")
    page = owner.get("/settings/brand/").content.decode()
    assert f"/settings/brand/logo/{logo_hash(row.logo)}.png" in page
    assert "--accent-fg: #111111" in page  # dark text on the yellow accent, in the preview
    bad = owner.post(
        "/settings/brand/",
        {
            "form": "brand",
            "brand_colour": "#777777",
            "accent_colour": "#0b63ce",
            "logo": upload(png() + b"<script>x</script>"),
        },
    )
    assert bad.status_code == 400
    text = bad.content.decode()
    assert "carries something besides the picture" in text and "readable enough" in text


def test_each_tenant_sees_and_changes_only_its_own_brand(alpha, beta, media):
    with schema_context(alpha.tenant.schema_name):
        save(alpha.tenant.schema_name, colour="#5b2a86", logo=upload(png(300, 100)))
    beta_owner = login_client(beta.host, beta.owner_email)
    page = beta_owner.get("/settings/brand/").content.decode()
    assert "#5b2a86" not in page and "/settings/brand/logo/" not in page
    assert (
        beta_owner.post(
            "/settings/brand/",
            {"form": "brand", "brand_colour": "#1d5e20", "accent_colour": "#0b63ce"},
        ).status_code
        == 302
    )
    with schema_context(alpha.tenant.schema_name):
        assert tracking_settings().brand_colour == "#5b2a86" and tracking_settings().logo
    with schema_context(beta.tenant.schema_name):
        assert tracking_settings().brand_colour == "#1d5e20" and not tracking_settings().logo


def test_the_logo_on_the_tenant_host_is_only_that_tenants(alpha, beta, media):
    with schema_context(alpha.tenant.schema_name):
        row = save(alpha.tenant.schema_name, logo=upload(png(300, 100)))
    digest = logo_hash(row.logo)
    own = login_client(alpha.host, alpha.driver_email).get(f"/settings/brand/logo/{digest}.png")
    assert own.status_code == 200 and own["Content-Type"] == "image/png"
    assert "immutable" in own["Cache-Control"]
    other = login_client(beta.host, beta.owner_email).get(f"/settings/brand/logo/{digest}.png")
    assert other.status_code == 404
    assert host_client(alpha.host).get(f"/settings/brand/logo/{digest}.png").status_code == 302


def test_the_driver_app_header_wears_the_brand(alpha, media):
    with schema_context(alpha.tenant.schema_name):
        row = save(alpha.tenant.schema_name, logo=upload(png(300, 100)), colour="#ffeb3b")
    page = login_client(alpha.host, alpha.driver_email).get("/driver/").content.decode()
    assert ".app-head { background: #ffeb3b; color: #111111; }" in page
    assert f"/settings/brand/logo/{logo_hash(row.logo)}.png" in page


# --- the tracking page and emails -------------------------------------------------------------


def test_the_tracking_page_and_its_logo_carry_the_brand_of_its_tenant_only(alpha, beta, media):
    with schema_context(alpha.tenant.schema_name):
        row = save(alpha.tenant.schema_name, logo=upload(png(300, 100)), accent="#5b2a86")
        token = tracking_link_for(delivered())
    with schema_context(beta.tenant.schema_name):
        other = save(beta.tenant.schema_name, logo=upload(png(200, 100)), colour="#1d5e20")
        beta_token = tracking_link_for(delivered())
    public = host_client("localhost")
    page = public.get(f"/t/{token}").content.decode()
    digest = logo_hash(row.logo)
    assert '<meta name="theme-color" content="#aa3300">' in page
    assert f'src="/t/{token}/logo/{digest}.png"' in page
    assert "--accent: #5b2a86; --accent-fg: #ffffff;" in page  # the rating button
    assert 'id="track-rating"' in page and alpha.tenant.name in page
    logo = public.get(f"/t/{token}/logo/{digest}.png")
    assert logo.status_code == 200 and "immutable" in logo["Cache-Control"]
    with default_storage.open(row.logo, "rb") as handle:
        assert b"".join(logo.streaming_content) == handle.read()
    # another tenant's link cannot fetch this logo, nor a made-up link
    assert public.get(f"/t/{beta_token}/logo/{digest}.png").status_code == 404
    assert public.get(f"/t/{'x' * 43}/logo/{digest}.png").status_code == 404
    assert public.get(f"/t/{beta_token}/logo/{logo_hash(other.logo)}.png").status_code == 200


def test_the_gone_page_of_an_expired_link_wears_the_brand(alpha, media):
    with schema_context(alpha.tenant.schema_name):
        save(alpha.tenant.schema_name, colour="#1d5e20")
        TrackingSettings.objects.update(tracking_link_ttl_hours=0)
        token = tracking_link_for(delivered())
    gone = host_client("localhost").get(f"/t/{token}")
    assert gone.status_code == 410
    text = gone.content.decode()
    assert "The tracking link has expired." in text and "background: #1d5e20" in text


def test_an_email_carries_the_logo_inline_and_the_colours(alpha, media, smtp_server):  # noqa: F811
    with schema_context(alpha.tenant.schema_name):
        NotificationSettings.objects.update_or_create(pk=1, defaults={"email_from_name": "Alpha"})
        row = save(alpha.tenant.schema_name, logo=upload(png(300, 100)), accent="#ffeb3b")
        order = Order.objects.create(
            customer_name="Flo Park",
            customer_email="flo@example.com",
            delivery_date=tenant_today(1),
        )
        (note,) = sending.notify_event(order, "confirmed")
        assert sending.deliver(note.pk) == "sent"
    deadline = time.time() + 5
    while not smtp_server and time.time() < deadline:
        time.sleep(0.05)
    ((_, raw),) = smtp_server
    message = email.message_from_bytes(raw, policy=policy.default)
    html = message.get_body(("html",)).get_content()
    assert 'src="cid:brand-logo"' in html and "#aa3300" in html
    assert "background:#ffeb3b;color:#111111" in html  # the button, readable on yellow
    (picture,) = [part for part in message.walk() if part.get_content_type() == "image/png"]
    assert picture["Content-ID"] == "<brand-logo>"
    with default_storage.open(row.logo, "rb") as handle:
        assert picture.get_content() == handle.read()
    assert message.get_content_type() == "multipart/related"


def test_the_logo_changes_only_through_the_brand_service(alpha):
    """The generic settings update (the messages page's) cannot set a logo file by name,
    nor a colour past the contrast rule through the accent."""
    from tracking.services.settings import tracking_settings_update

    with schema_context(alpha.tenant.schema_name):
        for field, value in (("logo", "brand/beta/logo-x.png"), ("accent_colour", "#777777")):
            with pytest.raises(ValidationError) as refused:
                tracking_settings_update(**{field: value})
            assert field in refused.value.message_dict
        assert tracking_settings().logo == ""
