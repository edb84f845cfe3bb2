"""The embedded default used by `make run`: SQLite, local disk, console email, no Redis.

Background work runs in a Celery worker and beat started next to the web server
(`manage.py serve`), with the broker's messages kept in files under var/broker/. The CDN has an
origin of its own, a second port that `serve` also listens on.
"""

import os

from config.env import env_bool, env_int, env_list, env_str

# Before base reads it: the embedded CDN's own origin unless the environment names one (`serve`
# derives it from the addresses it listens on when none was given).
CDN_BASE_GIVEN = "FILEDOCK_CDN_BASE" in os.environ
os.environ.setdefault("FILEDOCK_CDN_BASE", "http://127.0.0.1:8001/")

from .base import *  # noqa: E402, F403
from .base import CELERY_BROKER_URL, REDIS_URL, VAR_DIR  # noqa: E402

# Off as in production: error pages and the APIs' JSON 404s as users get them, no URLconf listing.
DEBUG = env_bool("DJANGO_DEBUG", False)
CDN_LOOPBACK_ALIASES = True  # localhost:8001 and [::1]:8001 reach the CDN as 127.0.0.1:8001 does
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "optional")
# A developer points webhooks (and uploads from URL) at a receiver on this machine; production
# settings keep base's empty default, which refuses loopback and private addresses.
FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = env_list("FILEDOCK_OUTBOUND_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128"])

if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # A worker whose slots are full reads the folder again only after this pause (kombu's
        # default: 1 s), so it ran two tasks a second: the wake-ups and copies of 50 files stored
        # at once took a minute to drain. A listing every 0.1 s costs nothing measurable.
        "polling_interval": 0.1,
    }

if not REDIS_URL:
    # One cache for every process of the embedded run, so a rate limit counts each request once
    # whichever web worker takes it (per-process memory would give each worker its own count).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# No proxy in front: one address may hold at most this many request bodies being read at once per
# web process (core.pacing), so a few slow clients cannot take every thread.
FILEDOCK_BODIES_PER_CLIENT = env_int("FILEDOCK_BODIES_PER_CLIENT", 12)

# The embedded run keeps everything under var/; make sure it exists before SQLite opens it.
VAR_DIR.mkdir(parents=True, exist_ok=True)
