"""Page forms. They collect input; tenants.services.provisioning validates their meaning."""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from geo.selectors import regions
from tenants.models import ApiKey, RoadProfile
from tenants.services.roads import FACTOR_MAX, FACTOR_MIN
from tenants.services.zones import zone_choices, zone_of_country

HOST_PLACEHOLDER = "your-business"


def host_help_text(slug: str) -> SafeString:
    """Where the dashboard will be, e.g. "Your dashboard will be at acme.example.com"; the
    slug part is updated as it is typed (static/js/signup.js). Help texts are rendered
    as HTML, so every value in it is escaped here."""
    host = format_html(
        '<strong class="host-preview"><span data-host-slug data-placeholder="{}">{}</span>.{}'
        "</strong>",
        HOST_PLACEHOLDER,
        slug.strip().lower() or HOST_PLACEHOLDER,
        settings.TENANT_BASE_DOMAIN,
    )
    return format_html(_("Your dashboard will be at {host}"), host=host)


class SignupForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Business name"), max_length=200)
    slug = forms.CharField(label=gettext_lazy("Address"), max_length=40)
    owner_name = forms.CharField(label=gettext_lazy("Your name"), max_length=150, required=False)
    # A CharField, so that a mistyped email is reported by the service together with
    # every other problem of the sign-up, not on its own first.
    owner_email = forms.CharField(
        label=gettext_lazy("Your email"), max_length=254, widget=forms.EmailInput
    )
    owner_password = forms.CharField(
        label=gettext_lazy("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    time_zone = forms.ChoiceField(
        label=gettext_lazy("Time zone"),
        choices=(),
        required=False,
        help_text=gettext_lazy("The zone your delivery times are in."),
    )
    country = forms.CharField(
        label=gettext_lazy("Country"),
        max_length=2,
        help_text=gettext_lazy("Two letters, e.g. GB, US, DE."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        typed = self.data.get(self.add_prefix("slug")) if self.is_bound else None
        self.fields["slug"].help_text = host_help_text(str(typed or ""))
        zone = self.fields["time_zone"]
        zone.choices = [("", _("Choose your time zone")), *zone_choices()]
        if not self.is_bound:
            # a first view: the browser's own zone is chosen on the page when it is known
            zone.widget.attrs["data-zone-from-browser"] = True

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()

    def clean(self) -> dict[str, Any]:
        """No zone chosen (the page's script could not tell): the country's, if it has
        only one; else the owner is asked, rather than running the business on UTC."""
        data = super().clean()
        if "time_zone" in data and not data["time_zone"]:
            data["time_zone"] = zone_of_country(data.get("country", ""))
            if not data["time_zone"]:
                self.add_error("time_zone", _("Choose the time zone your deliveries run in."))
        return data


#: ApiKey.Scope's and RoadProfile's labels as pages show them, translated (the models' own
#: labels stay plain English: tenants/models.py is shared with the operator's side)
SCOPE_LABELS = {
    ApiKey.Scope.READ: gettext_lazy("Read only"),
    ApiKey.Scope.READ_WRITE: gettext_lazy("Read and write"),
}
ROAD_PROFILE_LABELS = {
    RoadProfile.CAR: gettext_lazy("Car or van"),
    RoadProfile.BICYCLE: gettext_lazy("Bicycle or cargo bike"),
    RoadProfile.FOOT: gettext_lazy("On foot"),
}


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"),
        max_length=100,
        help_text=gettext_lazy("What uses it, e.g. 'Shopify store'."),
    )
    scope = forms.ChoiceField(
        label=gettext_lazy("Scope"),
        choices=[(value, SCOPE_LABELS.get(value, label)) for value, label in ApiKey.Scope.choices],
        initial=ApiKey.Scope.READ_WRITE,
    )


class TenantSettingsForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    time_zone = forms.ChoiceField(label=gettext_lazy("Time zone"), choices=())
    country = forms.CharField(
        label=gettext_lazy("Country"),
        max_length=2,
        help_text=gettext_lazy("ISO 3166-1 alpha-2, e.g. GB."),
    )
    locale = forms.CharField(
        label=gettext_lazy("Locale"), max_length=16, help_text=gettext_lazy("e.g. en, en-gb, de.")
    )
    location_retention_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        label=gettext_lazy("Keep drivers' GPS history (days)"),
        help_text=gettext_lazy("Older positions are deleted every night."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a zone saved before the list was limited to canonical ones stays choosable
        self.fields["time_zone"].choices = zone_choices(keep=self.initial.get("time_zone", ""))


class DispatchSettingsForm(forms.Form):
    """Auto-dispatch of today's new orders, and the nightly plan of tomorrow."""

    auto_dispatch = forms.BooleanField(
        required=False,
        label=gettext_lazy("Auto-dispatch today's new orders"),
        help_text=gettext_lazy(
            "An order that arrives for today (API, CSV, store, this dashboard) goes at "
            "once on the published route where it costs least; one that fits nowhere waits "
            "unassigned and you get an alert on the board."
        ),
    )
    auto_plan = forms.BooleanField(
        required=False, label=gettext_lazy("Plan and publish tomorrow at")
    )
    auto_plan_at = forms.TimeField(
        required=False,
        label=gettext_lazy("Time (your time zone)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=gettext_lazy(
            "Each day at this time tomorrow's orders are planned and the routes "
            "published to the drivers. A failure shows as an alert on the board."
        ),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("auto_plan") and data.get("auto_plan_at") is None:
            self.add_error("auto_plan_at", _("Choose the time tomorrow is planned."))
        if not data.get("auto_plan"):
            data["auto_plan_at"] = None
        return data


STRAIGHT = ""


class RoadsForm(forms.Form):
    """The road region and profile of the business's travel times."""

    road = forms.ChoiceField(
        label=gettext_lazy("Roads"),
        choices=(),
        required=False,
        help_text=gettext_lazy(
            "Travel times, paths on the maps and address search come from this region."
        ),
    )

    def __init__(self, *args: Any, current: tuple[str, str] = ("", "car"), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profiles = {**dict(RoadProfile.choices), **ROAD_PROFILE_LABELS}
        choices = [(STRAIGHT, _("None: estimate from straight lines"))]
        choices += [
            (f"{r.name}/{r.profile}", f"{r.name} · {profiles.get(r.profile, r.profile)}")
            for r in regions()
        ]
        name, profile = current
        value = f"{name}/{profile}" if name else STRAIGHT
        if value not in dict(choices):  # chosen once, not built here (any more): still shown
            label = _("%(region)s · %(profile)s (not built here)") % {
                "region": name,
                "profile": profiles.get(profile, profile),
            }
            choices.append((value, label))
        self.fields["road"].choices = choices
        self.fields["road"].initial = value

    def region_and_profile(self) -> tuple[str, str]:
        value = self.cleaned_data.get("road") or STRAIGHT
        if not value:
            return "", RoadProfile.CAR
        name, _slash, profile = value.partition("/")
        return name, profile


def _factor_help_text() -> str:
    # the percentage as an argument: a bare "30% s" reads to xgettext as a format
    return _("1.3 = %(percent)s slower") % {"percent": "30%"}


_factor_help = lazy(_factor_help_text, str)


class RushHourForm(forms.Form):
    """One rush hour: days, a local time span and how much slower travel is then."""

    days = forms.TypedMultipleChoiceField(
        choices=list(WEEKDAYS_ABBR.items()),  # DAY_NAMES' order (Mon = 0), translated
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    start = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(required=False, widget=forms.TimeInput(attrs={"type": "time"}))
    factor = forms.FloatField(
        required=False,
        min_value=FACTOR_MIN,
        max_value=FACTOR_MAX,
        widget=forms.NumberInput(attrs={"step": "0.05"}),
        help_text=_factor_help(),
    )

    def as_row(self) -> dict | None:
        """The rush hour as stored, or None for a row left empty (or marked for deletion)."""
        data = self.cleaned_data
        if not data or data.get("DELETE"):
            return None
        if not data.get("days") and not data.get("start") and not data.get("end"):
            return None
        return {
            "days": data.get("days") or [],
            "start": data["start"].strftime("%H:%M") if data.get("start") else "",
            "end": data["end"].strftime("%H:%M") if data.get("end") else "",
            "factor": data.get("factor"),
        }


RushHourFormSet = forms.formset_factory(RushHourForm, extra=2, can_delete=True, max_num=12)
