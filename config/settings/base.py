"""Settings shared by every environment. Values come from the environment (see .env.example)."""

from pathlib import Path
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from config.env import env_base_url, env_bool, env_database, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("FILEDOCK_VAR_DIR", str(BASE_DIR / "var")))

SECRET_KEY = env_str("DJANGO_SECRET_KEY", "insecure-embedded-default-change-me")
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

# Where the dashboard is reached; used in emails and printed by `manage.py bootstrap`.
SITE_URL = env_str("FILEDOCK_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The Uploadcare-compatible bases. A path is served by this server; a full URL names another host.
UPLOAD_BASE = env_base_url("FILEDOCK_UPLOAD_BASE", "/upload/")
API_BASE = env_base_url("FILEDOCK_API_BASE", "/api/")
CDN_BASE = env_base_url("FILEDOCK_CDN_BASE", "/cdn/")
PROXY_BASE = env_base_url("FILEDOCK_PROXY_BASE", "/proxy/")
# A CDN base that is a full URL is the CDN's own origin: this server answers requests for that host
# with the CDN's URLs at its root (config.middleware), so no uploaded file is ever served from the
# dashboard's origin, and the dashboard's old /cdn/ links redirect there. Empty for a path.
_cdn = urlsplit(CDN_BASE)
CDN_ORIGIN = f"{_cdn.scheme}://{_cdn.netloc}" if _cdn.scheme and _cdn.netloc else ""
CDN_LOOPBACK_ALIASES = False  # the embedded run: every loopback name of the CDN's port is the CDN
if CDN_ORIGIN and _cdn.hostname not in ALLOWED_HOSTS and "*" not in ALLOWED_HOSTS:
    ALLOWED_HOSTS = [*ALLOWED_HOSTS, _cdn.hostname]

# Secret columns (API secrets, webhook secrets, credentials) are encrypted with these keys.
# The first encrypts; all of them decrypt, so a key can be rotated in by putting it first.
FIELD_ENCRYPTION_KEYS = env_list("FILEDOCK_FIELD_ENCRYPTION_KEYS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "template_partials",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
    "accounts",
    "projects",
    "files",
    "billing",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.middleware.SendLaterMiddleware",
    "config.middleware.CdnOriginMiddleware",
    "projects.apilogs.ApiLogMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.UserSessionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "projects.context_processors.project_switcher",
            ],
            # {% link %}: {% url %} reversed once per process, for the layout's links.
            "libraries": {"links": "core.links"},
        },
    },
    {
        # Only for the files page's rows (files/dashboard/rows.py), the page's hot loop; its own
        # folder, so the Django engine above never looks at a Jinja2 template or the reverse.
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"environment": "files.dashboard.rows.environment"},  # escapes what is not safe
    },
]

DATABASES = {"default": env_database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and immediate transactions let the web and worker processes share one SQLite file.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "projects:home"

# django-allauth
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
# The product's words on the login page; both refuse addresses that must use single sign-on.
ACCOUNT_FORMS = {"login": "accounts.forms.LoginForm", "signup": "accounts.forms.SignupForm"}
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_SESSION_REMEMBER = None
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Filedock] "
ACCOUNT_RATE_LIMITS = {
    "login": env_str("FILEDOCK_RATE_LOGIN", "30/m/ip"),
    "login_failed": env_str("FILEDOCK_RATE_LOGIN_FAILED", "10/m/ip,5/5m/key"),
    "signup": env_str("FILEDOCK_RATE_SIGNUP", "20/m/ip"),
    "reset_password": env_str("FILEDOCK_RATE_RESET_PASSWORD", "20/m/ip,5/m/key"),
    "confirm_email": "1/3m/key",
    "change_password": "5/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Filedock"
USERSESSIONS_TRACK_ACTIVITY = True
USERSESSIONS_ADAPTER = "accounts.adapter.UserSessionsAdapter"
# Single sign-on through an OpenID Connect provider: configured here from the environment, or as a
# "Social application" (provider OpenID Connect) in the admin. Someone whose provider vouches for
# an email address signs in to the account with that address, or gets a new one.
FILEDOCK_SSO_NAME = env_str("FILEDOCK_SSO_NAME", "Single sign-on")
FILEDOCK_SSO_SERVER_URL = env_str("FILEDOCK_SSO_SERVER_URL", "")  # the provider's issuer URL
FILEDOCK_SSO_CLIENT_ID = env_str("FILEDOCK_SSO_CLIENT_ID", "")
FILEDOCK_SSO_CLIENT_SECRET = env_str("FILEDOCK_SSO_CLIENT_SECRET", "")
# Email domains whose people sign in through the provider only (no password, no signup form).
FILEDOCK_SSO_ONLY_DOMAINS = [d.lower() for d in env_list("FILEDOCK_SSO_ONLY_DOMAINS", [])]
SOCIALACCOUNT_ADAPTER = "accounts.adapter.SocialAccountAdapter"
SOCIALACCOUNT_PROVIDERS = {
    "openid_connect": {
        "APPS": [
            {
                "provider_id": "sso",
                "name": FILEDOCK_SSO_NAME,
                "client_id": FILEDOCK_SSO_CLIENT_ID,
                "secret": FILEDOCK_SSO_CLIENT_SECRET,
                "settings": {"server_url": FILEDOCK_SSO_SERVER_URL, "token_auth_method": "client_secret_post"},
            }
        ]
        if FILEDOCK_SSO_SERVER_URL
        else []
    }
}
SOCIALACCOUNT_EMAIL_AUTHENTICATION = True  # a verified address from the provider opens its account
SOCIALACCOUNT_EMAIL_AUTHENTICATION_AUTO_CONNECT = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the provider has verified it (the adapter checks)
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_STORE_TOKENS = False

DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "Filedock <noreply@filedock.local>")
EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("DJANGO_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("DJANGO_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("DJANGO_EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("DJANGO_EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("DJANGO_EMAIL_USE_TLS", False)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = Path(env_str("FILEDOCK_MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media/"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "core.static.ManifestStaticStorage"},  # WhiteNoise's, URLs kept
}

REDIS_URL = env_str("REDIS_URL", "")
CACHES = {
    "default": (
        # Short socket timeouts: a hung Redis must not hang requests (rate limits fail open).
        {
            "BACKEND": "core.cache.RedisCache",  # Django's, its redis client built once
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
}
# Sessions read from Redis and kept in the database (core.sessions), where one Redis serves every
# process; a cache of each process's own would keep a session another process ended.
SESSION_ENGINE = "core.sessions" if REDIS_URL else "django.contrib.sessions.backends.db"

# Celery: Redis in production; the embedded run uses a broker on local disk (see local.py).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "filesystem://")
# Publishing gives up at once when the broker is away (kombu would retry for ~6 s, inside the web
# request that committed); outbox and delivery sweeps queue the work once it is back.
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Every periodic job, in one place. Each is a bounded query that is harmless to run twice; the
# sweeps among them send again whatever a lost message or a dead worker left behind.
CELERY_BEAT_SCHEDULE = {
    "relay-outbox": {"task": "files.tasks.relay_outbox", "schedule": 5.0},
    "prune-outbox": {"task": "files.tasks.prune_outbox", "schedule": 60.0},
    "dispatch-due-webhook-deliveries": {"task": "projects.tasks.dispatch_due_deliveries", "schedule": 5.0},
    "sweep-backups": {"task": "files.tasks.sweep_backups", "schedule": 10.0},
    "requeue-from-url": {"task": "files.tasks.requeue_from_url", "schedule": 30.0},
    "expire-temporary-files": {"task": "files.tasks.expire_temporary_files", "schedule": 60.0},
    "purge-deleted-projects": {"task": "projects.tasks.purge_deleted_projects", "schedule": 60.0},
    "sweep-edge": {"task": "files.tasks.sweep_edge", "schedule": 60.0},
    "sweep-addons": {"task": "files.tasks.sweep_addons", "schedule": 30.0},
    "sweep-conversions": {"task": "files.tasks.sweep_conversions", "schedule": 30.0},
    "sweep-media": {"task": "files.tasks.sweep_media", "schedule": 300.0},
    "billing-flush-usage": {"task": "billing.tasks.flush_usage", "schedule": 5.0},
    "drain-api-logs": {"task": "projects.tasks.drain_api_logs", "schedule": 5.0},
    "billing-usage-alerts": {"task": "billing.tasks.send_usage_alerts", "schedule": 900.0},
    "sweep-orphan-blobs": {"task": "files.tasks.sweep_orphan_blobs", "schedule": 3600.0},
    "sweep-abandoned-uploads": {"task": "files.tasks.sweep_abandoned_uploads", "schedule": 3600.0},
    "billing-sample-usage": {"task": "billing.tasks.sample_usage", "schedule": 3600.0},
    "billing-issue-invoices": {"task": "billing.tasks.issue_invoices", "schedule": 3600.0},
}
# FILEDOCK_BEAT_INTERVALS="name=seconds,...": other seconds for some of those entries (the fault
# tests shorten the sweeps they wait for); a name not above or a bad number stops start-up.
for _pair in env_list("FILEDOCK_BEAT_INTERVALS", []):
    _name, _, _seconds = _pair.partition("=")
    try:
        _interval = float(_seconds)
        if _interval <= 0:
            raise ValueError(_seconds)
        CELERY_BEAT_SCHEDULE[_name.strip()]["schedule"] = _interval
    except (KeyError, ValueError):
        raise ImproperlyConfigured(
            f"FILEDOCK_BEAT_INTERVALS: {_pair!r} is not name=seconds for a periodic job of CELERY_BEAT_SCHEDULE."
        ) from None
PROJECT_PURGE_BATCH = env_int("FILEDOCK_PROJECT_PURGE_BATCH", 500)


# Content Security Policy: no inline scripts or styles anywhere.
def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *filter(None, [CDN_ORIGIN])],  # thumbnails come from the CDN
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        # The single sign-on button posts to allauth, which redirects the form to the provider.
        "form-action": ["'self'", *filter(None, [_origin(FILEDOCK_SSO_SERVER_URL)])],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

INVITATION_MAX_AGE_DAYS = env_int("FILEDOCK_INVITATION_MAX_AGE_DAYS", 14)
SIGNUP_OPEN = env_bool("FILEDOCK_SIGNUP_OPEN", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# API logs (project → API logs): 0 records nothing. Lines wait in Redis (at most PENDING_MAX of them)
# until the drain task writes them, and are kept DAYS days.
FILEDOCK_API_LOG = env_bool("FILEDOCK_API_LOG", True)
FILEDOCK_API_LOG_DAYS = env_int("FILEDOCK_API_LOG_DAYS", 7)
FILEDOCK_API_LOG_PENDING_MAX = env_int("FILEDOCK_API_LOG_PENDING_MAX", 100_000)

# Billing: 0 turns off plan quotas (a private server whose operator does not sell plans).
FILEDOCK_QUOTAS_ENFORCED = env_bool("FILEDOCK_QUOTAS_ENFORCED", True)

# Files
FILEDOCK_MAX_FILE_SIZE = env_int("FILEDOCK_MAX_FILE_SIZE", 5 * 1024**3)
FILEDOCK_DIRECT_UPLOAD_MAX_SIZE = env_int("FILEDOCK_DIRECT_UPLOAD_MAX_SIZE", 100 * 1024**2)
FILEDOCK_MULTIPART_PART_SIZE = 5 * 1024**2  # the official clients cut 5 MiB parts
# Seconds a multipart upload's part URLs live (then the sweep removes it); until it completes or
# expires its declared size counts toward the storage quota. At most this many open per project.
FILEDOCK_MULTIPART_LIFETIME = env_int("FILEDOCK_MULTIPART_LIFETIME", 24 * 3600)
FILEDOCK_MULTIPART_OPEN_MAX = env_int("FILEDOCK_MULTIPART_OPEN_MAX", 50)
FILEDOCK_TEMPORARY_FILE_LIFETIME = env_int("FILEDOCK_TEMPORARY_FILE_LIFETIME", 24 * 3600)
FILEDOCK_EXPIRY_BATCH = env_int("FILEDOCK_EXPIRY_BATCH", 1000)
# Days a relayed outbox event is kept (for the admin and debugging) before the prune deletes it.
FILEDOCK_EVENT_RETENTION_DAYS = env_int("FILEDOCK_EVENT_RETENTION_DAYS", 7)
FILEDOCK_FROM_URL_TIMEOUT = env_int("FILEDOCK_FROM_URL_TIMEOUT", 60)
# Outbound requests (upload from URL, webhooks, proxy) refuse private and loopback addresses
# unless listed here as networks, e.g. "127.0.0.0/8,::1/128".
FILEDOCK_OUTBOUND_ALLOWED_NETWORKS = env_list("FILEDOCK_OUTBOUND_ALLOWED_NETWORKS", [])
# Serve file bytes through nginx: a location prefix mapped to the storage root (X-Accel-Redirect).
FILEDOCK_CDN_X_ACCEL_PREFIX = env_str("FILEDOCK_CDN_X_ACCEL_PREFIX", "")
# With S3 storage, redirect CDN requests to a short-lived presigned URL instead of proxying.
FILEDOCK_CDN_S3_REDIRECT = env_bool("FILEDOCK_CDN_S3_REDIRECT", False)
# ClamAV's clamd: its LocalSocket path (Debian's default below) or host:port of its TCPSocket.
FILEDOCK_CLAMD_ADDRESS = env_str("FILEDOCK_CLAMD_ADDRESS", "/var/run/clamav/clamd.ctl")
# The edge cache's purge endpoint (deploy/nginx.conf), e.g. http://127.0.0.1:8089/purge: with it,
# the CDN records what the edge may keep and purges it when a file goes. Empty: no edge.
FILEDOCK_EDGE_PURGE_URL = env_str("FILEDOCK_EDGE_PURGE_URL", "").rstrip("/")
# The edge writes each multipart part's body to a file in FILEDOCK_EDGE_BODY_DIR and passes its path
# with this secret (deploy/nginx.conf.template, rendered with the same two values). Empty: no edge,
# every part body is read from the request. The folder must be on the storage root's filesystem.
FILEDOCK_EDGE_SECRET = env_str("FILEDOCK_EDGE_SECRET", "")
FILEDOCK_EDGE_BODY_DIR = Path(env_str("FILEDOCK_EDGE_BODY_DIR", "") or VAR_DIR / "edge-bodies")
# Proxies in front that append the client's address to X-Forwarded-For (deploy/'s nginx: 1). The
# per-address limits (logins, uploads, cache misses) and the audit log read the address from it.
ALLAUTH_TRUSTED_PROXY_COUNT = env_int("FILEDOCK_TRUSTED_PROXY_COUNT", 0)
# The largest side an image operation may produce (resize, crop, ...).
FILEDOCK_CDN_MAX_DIMENSION = env_int("FILEDOCK_CDN_MAX_DIMENSION", 5000)
# Images above this many pixels are served as they are, never transformed (a decompression bomb is a 400).
FILEDOCK_CDN_MAX_PIXELS = env_int("FILEDOCK_CDN_MAX_PIXELS", 75_000_000)
# Image renders running at once in one web process, and how long a request waits for a turn (then 503).
FILEDOCK_CDN_RENDERS_PER_PROCESS = env_int("FILEDOCK_CDN_RENDERS_PER_PROCESS", 2)
FILEDOCK_CDN_RENDER_WAIT = env_int("FILEDOCK_CDN_RENDER_WAIT", 10)
FILEDOCK_CDN_RENDER_THREADS = env_int("FILEDOCK_CDN_RENDER_THREADS", 1)  # libvips threads per render
# Cache misses on the CDN and the proxy (renders, origin fetches), per client address and per
# project; 429 with Retry-After past them. Hits are not limited.
FILEDOCK_RATE_MISS_IP = env_str("FILEDOCK_RATE_MISS_IP", "120/min")
FILEDOCK_RATE_MISS_PROJECT = env_str("FILEDOCK_RATE_MISS_PROJECT", "1200/min")
# Failed REST API authentications per client address; past it, every REST request from that
# address answers 429 until the window ends.
FILEDOCK_RATE_AUTH_FAILED = env_str("FILEDOCK_RATE_AUTH_FAILED", "20/min")
# Bytes a project's cache (renderings and proxied copies) may take; past it the least recently
# used are deleted. Anonymous requests decide what is rendered, so this bounds the disk they use.
FILEDOCK_CACHE_BUDGET = env_int("FILEDOCK_CACHE_BUDGET", 2 * 1024**3)
# gif2video: ffmpeg is stopped after this many seconds (the request gets a 503).
FILEDOCK_CDN_VIDEO_SECONDS = env_int("FILEDOCK_CDN_VIDEO_SECONDS", 60)
# The proxy endpoint (PROXY_BASE): the largest remote file it fetches, and the seconds a fetch may take.
FILEDOCK_PROXY_MAX_SIZE = env_int("FILEDOCK_PROXY_MAX_SIZE", 100 * 1024**2)
FILEDOCK_PROXY_TIMEOUT = env_int("FILEDOCK_PROXY_TIMEOUT", 30)
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2  # larger uploads spool to a temporary file, not memory
# A request body must keep arriving (core.pacing): no read waits longer than the idle seconds, and
# after the grace it averages at least the minimum rate (bytes/s); else a 400 frees the thread.
FILEDOCK_BODY_IDLE_SECONDS = env_int("FILEDOCK_BODY_IDLE_SECONDS", 20)
FILEDOCK_BODY_GRACE_SECONDS = env_int("FILEDOCK_BODY_GRACE_SECONDS", 10)
FILEDOCK_BODY_MIN_RATE = env_int("FILEDOCK_BODY_MIN_RATE", 4096)
# Request bodies one client address may have in flight per web process (0: no cap). Off by default:
# behind a proxy every request comes from its address; the embedded run (no proxy) sets 12.
FILEDOCK_BODIES_PER_CLIENT = env_int("FILEDOCK_BODIES_PER_CLIENT", 0)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 2000
# Functions that turn each outbox event into work (webhook deliveries, backup jobs, ...).
FILEDOCK_OUTBOX_CONSUMERS: list[str] = [
    "projects.webhooks.outbox.deliveries_for_events",
    "files.storage.backups.jobs_for_events",
    "files.addons.runs.runs_for_events",
]

# Webhooks: each attempt times out after FILEDOCK_WEBHOOK_TIMEOUT seconds; a worker's claim on an
# attempt lasts FILEDOCK_WEBHOOK_CLAIM_SECONDS (longer than the delivery task's 75 s time limit, so
# two attempts never overlap); failures are retried with backoff for FILEDOCK_WEBHOOK_RETRY_WINDOW
# seconds; this many failed attempts in a row disable the endpoint and email the owner.
FILEDOCK_WEBHOOK_TIMEOUT = env_int("FILEDOCK_WEBHOOK_TIMEOUT", 15)
FILEDOCK_WEBHOOK_CLAIM_SECONDS = env_int("FILEDOCK_WEBHOOK_CLAIM_SECONDS", 90)
FILEDOCK_WEBHOOK_RETRY_WINDOW = env_int("FILEDOCK_WEBHOOK_RETRY_WINDOW", 3 * 24 * 3600)
FILEDOCK_WEBHOOK_DISABLE_AFTER_FAILURES = env_int("FILEDOCK_WEBHOOK_DISABLE_AFTER_FAILURES", 20)

# Backups: copies to a project's backup bucket. A copy may take FILEDOCK_BACKUP_TIME_LIMIT seconds;
# a worker's claim on it lasts FILEDOCK_BACKUP_LEASE (longer, so copies never overlap; after it a
# dead worker's copy is made again); failures are retried after FILEDOCK_BACKUP_RETRY_BASE seconds,
# doubling up to FILEDOCK_BACKUP_RETRY_MAX, and marked failed after FILEDOCK_BACKUP_MAX_ATTEMPTS.
FILEDOCK_BACKUP_TIME_LIMIT = env_int("FILEDOCK_BACKUP_TIME_LIMIT", 3600)
FILEDOCK_BACKUP_LEASE = env_int("FILEDOCK_BACKUP_LEASE", FILEDOCK_BACKUP_TIME_LIMIT + 60)
FILEDOCK_BACKUP_RETRY_BASE = env_int("FILEDOCK_BACKUP_RETRY_BASE", 30)
FILEDOCK_BACKUP_RETRY_MAX = env_int("FILEDOCK_BACKUP_RETRY_MAX", 3600)
FILEDOCK_BACKUP_MAX_ATTEMPTS = env_int("FILEDOCK_BACKUP_MAX_ATTEMPTS", 30)
# Seconds a new copy waits for its queued message before the sweep sends another one.
FILEDOCK_BACKUP_SWEEP_GRACE = env_int("FILEDOCK_BACKUP_SWEEP_GRACE", 60)
# Bytes per second one copy may send (0: no limit), to leave the server's uplink to its users.
FILEDOCK_BACKUP_MAX_BANDWIDTH = env_int("FILEDOCK_BACKUP_MAX_BANDWIDTH", 0)
FILEDOCK_BACKUP_BACKFILL_BATCH = 500
FILEDOCK_BACKUP_SWEEP_LIMIT = 500

# Document and video conversions: one may run FILEDOCK_CONVERSION_TIME_LIMIT seconds (then its tool
# is killed and the job fails); a worker's claim lasts FILEDOCK_CONVERSION_LEASE (longer, so a job
# never runs twice at once; after it a dead worker's job runs again). Storage or a tool that is away
# is retried after FILEDOCK_CONVERSION_RETRY_BASE seconds, doubling up to FILEDOCK_CONVERSION_RETRY_MAX,
# and the job fails after FILEDOCK_CONVERSION_MAX_ATTEMPTS.
FILEDOCK_CONVERSION_TIME_LIMIT = env_int("FILEDOCK_CONVERSION_TIME_LIMIT", 600)
FILEDOCK_CONVERSION_LEASE = env_int("FILEDOCK_CONVERSION_LEASE", FILEDOCK_CONVERSION_TIME_LIMIT + 120)
FILEDOCK_CONVERSION_RETRY_BASE = env_int("FILEDOCK_CONVERSION_RETRY_BASE", 30)
FILEDOCK_CONVERSION_RETRY_MAX = env_int("FILEDOCK_CONVERSION_RETRY_MAX", 3600)
FILEDOCK_CONVERSION_MAX_ATTEMPTS = env_int("FILEDOCK_CONVERSION_MAX_ATTEMPTS", 10)

# Invoices: who issues them. Lines are separated by a literal "\n" (an environment variable holds
# one line); the payment details are printed on unpaid invoices.
FILEDOCK_INVOICE_ISSUER = env_str("FILEDOCK_INVOICE_ISSUER", "Filedock").replace("\\n", "\n")
FILEDOCK_INVOICE_VAT_NUMBER = env_str("FILEDOCK_INVOICE_VAT_NUMBER", "")
FILEDOCK_INVOICE_PAYMENT_DETAILS = env_str(
    "FILEDOCK_INVOICE_PAYMENT_DETAILS", "Payment by bank transfer, quoting the invoice number."
).replace("\\n", "\n")

# REST API (Uploadcare v0.7)
FILEDOCK_API_RATE = env_str("FILEDOCK_API_RATE", "1200/min")
# Upload API requests per public key and per client address (count/period); past it: 429 with Retry-After.
FILEDOCK_RATE_UPLOAD = env_str("FILEDOCK_RATE_UPLOAD", "1200/min")
FILEDOCK_RATE_UPLOAD_IP = env_str("FILEDOCK_RATE_UPLOAD_IP", "600/min")
REST_FRAMEWORK = {
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# The OpenAPI description at {API_BASE}schema/ and its Swagger UI at {API_BASE}docs/, served from static/.
SPECTACULAR_SETTINGS = {
    "TITLE": "Filedock REST API (Uploadcare v0.7 compatible)",
    "DESCRIPTION": "The Uploadcare REST API v0.7 as Filedock serves it: every request needs "
    "`Accept: application/vnd.uploadcare-v0.7+json` and a project's key pair in `Authorization`. "
    "And the Upload API (tag `Upload API`), whose requests carry the project's public key.",
    "VERSION": "0.7",
    "SERVE_INCLUDE_SCHEMA": False,
    "PREPROCESSING_HOOKS": ["files.rest.docs.api_base_only"],  # not the root alias as well
    # The default enum hook, then the Upload API (plain Django views) described beside the REST API.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "files.uploads.docs.add_upload_api",
    ],
    "COMPONENT_SPLIT_REQUEST": True,
    # Views without annotations only warn; `check --deploy` must not fail on that (tests validate the schema).
    "ENABLE_DJANGO_DEPLOY_CHECK": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
