"""
WSGI config for config project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Build the offline ZIP index as each server process starts, not in the first search that needs it
# (it takes a second or more, which that request would wait).
from directory import geo  # noqa: E402

geo.zip_index()
