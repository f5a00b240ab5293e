"""Page forms. They collect input; validation of meaning happens in tenants.services."""

from django import forms

from tenants.models import TIME_ZONE_CHOICES, ApiKey


class SignupForm(forms.Form):
    name = forms.CharField(label="Business name", max_length=200)
    slug = forms.CharField(
        label="Address", max_length=40, help_text="Your dashboard's host: <name>.<our domain>."
    )
    owner_name = forms.CharField(label="Your name", max_length=150, required=False)
    # A CharField, so that a mistyped email is reported by the service together with
    # every other problem of the sign-up, not on its own first.
    owner_email = forms.CharField(label="Your email", max_length=254, widget=forms.EmailInput)
    owner_password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES, initial="UTC")
    country = forms.CharField(max_length=2, help_text="Two letters, e.g. GB, US, DE.")

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'Shopify store'.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ_WRITE)


class TenantSettingsForm(forms.Form):
    name = forms.CharField(max_length=200)
    time_zone = forms.ChoiceField(choices=TIME_ZONE_CHOICES)
    country = forms.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, e.g. GB.")
    locale = forms.CharField(max_length=16, help_text="e.g. en, en-gb, de.")
    location_retention_days = forms.IntegerField(
        min_value=1,
        max_value=3650,
        label="Keep drivers' GPS history (days)",
        help_text="Older positions are deleted every night.",
    )
