"""Production: PostgreSQL, Redis, S3-compatible storage, gunicorn behind TLS."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str

from .base import *  # noqa: F403

DEBUG = False
SECRET_KEY = env_str("DJANGO_SECRET_KEY")
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True

if env_str("FILEDOCK_S3_BUCKET", ""):
    STORAGES = {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": env_str("FILEDOCK_S3_BUCKET"),
                "endpoint_url": env_str("FILEDOCK_S3_ENDPOINT_URL", "") or None,
                "region_name": env_str("FILEDOCK_S3_REGION", "us-east-1"),
                "access_key": env_str("FILEDOCK_S3_ACCESS_KEY", "") or None,
                "secret_key": env_str("FILEDOCK_S3_SECRET_KEY", "") or None,
                "default_acl": None,
                "querystring_expire": 300,
                "file_overwrite": False,
            },
        },
        "staticfiles": {"BACKEND": "core.static.ManifestStaticStorage"},  # WhiteNoise's, URLs kept
    }

FIELD_ENCRYPTION_KEYS = env_list("FILEDOCK_FIELD_ENCRYPTION_KEYS", [])
if not FIELD_ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "Set FILEDOCK_FIELD_ENCRYPTION_KEYS (python -c 'from cryptography.fernet import Fernet; "
        "print(Fernet.generate_key().decode())')."
    )
