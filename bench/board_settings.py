"""Settings for the web process that bench/board.py starts: the test settings (DEBUG=0 from the
environment) with plain static files, so that `{% static %}` works without a
collectstatic manifest. Everything else is as production runs it."""

from config.settings_test import *  # noqa: F403
from config.settings_test import STORAGES

STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
