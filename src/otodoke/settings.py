"""Otodoke settings, read from the environment once at start-up.

Every value has one source: an environment variable (documented in the README). Bad values
fail loudly here instead of surfacing later as odd behaviour.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from otodoke.core.env import (
    data_dir,
    env_bool,
    env_int,
    env_list,
    env_networks,
    env_proxy_ssl_header,
    load_local_keys,
    private_files,
)
from otodoke.media import storage as media_storage

BASE_DIR = Path(__file__).resolve().parent
# Before anything is created: the database, uploads and keys are private (0600 / 0700).
private_files()
DATA_DIR = data_dir()

DEBUG = env_bool("OTODOKE_DEBUG", default=False)

# SECRET_KEY and the encryption keys: production sets them; `otodoke demo` (and a developer
# machine) keeps generated ones in DATA_DIR/keys.json so a restart can still read the secrets
# it stored.
_local_keys = load_local_keys(DATA_DIR)
SECRET_KEY = os.environ.get("SECRET_KEY") or _local_keys.get("SECRET_KEY", "")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "SECRET_KEY is not set. Set it in the environment (production) or run "
        "`otodoke init` to generate local keys into " + str(DATA_DIR / "keys.json")
    )
# Fernet keys, newest first; older keys still decrypt (key rotation).
ENCRYPTION_KEYS = env_list("OTODOKE_ENCRYPTION_KEYS") or _local_keys.get("ENCRYPTION_KEYS", [])
if not ENCRYPTION_KEYS:
    raise ImproperlyConfigured(
        "OTODOKE_ENCRYPTION_KEYS is not set (comma-separated Fernet keys, newest first). "
        "Generate one with `otodoke init --print-keys`."
    )

# /admin/ is off unless the server's administrator turns it on; even then superusers only.
ADMIN_ENABLED = env_bool("OTODOKE_ADMIN", default=False)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or (["*"] if DEBUG else ["localhost", "127.0.0.1"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Reverse proxies (IPs or CIDR networks) whose X-Forwarded-For is believed; empty = nobody's,
# the socket peer is the client. `otodoke serve` hands the same list to uvicorn.
TRUSTED_PROXIES = env_networks("OTODOKE_TRUSTED_PROXIES")
# The public base URL of this install: webhook URLs and tracked links are built from it.
PUBLIC_BASE_URL = os.environ.get("OTODOKE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# Where new workspaces send LINE API calls unless told otherwise.
LINE_API_BASE_URL = os.environ.get("OTODOKE_LINE_API_URL", "https://api.line.me").rstrip("/")
# Webhook events are processed by at most one task per workspace per this many seconds and web
# process, so a burst of webhooks costs one task instead of one per request; 0 = one per request.
try:
    LINE_WEBHOOK_BATCH_SECONDS = float(os.environ.get("OTODOKE_WEBHOOK_BATCH_SECONDS", "0.5"))
except ValueError as exc:
    raise ImproperlyConfigured("OTODOKE_WEBHOOK_BATCH_SECONDS must be a number of seconds") from exc
# Under ASGI (`otodoke serve`) the webhook URL is answered before Django's middleware stack
# (otodoke.line.asgi); off sends it through Django like any other URL (to compare, or debug).
LINE_WEBHOOK_FAST_PATH = env_bool("OTODOKE_WEBHOOK_FAST_PATH", default=True)
# Scenarios: how often the scheduler's tick runs (a trigger also runs one at once), and how
# often the full "entered a segment" / date / inactivity evaluation runs at most.
OTODOKE_SCENARIO_TICK_SECONDS = env_int("OTODOKE_SCENARIO_TICK_SECONDS", default=10, minimum=1)
OTODOKE_WATCH_REFRESH_SECONDS = env_int("OTODOKE_WATCH_REFRESH_SECONDS", default=60, minimum=1)

INSTALLED_APPS = [
    # Django's admin, for superusers only (otodoke.core.adminsite); mounted when OTODOKE_ADMIN.
    "otodoke.core.adminsite.OtodokeAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # Login throttling and lockout (failed attempts per username + IP, kept in the database).
    "axes",
    "django_tasks_db",
    # Only for its static files and templates: with "ninja" installed, /api/v1/docs serves
    # Swagger UI from our own /static/ instead of a CDN, so the docs work offline.
    "ninja",
    "otodoke.core",
    "otodoke.workspaces",
    "otodoke.contacts",
    "otodoke.messaging",
    "otodoke.campaigns",
    "otodoke.line",
    "otodoke.segments",
    "otodoke.tracking",
    "otodoke.scenarios",
    "otodoke.media",
    "otodoke.chat",
    "otodoke.autoreplies",
    "otodoke.richmenus",
    "otodoke.api",
    "django_htmx",
    "otodoke.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "otodoke.core.static_files.AsyncStaticMiddleware",  # WhiteNoise, streamed async under ASGI
    "otodoke.core.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "otodoke.urls"
WSGI_APPLICATION = "otodoke.wsgi.application"
ASGI_APPLICATION = "otodoke.asgi.application"

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
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'otodoke.sqlite3'}"
# 0 by default: under ASGI (`otodoke serve`) each request runs in its own thread, so a
# persistent connection outlives its thread and leaks until PostgreSQL refuses new clients
# ("too many clients" in bench/webhook_ingest.py); Django's docs say to disable them there.
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=int(os.environ.get("OTODOKE_DB_CONN_MAX_AGE", "0"))
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web app read while a worker writes; IMMEDIATE transactions take the write
    # lock up front so concurrent writers wait (busy timeout) instead of failing mid-transaction.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    if test_db_name := os.environ.get("OTODOKE_TEST_DB_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": test_db_name}
else:
    raise ImproperlyConfigured("DATABASE_URL must point at SQLite or PostgreSQL")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# One queue per kind of work (otodoke.core.lanes); `otodoke worker` runs a lane for each, so a
# long send never holds up webhook events or scenario steps.
TASKS = {
    "default": {
        "BACKEND": os.environ.get("OTODOKE_TASK_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default", "sends", "webhooks", "automation"],
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# django-axes checks the lockout before any password is compared, so a locked-out login is
# refused even with the right password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env_int("OTODOKE_LOGIN_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(
    minutes=env_int("OTODOKE_LOGIN_LOCKOUT_MINUTES", default=15, minimum=1)
)
# Per username *and* IP: a guesser cannot lock a colleague out from elsewhere, and one
# office IP with many staff does not lock everyone out.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The client address is REMOTE_ADDR only: behind a proxy, uvicorn sets it from
# X-Forwarded-For for the proxies in FORWARDED_ALLOW_IPS; a client's own header is not trusted.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
AXES_LOCKOUT_CALLABLE = "otodoke.web.login.lockout_response"
# Keep no log of successful logins (IP and user agent of every login): only failures count.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False  # no start-up banner on every CLI command
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# Default storage's files (friends' images and files in the chat inbox), never served publicly.
MEDIA_ROOT = DATA_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
    # Hosted images for LINE messages (otodoke.media): DATA_DIR/images, or S3-compatible.
    media_storage.ALIAS: media_storage.storage_setting(os.environ, DATA_DIR),
}
WHITENOISE_USE_FINDERS = True
WHITENOISE_ROOT = BASE_DIR / "core" / "static_root"  # served at / (favicon.ico)
# Hosted images are served under this URL (default OTODOKE_PUBLIC_URL/media/i); a CDN in
# front of Otodoke can be named here instead. LINE needs it to be https.
MEDIA_PUBLIC_URL = os.environ.get("OTODOKE_MEDIA_URL", "").rstrip("/")
# Images nobody uses are deleted by `otodoke images cleanup` only this many hours after their
# upload, so an image in a composer that has not been saved yet is kept.
MEDIA_CLEANUP_GRACE_HOURS = env_int("OTODOKE_MEDIA_CLEANUP_GRACE_HOURS", default=24, minimum=0)

SESSION_COOKIE_SECURE = env_bool("OTODOKE_SECURE_COOKIES", default=False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# HTTPS only from here on: browsers are told to use HTTPS for a year (on HTTPS answers only).
SECURE_HSTS_SECONDS = env_int(
    "OTODOKE_HSTS_SECONDS", default=365 * 24 * 3600 if SESSION_COOKIE_SECURE else 0
)
# Behind a TLS-terminating proxy: the header (and value) that says the request came over HTTPS.
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("OTODOKE_PROXY_SSL_HEADER")
# No inline script or style anywhere (static/otodoke/app.js does the pages' behaviour).
# Images and videos of message previews are the campaign's own https:// URLs.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "https:"],
    "media-src": [CSP.SELF, "https:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700
# Uploaded CSVs are deleted once imported; one never imported (the mapping step left) is
# deleted this many hours after its upload.
UPLOAD_RETENTION_HOURS = env_int("OTODOKE_UPLOAD_RETENTION_HOURS", default=24, minimum=1)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("OTODOKE_LOG_LEVEL", "INFO")},
    # httpx logs every request at INFO: a line per LINE request is noise in the logs and, at
    # thousands of requests a second, a measurable share of the sender's CPU.
    "loggers": {
        name: {"level": os.environ.get("OTODOKE_HTTP_LOG_LEVEL", "WARNING")}
        for name in ("httpx", "httpcore")
    },
}
