"""Printable parcel labels for a route's stops: one label per order, in driving order, with
the stop number big, where it goes and when, and our label code as a QR code, a Code 128
and text (dispatch.selectors.codes), which the driver scans at pickup and at the door.

Two sizes: "a4", a grid of 2 x 4 labels of 105 x 74 mm (A4 label sheets, or plain paper
cut up), and "4x6", one 4 x 6 inch label a page, for thermal label printers.

Customers' names and addresses can be in any script. The PDF's standard fonts are
Latin-1 only, so the labels embed a TrueType font (DejaVu Sans where the system has it,
else Bitstream Vera, which ships inside reportlab) and write a character the font has no
glyph for as its unaccented letter, or "?" (a CJK name prints as "??"): a label never
fails to print for a name.
"""

from __future__ import annotations

import io
import itertools
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from operator import itemgetter
from pathlib import Path

import reportlab
from reportlab.graphics.barcode.code128 import Code128
from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib.colors import black
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import inch, mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from dispatch.models import Order
from dispatch.selectors.codes import label_code
from routing import selectors
from routing.models import Plan, PlanRoute, PlanStop
from tenants.selectors import current_tenant
from tenants.services.formats import Formats

#: The fonts tried, in order: (regular, bold). The first whose files exist is embedded.
FONT_FILES: tuple[tuple[Path, Path], ...] = (
    (
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    ),
    (
        Path(reportlab.__file__).parent / "fonts" / "Vera.ttf",
        Path(reportlab.__file__).parent / "fonts" / "VeraBd.ttf",
    ),
)
REGULAR, BOLD = "LabelSans", "LabelSans-Bold"


@dataclass(frozen=True)
class LabelSize:
    """A page of `columns` x `rows` labels of `width` x `height` points. `scale` sizes the
    type, margins and Code 128 from the A4 label's; the stop number is `number_pt` high and
    the QR code `qr` wide, at the top right (`qr_at_top`) or above the Code 128."""

    page: tuple[float, float]
    columns: int
    rows: int
    width: float
    height: float
    scale: float
    number_pt: float
    qr: float
    qr_at_top: bool

    @property
    def per_page(self) -> int:
        return self.columns * self.rows

    def origin(self, slot: int) -> tuple[float, float]:
        """The lower-left corner of the `slot`th label of a page (row by row from the top
        left), the grid centred on the page."""
        row, column = divmod(slot, self.columns)
        left = (self.page[0] - self.columns * self.width) / 2
        top = self.page[1] - (self.page[1] - self.rows * self.height) / 2
        return left + column * self.width, top - (row + 1) * self.height


LABEL_SIZES: dict[str, LabelSize] = {
    "a4": LabelSize(
        page=A4,
        columns=2,
        rows=4,
        width=105 * mm,
        height=74 * mm,
        scale=1.0,
        number_pt=30,
        qr=31 * mm,
        qr_at_top=True,
    ),
    "4x6": LabelSize(
        page=(4 * inch, 6 * inch),
        columns=1,
        rows=1,
        width=4 * inch,
        height=6 * inch,
        scale=1.5,
        number_pt=64,
        qr=44 * mm,
        qr_at_top=False,
    ),
}
DEFAULT_SIZE = "a4"


@dataclass(frozen=True)
class Label:
    """What one label says, in the tenant's formats."""

    stop_number: int
    route_name: str  # the driver
    route_line: str  # the day, the vehicle, the route's version
    customer_name: str
    address_lines: list[str]
    windows: str
    items: str
    reference: str
    code: str


def route_labels_pdf(route: PlanRoute, *, size: str = DEFAULT_SIZE) -> bytes:
    """The labels of the route's orders (breaks have none), in driving order, as a PDF.
    `size`: "a4" (default) or "4x6". Raises ValueError for another size."""
    plan = route.plan
    (route,) = selectors.plan_routes(plan, only={route.pk})
    labels = _route_labels(route, plan, Formats.of(current_tenant()))
    return _pdf([labels], size=size, title=f"{route.driver.name}, {plan.date}")


def plan_labels_pdf(plan: Plan, *, size: str = DEFAULT_SIZE) -> bytes:
    """The labels of every route of the plan, each route starting on a new page."""
    formats = Formats.of(current_tenant())
    routes = [_route_labels(route, plan, formats) for route in selectors.plan_routes(plan)]
    return _pdf(routes, size=size, title=f"plan {plan.pk}, {plan.date}")


# --- what a label says --------------------------------------------------------------------


def _route_labels(route: PlanRoute, plan: Plan, formats: Formats) -> list[Label]:
    day = formats.day(plan.date, style="short")
    version = f" · v{route.version}" if route.version else ""
    route_line = f"{day} · {route.vehicle.name}{version}"
    stops: Iterable[PlanStop] = route.stops.all()  # prefetched, in driving order
    # one label a parcel: a pickup-and-delivery pair's parcel gets its delivery's (the
    # address it goes to), which the driver sticks on where it is collected
    return [
        _label(stop.sequence, stop.order, route.driver.name, route_line, formats)
        for stop in stops
        if stop.order is not None and stop.order.kind != Order.Kind.PICKUP
    ]


def _label(number: int, order: Order, route_name: str, route_line: str, formats: Formats) -> Label:
    town = " ".join(part for part in (order.postcode, order.city) if part)
    windows = ", ".join(formats.window(window) for window in order.time_windows)
    reference = f"Order #{order.pk}" + (f" · {order.external_id}" if order.external_id else "")
    return Label(
        stop_number=number,
        route_name=route_name,
        route_line=route_line,
        customer_name=order.customer_name,
        address_lines=[line for line in (order.address_line1, order.address_line2, town) if line],
        windows=windows or "Any time",
        items=f"{order.items} item{'' if order.items == 1 else 's'}",
        reference=reference,
        code=label_code(order),
    )


# --- drawing ------------------------------------------------------------------------------


@cache
def _fonts() -> tuple[str, str]:
    """Register the label fonts once (reportlab's registry is the process's); answers the
    names to draw with. Helvetica, reportlab's own, if no font file is there at all."""
    for regular, bold in FONT_FILES:
        if regular.is_file() and bold.is_file():
            pdfmetrics.registerFont(TTFont(REGULAR, str(regular)))
            pdfmetrics.registerFont(TTFont(BOLD, str(bold)))
            return REGULAR, BOLD
    return "Helvetica", "Helvetica-Bold"


@cache
def _glyphs(font: str) -> frozenset[int] | None:
    """The code points the font draws; None for a standard font (Windows-1252)."""
    glyphs = getattr(getattr(pdfmetrics.getFont(font), "face", None), "charToGlyph", None)
    return frozenset(glyphs) if glyphs is not None else None


def printable(text: str, font: str) -> str:
    """`text` as the font can draw it: control characters as spaces, a letter the font
    lacks as its letter without accents when the font has that, else "?"."""
    glyphs = _glyphs(font)

    def has(char: str) -> bool:
        if glyphs is not None:
            return ord(char) in glyphs
        try:
            char.encode("cp1252")
        except UnicodeEncodeError:
            return False
        return True

    out = []
    for char in text:
        if unicodedata.category(char).startswith("C"):
            out.append(" ")
        elif has(char):
            out.append(char)
        else:
            base = "".join(
                c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
            )
            out.append(base if base and all(has(c) for c in base) else "?")
    return _visual("".join(out))


def _visual(text: str) -> str:
    """Right-to-left text (Hebrew, Arabic) in the order it is drawn, left to right: each
    run of right-to-left letters reversed, and the runs' order too when the text starts
    right to left ("שלום 5" is drawn "5 םולש"). A simple form of Unicode's bidi rules:
    no mirrored brackets and no joined Arabic letters (reportlab shapes nothing without
    its optional libraries), but never a name printed backwards."""
    strong = [_direction(char) for char in text]
    if "R" not in strong:
        return text
    base = next(d for d in strong if d)
    resolved = []
    for index, direction in enumerate(strong):
        if direction is None:  # spaces, punctuation: their strong neighbours', if alike
            before = next((d for d in reversed(strong[:index]) if d), base)
            after = next((d for d in strong[index + 1 :] if d), base)
            direction = before if before == after else base
        resolved.append(direction)
    runs = [
        "".join(char for char, _ in run)[:: -1 if direction == "R" else 1]
        for direction, run in itertools.groupby(zip(text, resolved, strict=True), itemgetter(1))
    ]
    return "".join(reversed(runs) if base == "R" else runs)


def _direction(char: str) -> str | None:
    """R for a right-to-left letter, L for a left-to-right one or a digit, else None."""
    kind = unicodedata.bidirectional(char)
    if kind in ("R", "AL"):
        return "R"
    return "L" if kind in ("L", "EN", "AN") else None


def _fit(text: str, font: str, size: float, width: float, *, smallest: float) -> tuple[str, float]:
    """`text` at `size`, or smaller down to `smallest` to fit `width`, then cut with "…"."""
    text = printable(text, font)
    wide = pdfmetrics.stringWidth(text, font, size)
    if wide > width:  # widths are proportional to the size
        size = max(smallest, int(size * width / wide * 2) / 2)
    return _cut(text, font, size, width), size


def _cut(text: str, font: str, size: float, width: float) -> str:
    """`text` cut to `width` with "…" (as it is when it fits)."""
    if pdfmetrics.stringWidth(text, font, size) <= width:
        return text
    ellipsis = "…" if printable("…", font) == "…" else "..."
    short, long = 0, len(text)  # the longest cut that fits, by halves
    while short < long:
        middle = (short + long + 1) // 2
        if pdfmetrics.stringWidth(text[:middle] + ellipsis, font, size) <= width:
            short = middle
        else:
            long = middle - 1
    return text[:short].rstrip() + ellipsis


def _wrap(text: str, font: str, size: float, width: float) -> tuple[list[str], float]:
    """`text` on one line (a little smaller if that makes it fit), else on two, the
    second cut with "…" if it is still too long."""
    one, fitted = _fit(text, font, size, width, smallest=size * 0.85)
    if not one.endswith(("…", "...")) or one == printable(text, font):
        return [one], fitted
    words, first = printable(text, font).split(" "), ""
    while words and pdfmetrics.stringWidth(f"{first} {words[0]}".strip(), font, size) <= width:
        first = f"{first} {words.pop(0)}".strip()
    if not first:  # one word longer than the line
        return [_cut(printable(text, font), font, size, width)], size
    return [first, _cut(" ".join(words), font, size, width)], size


def _pdf(routes: list[list[Label]], *, size: str, title: str) -> bytes:
    try:
        layout = LABEL_SIZES[size]
    except KeyError:
        raise ValueError(f"Labels come in {', '.join(LABEL_SIZES)}, not {size!r}.") from None
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=layout.page, pageCompression=1)
    canvas.setTitle(f"Parcel labels · {title}")
    canvas.setCreator("dispatch")
    drawn = False
    for labels in routes:
        for slot, label in _slots(labels, layout):
            if slot == 0 and drawn:
                canvas.showPage()
            x, y = layout.origin(slot)
            canvas.saveState()
            canvas.translate(x, y)
            _draw(canvas, label, layout)
            canvas.restoreState()
            drawn = True
    if not drawn:
        regular, _ = _fonts()
        canvas.setFont(regular, 14)
        canvas.drawString(20 * mm, layout.page[1] - 30 * mm, "No stops to label.")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _slots(labels: list[Label], layout: LabelSize) -> Iterator[tuple[int, Label]]:
    """Each label with its place on the page; a route's first label starts a page."""
    for index, label in enumerate(labels):
        yield index % layout.per_page, label


def _draw(canvas: Canvas, label: Label, layout: LabelSize) -> None:
    """One label in its own box, (0, 0) its lower-left corner: the stop number and the
    route at the top, the Code 128 and the code at the bottom, the QR code at the top
    right or above the Code 128, the order's lines flowing beside it."""
    regular, bold = _fonts()
    s, w, h = layout.scale, layout.width, layout.height
    pad = 5 * mm * s
    full = w - 2 * pad
    canvas.setFillColor(black)

    # the Code 128 across the bottom, the code as text under it
    code, code_size = _fit(label.code, bold, 8 * s, full, smallest=5)
    canvas.setFont(bold, code_size)
    canvas.drawCentredString(w / 2, pad, code)
    bars_at = pad + code_size + 1.5 * mm
    _code128(canvas, label.code, x=pad, y=bars_at, width=full, height=12 * mm * s)
    floor = bars_at + 12 * mm * s + 2 * mm  # nothing is written below it

    # the QR code (its own quiet zone, 4 modules, reaches into the margin)
    qr = min(layout.qr, w * 0.45)
    qr_y = h - pad - qr + 4 if layout.qr_at_top else floor
    _qr(canvas, label.code, x=w - pad - qr + 4, y=qr_y, size=qr)

    def room(y: float, size: float) -> float:
        """The width for a line written at `y`: beside the QR code where they meet."""
        return full - qr - 2 * mm if y < qr_y + qr and y + size > qr_y else full

    # the stop number, big, and the route beside it
    number_size = layout.number_pt
    baseline = h - pad - number_size * 0.75
    number, number_size = _fit(
        str(label.stop_number), bold, number_size, room(baseline, number_size) / 2, smallest=14
    )
    canvas.setFont(bold, number_size)
    canvas.drawString(pad, baseline, number)
    left = pad + pdfmetrics.stringWidth(number, bold, number_size) + 3 * mm * s
    for text, font, size, dy in (
        (label.route_name, bold, 9 * s, number_size * 0.42),
        (label.route_line, regular, 7.5 * s, 0),
    ):
        width = max(pad + room(baseline + dy, size) - left, 10)
        text, size = _fit(text, font, size, width, smallest=5)
        canvas.setFont(font, size)
        canvas.drawString(left, baseline + dy, text)

    # who, where, when, how much, which order: as many lines as there is room for
    lines = [(label.customer_name, bold, 12.5 * s)]
    lines += [(line, regular, 9.5 * s) for line in label.address_lines]
    lines += [(label.windows, bold, 9.5 * s), (label.items, regular, 9 * s)]
    lines += [(label.reference, regular, 7 * s)]
    y = baseline - 4 * mm * s
    for text, font, size in lines:
        wrapped, size = _wrap(text, font, size, room(y - size * 1.15, size))
        for line in wrapped:
            y -= size * 1.15
            if y < floor:
                return
            canvas.setFont(font, size)
            canvas.drawString(pad, y, line)


def _qr(canvas: Canvas, code: str, *, x: float, y: float, size: float) -> None:
    """The code as a QR code `size` wide, with its quiet zone of 4 modules. (The flowable
    draws straight on the canvas: the graphics widget builds and checks a shape per
    module, 30 times slower, seconds for a plan.)"""
    QrCode(code, width=size, height=size, qrLevel="M", qrBorder=4).drawOn(canvas, x, y)


def _code128(canvas: Canvas, code: str, *, x: float, y: float, width: float, height: float) -> None:
    """The code as wide as it may be (bars at most 0.5 mm), centred in `width`; the
    label's margins are its quiet zones."""
    modules = Code128(code, barWidth=1, quiet=0, humanReadable=0).width
    bar = min(0.5 * mm, width / modules)
    barcode = Code128(code, barWidth=bar, barHeight=height, quiet=0, humanReadable=0)
    barcode.drawOn(canvas, x + (width - barcode.width) / 2, y)
