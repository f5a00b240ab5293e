import zoneinfo

from django import forms

from tenants.models import ApiKey, Tenant


class SignupForm(forms.Form):
    name = forms.CharField(label="Business name", max_length=200)
    slug = forms.CharField(
        label="Address", max_length=40, help_text="Your dashboard's host: <name>.<our domain>."
    )
    owner_name = forms.CharField(label="Your name", max_length=150, required=False)
    owner_email = forms.EmailField(label="Your email")
    owner_password = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    time_zone = forms.ChoiceField(
        choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())], initial="UTC"
    )
    country = forms.CharField(max_length=2, min_length=2, help_text="Two letters, e.g. GB, US, DE.")

    def clean_slug(self) -> str:
        return self.cleaned_data["slug"].strip().lower()

    def clean_country(self) -> str:
        return self.cleaned_data["country"].upper()


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="What uses it, e.g. 'Shopify store'.")
    scope = forms.ChoiceField(choices=ApiKey.Scope.choices, initial=ApiKey.Scope.READ_WRITE)


class TenantSettingsForm(forms.ModelForm):
    time_zone = forms.ChoiceField(
        choices=[(tz, tz) for tz in sorted(zoneinfo.available_timezones())]
    )

    class Meta:
        model = Tenant
        fields = ["name", "time_zone", "country", "locale"]
