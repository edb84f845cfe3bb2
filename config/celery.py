import os

from celery import Celery
from kombu.transport import TRANSPORT_ALIASES

# The embedded run's `filesystem://` broker, with its message files written whole (core.broker).
TRANSPORT_ALIASES["filesystem"] = "core.broker:Transport"

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("filedock")
app.config_from_object("django.conf:settings", namespace="CELERY")
# Each app's tasks.py, and those of the packages that own background work of their own.
app.autodiscover_tasks()
app.autodiscover_tasks(
    [
        "files.uploads",
        "files.storage",
        "files.outbox",
        "files.addons",
        "files.media",
        "files.conversions",
        "projects.webhooks",
    ]
)
