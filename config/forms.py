"""Helpers shared by the dashboard's forms."""

from django import forms
from django.core.exceptions import ValidationError


def form_add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field errors on the form's fields (others at the top of the form)."""
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)
