"""The reports page (tables and bar charts) and a CSV of each table."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from accounts.decorators import dispatcher_required
from dispatch.api.views.csv_io import csv_download
from dispatch.models import Vehicle
from dispatch.services.csv_io import csv_lines
from reports.selectors import (
    GROUPS,
    EmissionRow,
    Emissions,
    RatingRow,
    Row,
    emissions,
    ratings,
    report,
    route_facts,
)
from reports.services import UNIT, source_text

MAX_DAYS = 366


#: what a row stands for, in the grouping's words: the first column's heading and the
#: table's title (the codes stay English in the CSV, which machines read)
GROUP_HEADINGS = {
    "day": gettext_lazy("Day"),
    "driver": gettext_lazy("Driver"),
    "route": gettext_lazy("Route"),
}
GROUP_TITLES = {
    "day": gettext_lazy("Per day"),
    "driver": gettext_lazy("Per driver"),
    "route": gettext_lazy("Per route"),
}


class ReportForm(forms.Form):
    date_from = forms.DateField(
        label=gettext_lazy("From"), widget=forms.DateInput({"type": "date"})
    )
    date_to = forms.DateField(label=gettext_lazy("To"), widget=forms.DateInput({"type": "date"}))
    group = forms.ChoiceField(
        label=gettext_lazy("Per"), choices=[(g, GROUP_HEADINGS[g]) for g in GROUPS]
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end:
            if end < start:
                self.add_error("date_to", _("The last day comes before the first."))
            elif (end - start).days >= MAX_DAYS:
                self.add_error(
                    "date_to", _("At most %(days)s days at a time.") % {"days": MAX_DAYS}
                )
        return data


def _form(request: HttpRequest) -> ReportForm:
    today = timezone.localdate()
    initial = {"date_from": today - dt.timedelta(days=6), "date_to": today, "group": "day"}
    return ReportForm({**initial, **request.GET.dict()} if request.GET else initial)


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


#: column names: English in the CSVs (machines read their headers), translated on the page
COLUMNS = [
    (gettext_noop("Stops"), lambda r: r.stops),
    (gettext_noop("Delivered"), lambda r: r.delivered),
    (gettext_noop("Failed"), lambda r: r.failed),
    (gettext_noop("On time %"), lambda r: _pct(r.on_time_rate)),
    (gettext_noop("With a window"), lambda r: r.with_window),
    (gettext_noop("Stops per hour"), lambda r: _num(r.stops_per_hour)),
    (gettext_noop("Planned km"), lambda r: _num(r.planned_m / 1000)),
    (gettext_noop("Driven km"), lambda r: _num(r.driven_m / 1000)),
    (gettext_noop("Planned h"), lambda r: _num(r.planned_s / 3600, 2)),
    (gettext_noop("Driven h"), lambda r: _num(r.driven_s / 3600, 2)),
]


RATING_COLUMNS = [
    (gettext_noop("Ratings"), lambda r: r.ratings),
    (gettext_noop("Average stars"), lambda r: _num(r.average, 2)),
]


#: the ratings tables: CSV name -> (title, first column, attribute of `ratings()`)
RATING_TABLES = {
    "ratings-driver": (gettext_lazy("Ratings per driver"), "driver", "per_driver"),
    "ratings-day": (gettext_lazy("Ratings per day"), "day", "per_day"),
}


#: fuel and CO2: (name, cell) of what a route, a day, an energy or the total burnt
FOOTPRINT_COLUMNS = [
    (gettext_noop("km"), lambda r: _num(r.footprint.km)),
    (gettext_noop("Litres"), lambda r: _num(r.footprint.litres, 2)),
    (gettext_noop("kWh"), lambda r: _num(r.footprint.kwh, 2)),
    (gettext_noop("CO2 kg"), lambda r: _num(r.footprint.co2_kg, 2)),
]
#: the optimised order against the same routes' stops in the order the orders arrived
SAVING_COLUMNS = [
    (gettext_noop("Routes compared"), lambda r: r.compared),
    (gettext_noop("Optimised km"), lambda r: _num(r.optimised.km)),
    (gettext_noop("Arrival-order km"), lambda r: _num(r.arrival.km)),
    (gettext_noop("km saved"), lambda r: _num(r.saved.km)),
    (gettext_noop("km saved %"), lambda r: _pct(r.saved_km_share)),
    (gettext_noop("Litres saved"), lambda r: _num(r.saved.litres, 2)),
    (gettext_noop("kWh saved"), lambda r: _num(r.saved.kwh, 2)),
    (gettext_noop("CO2 kg saved"), lambda r: _num(r.saved.co2_kg, 2)),
    (gettext_noop("CO2 saved %"), lambda r: _pct(r.saved_co2_share)),
]
ENERGY_COLUMNS = [(gettext_noop("Routes"), lambda r: r.routes), *FOOTPRINT_COLUMNS]
ENERGY_LABELS = dict(Vehicle.Energy.choices)


def _consumption(row: EmissionRow) -> str:
    """ "10 l", "22 kWh (typical)": the consumption per 100 km a route was counted at."""
    if row.per_100km is None:
        return ""
    text = f"{row.per_100km.normalize():f} {UNIT[row.energy]}".strip()
    return _("%(value)s (typical)") % {"value": text} if row.typical else text


def _route_columns(machine: bool) -> list:
    """A route's own cells before its footprint: codes in the CSV, words on the page (empty
    in the total's row)."""
    columns = [
        (
            gettext_noop("Energy"),
            (lambda r: r.energy)
            if machine
            else (lambda r: str(ENERGY_LABELS.get(r.energy, r.energy))),
        ),
        (
            gettext_noop("Per 100 km"),
            (lambda r: "" if r.per_100km is None else f"{r.per_100km.normalize():f}")
            if machine
            else _consumption,
        ),
        (
            gettext_noop("Distance from"),
            (lambda r: "driven" if r.driven else "planned")
            if machine
            else (lambda r: _("GPS track") if r.driven else _("Plan")),
        ),
    ]
    return [(name, _own(get)) for name, get in columns]


def _own(get):
    return lambda r: "" if r.key == "total" else get(r)


#: the fuel and CO2 tables' CSV names
EMISSION_TABLES = ("emissions-day", "emissions-route", "emissions-energy")


def _emission_lines(table: str, found: Emissions) -> list[list]:
    """A fuel and CO2 table for a CSV: English headers, energy codes, every column."""
    if table == "emissions-day":
        first, rows = "day", found.per_day
        columns = [*FOOTPRINT_COLUMNS, *SAVING_COLUMNS]
    elif table == "emissions-route":
        first, rows = "route", found.per_route
        columns = [*_route_columns(True), *FOOTPRINT_COLUMNS, *SAVING_COLUMNS]
    else:
        first, rows = "energy", found.per_energy
        columns = [*ENERGY_COLUMNS, *SAVING_COLUMNS]
    label = (lambda r: r.key) if first == "energy" else (lambda r: r.label)
    lines = [[first, *[name for name, _get in columns]]]
    lines += [[label(r), *[get(r) for _name, get in columns]] for r in rows]
    lines.append([found.total.label, *[get(found.total) for _name, get in columns]])
    return lines


def _emission_context(found: Emissions) -> dict:
    """The page's fuel and CO2 section: each table's headings and rows of cells."""

    def table(columns: list, rows: list[EmissionRow]) -> dict:
        return {
            "columns": [_(n) for n, _g in columns],
            "rows": [(r, [g(r) for _n, g in columns]) for r in rows],
        }

    total = found.total
    return {
        "emissions": found,
        "emission_total": {
            "km": _num(total.footprint.km),
            "litres": _num(total.footprint.litres, 2),
            "kwh": _num(total.footprint.kwh, 2),
            "co2_kg": _num(total.footprint.co2_kg, 2),
            "saved_km": _num(total.saved.km),
            "saved_co2_kg": _num(total.saved.co2_kg, 2),
            "saved_km_pct": _pct(total.saved_km_share),
            "saved_co2_pct": _pct(total.saved_co2_share),
        },
        "emission_day": table(FOOTPRINT_COLUMNS, [*found.per_day, total]),
        "emission_route": table(
            [*_route_columns(False), *FOOTPRINT_COLUMNS], [*found.per_route, total]
        ),
        "emission_energy": table(ENERGY_COLUMNS, [*found.per_energy, total]),
        "emission_saving": table(SAVING_COLUMNS, [*found.per_day, total]),
        "emission_sources": source_text(),
    }


def _rating_table(rows: list[RatingRow], total: RatingRow) -> list[tuple[RatingRow, list]]:
    return [(r, [get(r) for _name, get in RATING_COLUMNS]) for r in [*rows, total]]


def _bars(rows: list[Row], value, *, scale: float | None = None) -> list[dict]:
    values = [value(r) or 0 for r in rows]
    top = scale or max(values, default=0) or 1
    return [
        {"label": r.label, "value": v, "width": round(100 * v / top, 1)}
        for r, v in zip(rows, values, strict=True)
    ]


@dispatcher_required
def reports_view(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    context: dict = {"form": form, "groups": GROUPS}
    if form.is_valid():
        data = form.cleaned_data
        facts = route_facts(data["date_from"], data["date_to"])
        rows, total = report(data["date_from"], data["date_to"], data["group"], facts=facts)
        reasons = total.reasons.most_common()
        rated = ratings(data["date_from"], data["date_to"])
        context.update(
            rating_columns=[_(name) for name, _get in RATING_COLUMNS],
            rating_tables=[
                (
                    title,
                    GROUP_TITLES[per],
                    GROUP_HEADINGS[per],
                    _rating_table(getattr(rated, a), rated.total),
                    f"{name}-table",
                    name,
                )
                for name, (title, per, a) in RATING_TABLES.items()
            ],
            rating_total=rated.total,
            rows=rows,
            total=total,
            reasons=reasons,
            query=request.GET.urlencode(),
            columns=[_(name) for name, _get in COLUMNS],
            group_title=GROUP_TITLES[data["group"]],
            group_heading=GROUP_HEADINGS[data["group"]],
            table=[(r, [get(r) for _name, get in COLUMNS]) for r in [*rows, total]],
            delivered_bars=_bars(rows, lambda r: r.delivered),
            on_time_bars=_bars(rows, lambda r: (r.on_time_rate or 0) * 100, scale=100),
            reason_bars=[
                {"label": k, "value": v, "width": round(100 * v / reasons[0][1], 1)}
                for k, v in reasons
            ],
            **_emission_context(emissions(data["date_from"], data["date_to"], facts=facts)),
        )
    return render(request, "reports/reports.html", context, status=200 if form.is_valid() else 400)


@dispatcher_required
def reports_csv_view(request: HttpRequest, table: str) -> HttpResponse:
    """`summary`: the table per day, driver or route; `reasons`: failed deliveries by reason
    and group; `ratings-driver`, `ratings-day`: customers' ratings per driver, per day;
    `emissions-day`, `emissions-route`, `emissions-energy`: fuel and CO2, and the saving
    of the optimised order."""
    form = _form(request)
    known = ("summary", "reasons", *RATING_TABLES, *EMISSION_TABLES)
    if table not in known or not form.is_valid():
        return HttpResponse(_("Bad report request."), status=400, content_type="text/plain")
    data = form.cleaned_data
    if table in EMISSION_TABLES:
        lines = _emission_lines(table, emissions(data["date_from"], data["date_to"]))
        name = f"{table}-{data['date_from']}-{data['date_to']}.csv"
        return csv_download(csv_lines(lines), name=name)
    if table in RATING_TABLES:
        rated = ratings(data["date_from"], data["date_to"])
        _title, per, attr = RATING_TABLES[table]
        lines = [[per, *[name for name, _get in RATING_COLUMNS]]]
        lines += [[r.label, *c] for r, c in _rating_table(getattr(rated, attr), rated.total)]
        name = f"{table}-{data['date_from']}-{data['date_to']}.csv"
        return csv_download(csv_lines(lines), name=name)
    rows, total = report(data["date_from"], data["date_to"], data["group"])
    if table == "summary":
        lines = [[data["group"], *[name for name, _get in COLUMNS]]]
        lines += [[r.label, *[get(r) for _name, get in COLUMNS]] for r in [*rows, total]]
    else:
        lines = [[data["group"], "reason", "failed"]]
        lines += [[r.label, reason, n] for r in rows for reason, n in r.reasons.most_common()]
    name = f"{table}-{data['group']}-{data['date_from']}-{data['date_to']}.csv"
    return csv_download(csv_lines(lines), name=name)  # a driver named "=cmd()" stays text
