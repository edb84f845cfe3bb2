import os

from django.core.wsgi import get_wsgi_application

from core.pacing import BodyPacing

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
# A request body that arrives too slowly is cut off (core.pacing), so slow clients cannot hold
# every worker thread; production puts nginx in front, which buffers bodies itself.
application = BodyPacing(get_wsgi_application())
