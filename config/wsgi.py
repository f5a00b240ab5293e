import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()

from core.startup import refuse_unsafe_configuration  # noqa: E402

refuse_unsafe_configuration()
