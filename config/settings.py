"""Settings for the IPT therapist directory.

Every deploy-time value comes from the environment through the small typed
helpers below; a malformed value stops start-up with ImproperlyConfigured.
The variables are listed in README.md and .env.example.
"""

import datetime
import os
import re
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {raw!r}")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as error:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from error
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, got {value}")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# PRODUCTION switches on the secure cookie, HSTS and proxy settings below.
PRODUCTION = env_bool("PRODUCTION", False)

_DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
if PRODUCTION and (SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured("PRODUCTION needs a real SECRET_KEY of at least 50 characters")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "knox",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "csp",
    "axes",
    "accounts",
    "directory",
    "matching",
    "consultations",
    "interop",
    "roster",
    "registry",
    # The mail queue: django-tasks, its database backend, and the outbox.
    "django_tasks",
    "django_tasks_db",
    "outbox",
]

MIDDLEWARE = [
    # First: load balancers' probes need no host name, HTTPS redirect, session or throttle.
    "config.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # After CommonMiddleware has checked the host: emails sent while serving link back to it.
    "outbox.links.RequestOriginMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "directory.security.AbsoluteSessionLimitMiddleware",
    "directory.security.BodySizeLimitMiddleware",
    # Last, as django-axes asks: it turns a lockout into the response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"

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
                "accounts.context_processors.roles",
                "consultations.context_processors.inbox",
            ],
        },
    },
]

WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        # Persistent connections nearly double throughput, even on SQLite.
        conn_max_age=env_int("CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the lock up front: no "database is locked" on upgrade, and
    # concurrent compare-and-set updates queue instead of failing.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Memory-mapped reads and a 64 MB page cache per connection: searches over
    # 10^5 therapists run about twice as fast as with SQLite's 2 MB default.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA mmap_size=1073741824; PRAGMA cache_size=-65536"
    )

# PostgreSQL: a page near a place is read by prepared statements, planned once per connection
# (directory/search/statements.py); false behind a connection pooler that cannot keep them.
SEARCH_PREPARED_STATEMENTS = env_bool("SEARCH_PREPARED_STATEMENTS", True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out client is refused before its password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    # The rest only verify (and upgrade) passwords hashed before Argon2.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "America/New_York")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
FIXTURE_DIRS = [BASE_DIR / "fixtures"]
# Outside production, serve static files straight from the apps (no collectstatic).
WHITENOISE_USE_FINDERS = not PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG
warnings.filterwarnings("ignore", message="No directory at")
MEDIA_URL = "media/"
MEDIA_ROOT = BASE_DIR / "media"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/me/"
LOGOUT_REDIRECT_URL = "/"

# Sessions end after 15 idle minutes (each request renews the cookie) and, through
# directory.security.AbsoluteSessionLimitMiddleware, 12 hours after sign-in.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 15, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_HOURS = env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1)

# How many reverse proxies in front of the app append to X-Forwarded-For. With 0 the
# header is ignored and REMOTE_ADDR is the client, so a forged header dodges nothing.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

# django-axes: brute-force protection for the login page, the admin and the token endpoint.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15, minimum=1))
# Per username and address: a guesser is stopped without letting anyone lock a
# colleague out from elsewhere.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "directory.security.client_ip"
AXES_LOCKOUT_CALLABLE = "directory.security.lockout_response"

# Anyone may report a listing, a few times an hour per client address.
LISTING_REPORTS_PER_HOUR = env_int("LISTING_REPORTS_PER_HOUR", 5, minimum=1)
# Therapists are emailed this many days before their availability stops counting.
AVAILABILITY_REMINDER_DAYS = env_int("AVAILABILITY_REMINDER_DAYS", 7, minimum=1)
# Roster import (docs/interop-roster.md): how long an invitation to claim an imported profile stays valid,
# and the largest roster CSV staff may upload in the admin.
INVITATION_DAYS = env_int("INVITATION_DAYS", 14, minimum=1)
ROSTER_UPLOAD_MAX_MB = env_int("ROSTER_UPLOAD_MAX_MB", 64, minimum=1)

# --- Mail: the outbox (docs/operations.md, "Mail") ---
# Sending an email only queues it: Django's EMAIL_BACKEND writes an outbox.Email row and a task in the
# sender's transaction. The worker (`manage.py db_worker`) delivers it through the backend that the
# EMAIL_BACKEND variable names, retrying with back-off, and gives up after EMAIL_GIVE_UP_HOURS.
EMAIL_BACKEND = "outbox.backends.QueuedEmailBackend"
OUTBOX_DELIVERY_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend" if PRODUCTION else "django.core.mail.backends.console.EmailBackend",
)
if OUTBOX_DELIVERY_BACKEND == EMAIL_BACKEND:
    raise ImproperlyConfigured("EMAIL_BACKEND names the backend that delivers the queue; it cannot be the queue")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS, port 587) or EMAIL_USE_SSL (port 465), not both")
# Seconds an SMTP connection or reply may take: a hanging server holds the worker this long, never a request.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
EMAIL_GIVE_UP_HOURS = env_int("EMAIL_GIVE_UP_HOURS", 24, minimum=1)
# Text messages (to patients who agreed to be told): queued like email, delivered by the worker through
# this class (outbox.sms: ConsoleSmsBackend, LocmemSmsBackend for tests, or any class with send(*, to, body)).
SMS_BACKEND = env_str("SMS_BACKEND", "outbox.sms.ConsoleSmsBackend")
# django-tasks with its database backend: the queue lives in the same database as the data.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}
# --- end of Mail ---
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "IPT Directory <no-reply@ipt-directory.example>")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only: a form encoding cannot say null (`fee_min`) nor carry nested lists (`offices`).
    "DEFAULT_PARSER_CLASSES": ["directory.parsers.BoundedJSONParser"],
    "DEFAULT_SCHEMA_CLASS": "directory.schema.ApiSchema",
    "EXCEPTION_HANDLER": "directory.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `format` is a search parameter here, not a renderer override.
    "URL_FORMAT_OVERRIDE": None,
    # Throttles key on the same client address as django-axes (see TRUSTED_PROXY_COUNT).
    "NUM_PROXIES": TRUSTED_PROXY_COUNT,
}

# API tokens (django-rest-knox, `Authorization: Token <token>`): only a SHA-512 digest
# is stored. Each token has a fixed end, never renewed by use (AUTO_REFRESH off), so a
# leaked one is good for API_TOKEN_TTL_HOURS at most; the default covers a working day
# and ends before a browser sign-in would (SESSION_ABSOLUTE_HOURS, 12). A password
# change or reset and a deactivation revoke all of a user's tokens (accounts.receivers).
# Past API_TOKENS_PER_USER live tokens, a new one revokes the user's oldest
# (accounts.services.issue_token).
API_TOKEN_TTL_HOURS = env_int("API_TOKEN_TTL_HOURS", 10, minimum=1)
REST_KNOX = {
    "TOKEN_TTL": datetime.timedelta(hours=API_TOKEN_TTL_HOURS),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
    "TOKEN_LIMIT_PER_USER": env_int("API_TOKENS_PER_USER", 10, minimum=1),
}
# ---- Limits shared by every process and server (docs/operations.md#limits): the cache that holds
# the counters, the API's throttles, and sign-in failures per address.


def cache_from_url(url: str) -> dict[str, object]:
    """CACHES["default"] for CACHE_URL: Redis for redis://, rediss:// or unix://; none, the database's own table.

    Either way every worker and server counts the same requests; the table is made by `migrate`
    (directory.apps.create_cache_table). The URL may hold a password, so an error does not quote it.
    """
    if not url:
        # Culling past MAX_ENTRIES would forget live counters; each write also counts the rows (docs/operations.md).
        return {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "django_cache",
                "OPTIONS": {"MAX_ENTRIES": 10_000}}  # fmt: skip
    parts = urlsplit(url)
    try:
        port_is_valid = parts.port is None or parts.port > 0
    except ValueError:
        port_is_valid = False
    database = parts.path.strip("/")
    names_a_server = (
        parts.scheme in {"redis", "rediss"} and bool(parts.hostname) and (database.isdigit() or not database)
    )
    names_a_socket = parts.scheme == "unix" and bool(parts.path)
    if not port_is_valid or not (names_a_server or names_a_socket):
        raise ImproperlyConfigured(
            "CACHE_URL must look like redis://[:password@]host[:port][/db number] (rediss:// for TLS) "
            "or unix:///path/to/redis.sock; leave it empty for the database cache"
        )
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}


def env_rate(name: str, default: str) -> str | None:
    """A DRF rate, "<requests>/<period>" with period s, sec, m, min, h, hour, d or day; "off" for no limit."""
    raw = env_str(name, default).strip()
    if raw.lower() == "off":
        return None
    match = re.fullmatch(r"([1-9][0-9]*)/(s|sec|second|m|min|minute|h|hour|d|day)", raw)
    if match is None:
        raise ImproperlyConfigured(f"{name} must be a rate such as 120/min (s, min, hour, day) or off, got {raw!r}")
    return raw


CACHES = {"default": cache_from_url(env_str("CACHE_URL", "").strip())}

# Per client address (directory.security.client_ip) when anonymous, per user when signed in; a view's
# own scope counts its POSTs only. directory.throttles reads these on each request (DRF's
# DEFAULT_THROTTLE_RATES would be read once, at import), so a test can lower or lift them.
THROTTLE_RATES = {
    "anon": env_rate("THROTTLE_ANON_RATE", "120/min"),
    "user": env_rate("THROTTLE_USER_RATE", "300/min"),
    "match": env_rate("THROTTLE_MATCH_RATE", "30/min"),
    "referral": env_rate("THROTTLE_REFERRAL_RATE", "60/hour"),
    "token": env_rate("THROTTLE_TOKEN_RATE", "10/min"),
    # Asking therapists for a consultation (POST /api/consultations/), before the daily limits per
    # address and per email (CONSULTATION_LIMIT_PER_ADDRESS, CONSULTATION_LIMIT_PER_EMAIL).
    "consultation": env_rate("THROTTLE_CONSULTATION_RATE", "20/hour"),
}
REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] = [
    "directory.throttles.AnonymousThrottle",
    "directory.throttles.SignedInThrottle",
    "directory.throttles.ScopedThrottle",
]

# django-axes takes one failure limit, so it asks directory.security.failure_limit for it:
# AXES_FAILURE_LIMIT (the variable) failures of one username from one address lock that pair,
# AXES_ADDRESS_FAILURE_LIMIT failures from one address, whatever the usernames, lock the address.
AXES_USERNAME_FAILURE_LIMIT = AXES_FAILURE_LIMIT
AXES_ADDRESS_FAILURE_LIMIT = env_int("AXES_ADDRESS_FAILURE_LIMIT", 30, minimum=1)
AXES_FAILURE_LIMIT = "directory.security.failure_limit"
# ---- end of the limits

SPECTACULAR_SETTINGS = {
    "TITLE": "IPT Therapist Directory API",
    "DESCRIPTION": (
        "Search IPT-trained therapists, rank them for a need, and run referrals. "
        'Errors on bad input are 400 with {"errors": {"<field>": ["<message>"]}}.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the age-group vocabulary wherever it appears (search, match, profiles).
    "ENUM_NAME_OVERRIDES": {"AgeGroupEnum": ["children", "adolescents", "adults", "older-adults"]},
}

# Geocoding: the offline ZIP index by default. A network geocoder such as
# "geopy.geocoders.Nominatim" may be named here for office addresses; search
# input that is a ZIP, "City, ST" or "lat,lng" is always resolved offline.
GEOCODER = env_str("GEOCODER", "directory.geo.ZipcodeGeocoder")
GEOCODER_USER_AGENT = env_str("GEOCODER_USER_AGENT", "ipt-directory")

# Availability older than this many days no longer counts as "accepting".
AVAILABILITY_FRESHNESS_DAYS = env_int("AVAILABILITY_FRESHNESS_DAYS", 60, minimum=1)

# Matching: weights of the score components (any non-negative numbers; the
# score is their weighted mean on 0-100), reach, and the referral loop.
MATCH_WEIGHTS = {
    "focus": 30, "concern": 15, "distance": 15, "availability": 15,
    "language": 5, "training": 10, "responsiveness": 5, "load": 5,
}  # fmt: skip
MATCH_MAX_DISTANCE_MILES = env_int("MATCH_MAX_DISTANCE_MILES", 25, minimum=1)
MATCH_RESULT_LIMIT = env_int("MATCH_RESULT_LIMIT", 20, minimum=1)
MAX_OPEN_OFFERS = 3
OFFER_EXPIRY_DAYS = env_int("OFFER_EXPIRY_DAYS", 5, minimum=1)

# Consultation requests from clients (docs/operations.md, "Consultation requests").
# A therapist answers within this many business days (weekends and US federal holidays excluded).
CONSULTATION_REPLY_BUSINESS_DAYS = env_int("CONSULTATION_REPLY_BUSINESS_DAYS", 2, minimum=1)
# A request and its contact details are deleted this many days after it ends; anonymous counts stay.
CONSULTATION_RETENTION_DAYS = env_int("CONSULTATION_RETENTION_DAYS", 90, minimum=1)
# The emailed link must be opened within this many hours, or the request is deleted unsent.
CONSULTATION_VERIFY_HOURS = env_int("CONSULTATION_VERIFY_HOURS", 24, minimum=1)
CONSULTATION_MAX_THERAPISTS = 3
# Staff emailed when a client reports never hearing back (Django's MANAGERS): comma-separated addresses.
MANAGERS = [(address, address) for address in env_list("MANAGERS", [])]
# Requests a day, per client address and per email address.
CONSULTATION_LIMIT_PER_ADDRESS = env_int("CONSULTATION_LIMIT_PER_ADDRESS", 10, minimum=1)
CONSULTATION_LIMIT_PER_EMAIL = env_int("CONSULTATION_LIMIT_PER_EMAIL", 3, minimum=1)
# This many requests in a row left to expire, and a therapist no longer counts as accepting.
CONSULTATION_SILENCE_LIMIT = env_int("CONSULTATION_SILENCE_LIMIT", 3, minimum=1)

# Idempotency-Key (docs/api.md, "Idempotency"): how long a caller's key replays its first answer.
IDEMPOTENCY_KEY_HOURS = env_int("IDEMPOTENCY_KEY_HOURS", 24, minimum=24)

# Logs are JSON lines in production (LOG_FORMAT=json), plain text otherwise.
# Exceptions are logged by type and stack frames only: their messages may quote
# patient data (see config/logging.py).
LOG_FORMAT = env_str("LOG_FORMAT", "json" if PRODUCTION else "plain")
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_exceptions": {"()": "config.logging.RedactExceptionMessages"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT, "filters": ["redact_exceptions"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # Request lines can carry query strings; keep them at WARNING.
        "django.server": {"level": "WARNING"},
        # django-axes logs every sign-in at INFO; failures and lockouts come at WARNING.
        "axes": {"level": "WARNING"},
    },
}

# Content-Security-Policy (django-csp): everything from this origin, no inline
# scripts; inline styles only for the admin's and the error page's own.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- Therapist photos and media storage (docs/operations.md, "Photos") ---
# Largest photo file accepted; the API and the page take request bodies up to twice this, so a file
# somewhat too large gets a 400 naming `photo` and anything larger a 413 before it is read.
PHOTO_MAX_BYTES = env_int("PHOTO_MAX_BYTES", 5 * 1024 * 1024, minimum=1024)
PHOTO_UPLOAD_MAX_BODY = 2 * PHOTO_MAX_BYTES
# Where uploaded media go: "filesystem" (MEDIA_ROOT, served by Django when SERVE_MEDIA is on) or "s3"
# (django-storages, any S3-compatible store; its URLs are public and unsigned, because listing cards keep them).
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(MEDIA_ROOT)))
SERVE_MEDIA = env_bool("SERVE_MEDIA", DEBUG)
MEDIA_STORAGE = env_str("MEDIA_STORAGE", "filesystem")
if MEDIA_STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME", "")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL", "") or None
    AWS_S3_CUSTOM_DOMAIN = env_str("AWS_S3_CUSTOM_DOMAIN", "") or None
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "region_name": env_str("AWS_S3_REGION_NAME", "") or None,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "custom_domain": AWS_S3_CUSTOM_DOMAIN,
            # Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, read by boto3 itself (or an instance role).
            "querystring_auth": False,
            "file_overwrite": False,
            # Names are random and never reused: browsers and CDNs may keep a file for a year.
            "object_parameters": {"CacheControl": "public, max-age=31536000, immutable"},
        },
    }
    _media_origin = (
        f"https://{AWS_S3_CUSTOM_DOMAIN}"
        if AWS_S3_CUSTOM_DOMAIN
        else "/".join(AWS_S3_ENDPOINT_URL.split("/")[:3])
        if AWS_S3_ENDPOINT_URL
        else "https://*.amazonaws.com"
    )
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(_media_origin)
elif MEDIA_STORAGE != "filesystem":
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, got {MEDIA_STORAGE!r}")
SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"]["PhotoStatusEnum"] = ["none", "pending", "approved", "rejected"]

# --- The map beside search results and on profiles (docs/operations.md, "Map") ---
# MAP_TILE_URL: a Leaflet tile URL template, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png; MAP_TILE_ATTRIBUTION:
# the credit its provider requires (HTML, trusted: it comes from the operator). Without a URL, the map shows its
# markers on a plain background and asks nothing of any other server.


def map_tile_origin(url: str) -> str:
    """The CSP source that lets the browser load tiles from `url`: its scheme, host and port.

    A `{s}` (subdomain) placeholder may be the host's first label and becomes CSP's `*.`;
    any other placeholder in the host cannot be expressed in a CSP source, so it is refused.
    """
    parts = urlsplit(url)
    host = parts.netloc.lower()
    if host.startswith("{s}."):
        host = "*." + host[len("{s}.") :]
    template = parts.path + "?" + parts.query
    has_placeholders = "{z}" in template and "{x}" in template and ("{y}" in template or "{-y}" in template)
    if (
        parts.scheme not in {"https", "http"}
        or not re.fullmatch(r"(\*\.)?[a-z0-9.-]+(:\d{1,5})?", host)
        or not has_placeholders
    ):
        raise ImproperlyConfigured(
            "MAP_TILE_URL must be an http(s) URL template with {z}, {x} and {y} (or {-y}), such as "
            "https://tile.openstreetmap.org/{z}/{x}/{y}.png ({s} may stand for the host's first label)"
        )
    return f"{parts.scheme}://{host}"


MAP_TILE_URL = env_str("MAP_TILE_URL", "").strip()
MAP_TILE_ATTRIBUTION = env_str("MAP_TILE_ATTRIBUTION", "").strip()
if MAP_TILE_URL:
    if not MAP_TILE_ATTRIBUTION:
        raise ImproperlyConfigured("MAP_TILE_URL needs MAP_TILE_ATTRIBUTION: tile providers require their credit")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(map_tile_origin(MAP_TILE_URL))
