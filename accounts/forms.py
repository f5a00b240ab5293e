from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import User
from core.i18n import language_choices

#: The blank choice of a person's language: the business's (Tenant.locale), whatever it is.
AUTOMATIC = _("Automatic (the business's language)")


class EmailAuthenticationForm(AuthenticationForm):
    username = forms.EmailField(
        label=_("Email"),
        widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"}),
    )


class UserCreateForm(forms.Form):
    email = forms.EmailField(label=_("Email"))
    name = forms.CharField(label=_("Name"), max_length=150, required=False)
    role = forms.ChoiceField(
        label=_("Role"), choices=User.Role.choices, initial=User.Role.DISPATCHER
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=language_choices(automatic=AUTOMATIC), required=False
    )
    password = forms.CharField(
        label=_("Password"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 10 characters; share it with the person, who can change it later."),
    )


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=User.Role.choices)


class LanguageForm(forms.Form):
    """A person's language: one of settings.LANGUAGES, or blank for the business's."""

    language = forms.ChoiceField(
        label=_("Language"), choices=language_choices(automatic=AUTOMATIC), required=False
    )
