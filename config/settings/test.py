"""Settings for the test suite: real PostgreSQL and Redis on this machine."""

import os
import tempfile

from config.env import env_database, env_int, env_str

from .base import *  # noqa: F403
from .base import CELERY_BROKER_TRANSPORT_OPTIONS, CONTENT_SECURITY_POLICY  # noqa: F401

DATABASES = {"default": env_database("DATABASE_URL", "postgres://root@127.0.0.1:5432/filedock")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend with a flush by DELETE between transactional tests (tests/database).
    DATABASES["default"]["ENGINE"] = "tests.database"
# Live-server request threads must not keep connections open past their request.
DATABASES["default"]["CONN_MAX_AGE"] = 0
REDIS_URL = env_str("REDIS_URL", "redis://127.0.0.1:6379/15")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SESSION_ENGINE = "core.sessions"  # production's, over the one cache of this process

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
FIELD_ENCRYPTION_KEYS = ["dGVzdC1rZXktdGVzdC1rZXktdGVzdC1rZXktdGVzdC0="]
MEDIA_ROOT = tempfile.mkdtemp(prefix="filedock-media-")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
STATIC_ROOT = tempfile.mkdtemp(prefix="filedock-static-")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
# Tests fetch from local HTTP servers; the refusal of private addresses is tested with this emptied.
FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.0/8", "::1/128"]
# Every test uploads from 127.0.0.1: limits high enough never to throttle (the limit tests lower them).
FILEDOCK_RATE_UPLOAD = "100000/min"
FILEDOCK_RATE_UPLOAD_IP = "100000/min"
FILEDOCK_RATE_MISS_IP = "100000/min"
FILEDOCK_RATE_MISS_PROJECT = "100000/min"
FILEDOCK_RATE_AUTH_FAILED = "100000/min"
# Fault tests kill workers: a short visibility timeout makes Redis hand an unacknowledged task to
# another worker quickly (kombu's default is an hour).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,
    "visibility_timeout": env_int("FILEDOCK_CELERY_VISIBILITY_TIMEOUT", 3600),
}
# One queue per test run (inherited by worker subprocesses through the environment), so suites
# running side by side on one Redis never take each other's tasks.
# Under pytest-xdist each worker process has a queue of its own (its name carries the worker's id);
# the processes a worker starts inherit that name, already ending in the id, and keep it.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if _WORKER and not os.environ.get("FILEDOCK_TEST_QUEUE", "").endswith(f"-{_WORKER}"):
    os.environ["FILEDOCK_TEST_QUEUE"] = f"filedock-test-{os.getpid()}-{_WORKER}"
CELERY_TASK_DEFAULT_QUEUE = os.environ.setdefault("FILEDOCK_TEST_QUEUE", f"filedock-test-{os.getpid()}")
# No clamd unless a test starts one (tests/clamd.py, the `clamd` fixture): a folder that no
# package made, so the add-ons API says what to install, the same on every machine.
FILEDOCK_CLAMD_ADDRESS = "/nonexistent/clamav/clamd.ctl"
