"""Settings the minimal apps share (bench/minimal_upload_app.py, bench/minimal_cdn_app.py): no
apps, no middleware, and a database only when DATABASE_URL is set, its connections kept as
production keeps them. Each app adds ROOT_URLCONF = its own module."""

import os

SECRET_KEY = "bench-minimal-" + "x" * 50
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list = []
MIDDLEWARE: list = []
DATABASES: dict = {}
if os.environ.get("DATABASE_URL"):
    import dj_database_url

    DATABASES = {"default": dj_database_url.parse(os.environ["DATABASE_URL"], conn_max_age=60, conn_health_checks=True)}
USE_TZ = True
# config.wsgi paces request bodies (core.pacing) for every app it serves: the product's defaults.
FILEDOCK_BODY_IDLE_SECONDS = 20
FILEDOCK_BODY_GRACE_SECONDS = 10
FILEDOCK_BODY_MIN_RATE = 4096
FILEDOCK_BODIES_PER_CLIENT = 0
