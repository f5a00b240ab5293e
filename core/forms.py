"""Helpers shared by the dashboard's forms."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest


def form_add_service_errors(form: forms.Form, exc: ValidationError) -> None:
    """Show a service's field errors on the form's fields (others at the top of the form)."""
    for field, errors in exc.message_dict.items():
        for error in errors:
            form.add_error(field if field in form.fields else None, error)


def flash_service_errors(request: HttpRequest, exc: ValidationError) -> None:
    """Show a service's refusal as error messages on the next page (for POST-redirect
    actions that have no form to put the errors on)."""
    for field_messages in exc.message_dict.values():
        for message in field_messages:
            messages.error(request, message)
