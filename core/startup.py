"""What a process that serves or works must not start with.

config/settings.py lets a process load without SECRET_KEY or PUBLIC_BASE_URL when DEBUG is
off, so that commands which only read the code (makemigrations, collectstatic, shell) run on
a bare checkout, and notes what is missing in `UNSAFE_CONFIGURATION`. The web process
(config/asgi.py, config/wsgi.py), the worker, the scheduler and the deploy's migrate refuse
to start with any of it; `manage.py check --deploy` reports it as an error.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import Error
from django.core.exceptions import ImproperlyConfigured


def unsafe_configuration() -> list[str]:
    return list(getattr(settings, "UNSAFE_CONFIGURATION", []))


def refuse_unsafe_configuration() -> None:
    """Raise ImproperlyConfigured naming what this deployment must set first."""
    problems = unsafe_configuration()
    if problems:
        raise ImproperlyConfigured(" ".join(problems))


def unsafe_configuration_check(app_configs=None, **kwargs) -> list[Error]:
    """`manage.py check --deploy`: each missing setting an error."""
    return [Error(problem, id="dispatch.E001") for problem in unsafe_configuration()]
