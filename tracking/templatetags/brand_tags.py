"""`{% brand_driver_header %}`: the business's colours and logo in the driver app's header
(templates/tracking/_brand_driver.html), read here so the driver app's view needs nothing
more; `{% brand_style brand %}`: the colours as CSS custom properties for a page's header,
buttons and links."""

from __future__ import annotations

from django import template
from django.urls import reverse

from tracking.services.brand import Brand, current_brand

register = template.Library()


@register.inclusion_tag("tracking/_brand_driver.html", takes_context=True)
def brand_driver_header(context) -> dict:
    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return {"brand": None}
    brand = current_brand(business=tenant.name)
    logo_url = reverse("brand-logo", kwargs={"digest": brand.logo_hash}) if brand.logo else ""
    return {"brand": brand, "logo_url": logo_url}


@register.simple_tag
def brand_style(brand: Brand | None) -> str:
    """`--brand: …; --brand-fg: …; --accent: …; --accent-fg: …` for a style attribute;
    the colours are validated `#rrggbb`, so nothing else can reach the style."""
    if brand is None:
        return ""
    return (
        f"--brand: {brand.colour}; --brand-fg: {brand.colour_text}; "
        f"--accent: {brand.accent}; --accent-fg: {brand.accent_text};"
    )
