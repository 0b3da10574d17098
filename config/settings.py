"""Django settings, read from the environment through typed helpers (fangkong.core.env)."""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from fangkong.core.env import (
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_optional,
    env_path,
    env_str,
)
from fangkong.core.keys import load_demo_keys, load_production_keys

BASE_DIR = Path(__file__).resolve().parent.parent

MODE = env_choice("FANGKONG_MODE", "demo", ("demo", "production"))
# `fangkong serve` refuses the default: a forgotten variable must not quietly serve demo mode
MODE_EXPLICIT = env_optional("FANGKONG_MODE") is not None
DEMO_MODE = MODE == "demo"
DATA_DIR = env_path("FANGKONG_DATA_DIR", BASE_DIR / "var")
DATA_DIR.mkdir(parents=True, exist_ok=True)

if DEMO_MODE:
    KEYS = load_demo_keys(DATA_DIR)
else:
    KEYS = load_production_keys(
        secret_key=env_str("FANGKONG_SECRET_KEY", required=True),
        pii_spec=env_str("FANGKONG_PII_KEYS", required=True),
        blind_index_b64=env_str("FANGKONG_BLIND_INDEX_KEY", required=True),
        audit_b64=env_str("FANGKONG_AUDIT_KEY", required=True),
        data_dir=DATA_DIR,
    )
SECRET_KEY = KEYS.secret_key
DEBUG = env_bool("FANGKONG_DEBUG", False)
ALLOWED_HOSTS = env_list("FANGKONG_ALLOWED_HOSTS", ("127.0.0.1", "localhost", "testserver"))
CSRF_TRUSTED_ORIGINS = env_list("FANGKONG_CSRF_TRUSTED_ORIGINS", ())

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "fangkong.core",
    "fangkong.people",
    "fangkong.screening",
    "fangkong.tracing",
    "fangkong.masstesting",
    "fangkong.keygroups",
    "fangkong.quarantine",
    "fangkong.command",
    "fangkong.drill",
    "fangkong.serving",
    "fangkong.web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # high up, so that error pages produced by the middleware below get the policy too
    "fangkong.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "fangkong.core.middleware.DefaultLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "fangkong.core.bodylimit.RequestSizeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fangkong.core.sessions.SessionLifetimeMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "fangkong.core.middleware.NoStoreMiddleware",
    "fangkong.core.middleware.ScopeGuardMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fangkong.web.context.navigation",
            ],
        },
    }
]

_default_db = f"sqlite:///{DATA_DIR / 'fangkong.sqlite3'}"
_db_url = env_str("DATABASE_URL", _default_db)
try:
    DATABASES = {"default": dj_database_url.parse(_db_url, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while an import or the worker writes
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        " PRAGMA busy_timeout=20000;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": env_optional("FANGKONG_SQLITE_TEST_NAME")}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Applied wherever a password is set: Django's createsuperuser / changepassword and
# fangkong's own account services (drill.services for the demo accounts).
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

# Idle timeout on user activity (background polls excluded) and an absolute lifetime from
# sign-in, both judged by fangkong.core.sessions.SessionLifetimeMiddleware; the cookie and
# the stored session simply last the absolute lifetime.
SESSION_IDLE_MINUTES = env_int("FANGKONG_SESSION_IDLE_MINUTES", 30, minimum=1)
SESSION_MAX_HOURS = env_int("FANGKONG_SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_MAX_HOURS * 3600
SESSION_SAVE_EVERY_REQUEST = False

# Progressive login delays instead of a hard lock (fangkong.core.services.login_check):
# past its free failures in the window, each further failure of an account (from any
# address) or from an address (to any account) doubles a wait, up to the cap. An office
# behind one shared address gets many free failures, so one colleague's typos block no one.
LOGIN_FREE_FAILURES = env_int("FANGKONG_LOGIN_FREE_FAILURES", 5, minimum=1)
LOGIN_ADDRESS_FREE_FAILURES = env_int("FANGKONG_LOGIN_ADDRESS_FREE_FAILURES", 50, minimum=1)
LOGIN_MAX_DELAY_SECONDS = env_int("FANGKONG_LOGIN_MAX_DELAY_SECONDS", 300, minimum=1)
LOGIN_FAILURE_WINDOW_MINUTES = env_int("FANGKONG_LOGIN_FAILURE_WINDOW_MINUTES", 60, minimum=1)
API_TOKEN_TTL_HOURS = env_int("FANGKONG_API_TOKEN_TTL_HOURS", 12, minimum=1)
# Behind one reverse proxy every request comes from the proxy's address: set this, or the
# per-address delay counts everyone's failures together and slows the whole site down.
TRUST_X_FORWARDED_FOR = env_bool("FANGKONG_TRUST_X_FORWARDED_FOR", False)
# Person imports of at least IMPORT_PARALLEL_MIN_ROWS rows validate and encrypt in worker
# processes (one per core unless IMPORT_WORKERS says otherwise; 0 turns it off).
IMPORT_WORKERS = env_int("FANGKONG_IMPORT_WORKERS", os.cpu_count() or 1, minimum=0)
IMPORT_PARALLEL_MIN_ROWS = env_int("FANGKONG_IMPORT_PARALLEL_MIN_ROWS", 20_000, minimum=1)
# the room reserve's defaults where a jurisdiction has set none (national standard: 20)
QUARANTINE_ROOMS_PER_10K = env_int("FANGKONG_QUARANTINE_ROOMS_PER_10K", 20, minimum=1)
QUARANTINE_MIN_FREE_ROOMS = env_int("FANGKONG_QUARANTINE_MIN_FREE_ROOMS", 10, minimum=0)
# live pages (the grid worker's round, the site doctor's list) refresh their figures this often
# Command ledger: a reminder this many hours before an obligation's deadline, and escalation
# to the owner's superior unit this many hours after it (both derived when read).
COMMAND_REMINDER_HOURS = env_int("FANGKONG_COMMAND_REMINDER_HOURS", 24, minimum=1)
COMMAND_ESCALATE_AFTER_HOURS = env_int("FANGKONG_COMMAND_ESCALATE_AFTER_HOURS", 24, minimum=1)
COMMAND_EVIDENCE_MAX_BYTES = env_int(
    "FANGKONG_COMMAND_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024, minimum=1024
)
LIVE_REFRESH_SECONDS = env_int("FANGKONG_LIVE_REFRESH_SECONDS", 30, minimum=2)
# Scan and result batches processed at once per server process; more answer 429 +
# Retry-After at once instead of queueing until the server falls over.
MASSTESTING_MAX_INFLIGHT_BATCHES = env_int(
    "FANGKONG_MASSTESTING_MAX_INFLIGHT_BATCHES", 4, minimum=1
)
MASSTESTING_MAX_INFLIGHT_RESULT_BATCHES = env_int(
    "FANGKONG_MASSTESTING_MAX_INFLIGHT_RESULT_BATCHES", 2, minimum=1
)
# Self-service page look-ups (/hs/<token>/) per client address per hour (429 beyond).
MASSTESTING_LOOKUPS_PER_HOUR = env_int("FANGKONG_MASSTESTING_LOOKUPS_PER_HOUR", 120, minimum=1)
SELF_DECLARATIONS_PER_HOUR = env_int("FANGKONG_SELF_DECLARATIONS_PER_HOUR", 10, minimum=1)

# Throttles that count in Django's cache (ID/phone search per user, self-service code
# look-ups per address) must count across every server process: with FANGKONG_REDIS_URL set
# the default cache is Redis, otherwise each process keeps its own in-memory counts.
# (Login delays and self-declaration counts live in the database, shared already.)
REDIS_URL = env_optional("FANGKONG_REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "fangkong",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "fangkong" / "locale"]
FORMAT_MODULE_PATH = ["fangkong.formats"]
TIME_ZONE = env_str("FANGKONG_TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
MEDIA_ROOT = DATA_DIR / "files"
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# Request bodies (issue 8): refused with 413 by their declared Content-Length before anything
# reads them (fangkong.core.bodylimit). Any body but uploaded files: REQUEST_MAX_MB; the JSON
# batch APIs (scans, results, exposures, tube receipt): BATCH_MAX_MB; a multipart upload:
# UPLOAD_MAX_MB (the largest file any import takes; smaller imports cap lower per route).
_MB = 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("FANGKONG_REQUEST_MAX_MB", 10, minimum=1) * _MB
BATCH_MAX_BYTES = env_int("FANGKONG_BATCH_MAX_MB", 4, minimum=1) * _MB
UPLOAD_MAX_BYTES = env_int("FANGKONG_UPLOAD_MAX_MB", 200, minimum=1) * _MB
# An uploaded workbook is a zip: its members' declared sizes are summed before it is opened,
# so a zip bomb is refused instead of exhausting memory (zipfile never inflates a member past
# its declared size). Rows: person imports (in the worker) / imports answered in the request.
UPLOAD_MAX_UNZIPPED_BYTES = env_int("FANGKONG_UPLOAD_MAX_UNZIPPED_MB", 200, minimum=1) * _MB
IMPORT_MAX_ROWS = env_int("FANGKONG_IMPORT_MAX_ROWS", 2_000_000, minimum=1)
SYNC_IMPORT_MAX_ROWS = env_int("FANGKONG_SYNC_IMPORT_MAX_ROWS", 50_000, minimum=1)

TASKS = {
    "default": {
        "BACKEND": env_str("FANGKONG_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# -- transport security ---------------------------------------------------------------------
# Always: cookies out of scripts' reach (no script reads the CSRF cookie: the pages carry the
# token in a hidden input and in hx-headers), no framing, no MIME sniffing, no full referrer.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
# FANGKONG_TLS: the site is reached over HTTPS (directly or through a TLS-terminating proxy).
# Then cookies travel over TLS only, browsers are told to use nothing else for a year (HSTS),
# and plain-HTTP requests are redirected. The demo on a laptop runs on plain HTTP.
TLS = env_bool("FANGKONG_TLS", not DEMO_MODE)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = TLS
SECURE_HSTS_SECONDS = 31_536_000 if TLS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = TLS
SECURE_SSL_REDIRECT = env_bool("FANGKONG_SSL_REDIRECT", TLS)
if SECURE_SSL_REDIRECT and not TLS:
    raise ImproperlyConfigured(
        "FANGKONG_SSL_REDIRECT=1 needs FANGKONG_TLS=1: redirecting to HTTPS without serving it"
    )
# Behind a proxy that terminates TLS every request arrives as plain HTTP: only the proxy's
# X-Forwarded-Proto tells Django it was HTTPS (without it the redirect above would loop).
# Set it only when the proxy overwrites that header; a client could forge it otherwise.
TRUST_X_FORWARDED_PROTO = env_bool("FANGKONG_TRUST_X_FORWARDED_PROTO", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUST_X_FORWARDED_PROTO else None

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "fangkong.core.logredact.RedactPersonalData"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": env_str("FANGKONG_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # the PDF font subsetter narrates every glyph at INFO
        "fontTools": {"level": "WARNING"},
    },
}
AUTHENTICATION_BACKENDS = ["fangkong.core.backends.ScopedModelBackend"]
