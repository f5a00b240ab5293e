"""Page forms. They collect input; tenants.services.provisioning validates their meaning."""

from typing import Any

from django import forms
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString

from geo.selectors import regions
from tenants.models import ApiKey, RoadProfile
from tenants.services.roads import DAY_NAMES, FACTOR_MAX, FACTOR_MIN
from tenants.services.zones import zone_choices, zone_of_country

HOST_PLACEHOLDER = "your-business"


def host_help_text(slug: str) -> SafeString:
    """Where the dashboard will be, e.g. "Your dashboard will be at acme.example.com"; the
    slug part is updated as it is typed (static/js/signup.js). Help texts are rendered
    as HTML, so every value in it is escaped here."""
    return format_html(
        'Your dashboard will be at <strong class="host-preview"><span data-host-slug '
        'data-placeholder="{}">{}</span>.{}</strong>',
        HOST_PLACEHOLDER,
        slug.strip().lower() or HOST_PLACEHOLDER,
        settings.TENANT_BASE_DOMAIN,
    )


class SignupForm(forms.Form):
    name = forms.CharField(label="Business name", max_length=200)
    slug = forms.CharField(label="Address", max_length=40)
    owner_name = forms.CharField(label="Your name", max_length=150, required=False)
    # A CharField, so that a mistyped email is reported by the service together with
    # every other problem of the sign-up, not on its own first.
    owner_email = forms.CharField(label="Your email", max_length=254, widget=forms.EmailInput)
    owner_password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    time_zone = forms.ChoiceField(
        choices=(), required=False, help_text="The zone your delivery times are in."
    )
    country = forms.CharField(max_length=2, help_text="Two letters, e.g. GB, US, DE.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        typed = self.data.get(self.add_prefix("slug")) if self.is_bound else None
        self.fields["slug"].help_text = host_help_text(str(typed or ""))
        zone = self.fields["time_zone"]
        zone.choices = [("", "Choose your time zone"), *zone_choices()]
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
                self.add_error("time_zone", "Choose the time zone your deliveries run in.")
        return data


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'Shopify store'.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ_WRITE)


class TenantSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    time_zone = forms.ChoiceField(choices=())
    country = forms.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")
    locale = forms.CharField(max_length=16, help_text="e.g. en, en-gb, de.")
    location_retention_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        label="Keep drivers' GPS history (days)",
        help_text="Older positions are deleted every night.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # a zone saved before the list was limited to canonical ones stays choosable
        self.fields["time_zone"].choices = zone_choices(keep=self.initial.get("time_zone", ""))


class DispatchSettingsForm(forms.Form):
    """Auto-dispatch of today's new orders, and the nightly plan of tomorrow."""

    auto_dispatch = forms.BooleanField(
        required=False,
        label="Auto-dispatch today's new orders",
        help_text="An order that arrives for today (API, CSV, store, this dashboard) goes at "
        "once on the published route where it costs least; one that fits nowhere waits "
        "unassigned and you get an alert on the board.",
    )
    auto_plan = forms.BooleanField(required=False, label="Plan and publish tomorrow at")
    auto_plan_at = forms.TimeField(
        required=False,
        label="Time (your time zone)",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Each day at this time tomorrow's orders are planned and the routes "
        "published to the drivers. A failure shows as an alert on the board.",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("auto_plan") and data.get("auto_plan_at") is None:
            self.add_error("auto_plan_at", "Choose the time tomorrow is planned.")
        if not data.get("auto_plan"):
            data["auto_plan_at"] = None
        return data


STRAIGHT = ""


class RoadsForm(forms.Form):
    """The road region and profile of the business's travel times."""

    road = forms.ChoiceField(
        label="Roads",
        choices=(),
        required=False,
        help_text="Travel times, paths on the maps and address search come from this region.",
    )

    def __init__(self, *args: Any, current: tuple[str, str] = ("", "car"), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        profiles = dict(RoadProfile.choices)
        choices = [(STRAIGHT, "None: estimate from straight lines")]
        choices += [
            (f"{r.name}/{r.profile}", f"{r.name} · {profiles.get(r.profile, r.profile)}")
            for r in regions()
        ]
        name, profile = current
        value = f"{name}/{profile}" if name else STRAIGHT
        if value not in dict(choices):  # chosen once, not built here (any more): still shown
            choices.append((value, f"{name} · {profiles.get(profile, profile)} (not built here)"))
        self.fields["road"].choices = choices
        self.fields["road"].initial = value

    def region_and_profile(self) -> tuple[str, str]:
        value = self.cleaned_data.get("road") or STRAIGHT
        if not value:
            return "", RoadProfile.CAR
        name, _, profile = value.partition("/")
        return name, profile


class RushHourForm(forms.Form):
    """One rush hour: days, a local time span and how much slower travel is then."""

    days = forms.TypedMultipleChoiceField(
        choices=list(enumerate(DAY_NAMES)),
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
        help_text="1.3 = 30% slower",
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
