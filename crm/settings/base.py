"""Settings shared by every environment.

Every environment variable the project reads is read here, and only here; the
environment modules (local, test, production) adjust derived values.
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(os.environ.get("CRM_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, got {raw!r}")


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


# --- The environment, read in one place -----------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
# The region a phone number written without its country code is read in (ISO 3166 code;
# customers.duplicates, the phonenumbers library).
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "DE").upper()
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")
# Empty means "this environment's default": a SQLite file locally, PostgreSQL in tests.
DATABASE_URL = os.environ.get("DATABASE_URL", "")
REDIS_URL = os.environ.get("REDIS_URL", "")
# Empty means this environment's default: locally Kombu's filesystem transport (a real broker
# between real processes that needs no server), in tests the local Redis.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("CELERY_QUEUE", "crm")
# Who takes a new support item (interactions/assignment.py): off, least_busy or round_robin.
SUPPORT_ASSIGNMENT = os.environ.get("CRM_SUPPORT_ASSIGNMENT", "off")
if SUPPORT_ASSIGNMENT not in {"off", "least_busy", "round_robin"}:
    raise ImproperlyConfigured(
        f"CRM_SUPPORT_ASSIGNMENT must be off, least_busy or round_robin, got {SUPPORT_ASSIGNMENT!r}"
    )
# The address staff open the app at, for the links in e-mails sent without a request
# (escalation notices).
SITE_URL = os.environ.get("CRM_SITE_URL", "http://localhost:8000")
# Escalation notices (interactions.services.service_level_escalate): an open item is "due
# soon" once less than this share of its target (from the item to its due time) is left.
ESCALATE_NEAR = float(os.environ.get("CRM_ESCALATE_NEAR", "0.25"))
if not 0 <= ESCALATE_NEAR < 1:
    raise ImproperlyConfigured(f"CRM_ESCALATE_NEAR must be in [0, 1), got {ESCALATE_NEAR!r}")
CURRENCY = os.environ.get("CRM_CURRENCY", "EUR")
# Production redirects plain HTTP to HTTPS unless TLS ends in front of a private network.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
# "plain" lines for people, "json" lines (one object per record) for a log collector.
# Empty means this environment's default: plain locally and in tests, JSON in production.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "")
if LOG_FORMAT not in {"", "plain", "json"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be plain or json, got {LOG_FORMAT!r}")
# API throttling (DRF rate strings, e.g. "100/minute"); generous by default, lowered per site.
API_THROTTLE_ANON = os.environ.get("API_THROTTLE_ANON", "60/minute")
API_THROTTLE_USER = os.environ.get("API_THROTTLE_USER", "1200/minute")
# The customer's preference centre (the signed link is the credential, no account): this many
# submissions per link and per address, and page views per address (rate strings as above).
PREFERENCE_CENTRE_RATE_PER_LINK = os.environ.get("PREFERENCE_CENTRE_RATE_PER_LINK", "10/hour")
PREFERENCE_CENTRE_RATE_PER_IP = os.environ.get("PREFERENCE_CENTRE_RATE_PER_IP", "30/hour")
PREFERENCE_CENTRE_VIEWS_PER_IP = os.environ.get("PREFERENCE_CENTRE_VIEWS_PER_IP", "300/hour")
# The customer's portal (portal/): a sign-in link lives this many minutes and works once;
# links asked for per address typed and per client address (rate strings as above).
PORTAL_SIGN_IN_MINUTES = int(os.environ.get("PORTAL_SIGN_IN_MINUTES", "15"))
PORTAL_SIGN_IN_RATE_PER_ADDRESS = os.environ.get("PORTAL_SIGN_IN_RATE_PER_ADDRESS", "5/hour")
PORTAL_SIGN_IN_RATE_PER_IP = os.environ.get("PORTAL_SIGN_IN_RATE_PER_IP", "30/hour")
# Reviews and reports a portal customer may post (portal/community_views.py).
PORTAL_POST_RATE = os.environ.get("PORTAL_POST_RATE", "10/hour")
# Votes (and votes withdrawn) on the ideas board, each one an interaction (portal/ideas.py).
PORTAL_VOTE_RATE = os.environ.get("PORTAL_VOTE_RATE", "60/hour")
# Replies a portal customer may send to their requests (portal/request_views.py).
PORTAL_REPLY_RATE = os.environ.get("PORTAL_REPLY_RATE", "20/hour")
# A published review without staff's answer is on its customer's manager's to-do after this.
PORTAL_REVIEW_TODO_AFTER_HOURS = float(os.environ.get("PORTAL_REVIEW_TODO_AFTER_HOURS", "24"))
# Sign-in for scripts (POST /api/auth/token/): requests per client address, and how long a
# token lives (hours) before the client must sign in again.
API_THROTTLE_SIGN_IN = os.environ.get("API_THROTTLE_SIGN_IN", "10/minute")
API_TOKEN_TTL = timedelta(hours=float(os.environ.get("API_TOKEN_TTL_HOURS", "24")))
# Login brute-force protection: this many failures for one username from one address lock it;
# this many failures from one address, whatever the usernames, lock the address.
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
LOGIN_FAILURE_LIMIT_PER_IP = int(os.environ.get("LOGIN_FAILURE_LIMIT_PER_IP", "30"))
if LOGIN_FAILURE_LIMIT_PER_IP < LOGIN_FAILURE_LIMIT:
    raise ImproperlyConfigured("LOGIN_FAILURE_LIMIT_PER_IP must be at least LOGIN_FAILURE_LIMIT")
# The proxies (addresses or networks, comma-separated) whose X-Forwarded-For is believed when
# finding the client's address (core.middleware.ClientAddressMiddleware). Empty: the peer's
# address is the client's, and X-Forwarded-For is ignored (anyone can write it).
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", "")
# A message the broker delivered but no worker acknowledged goes back to the queue after this
# many seconds (Redis transport). Longer than the task time limit and the longest retry delay.
CELERY_VISIBILITY_TIMEOUT = int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "3600"))
# /healthz: how long it waits for a worker's pong when none answers (a live worker answers at
# once), and after how many seconds a customer's pending recompute counts as lagging.
HEALTH_WORKER_PING_TIMEOUT = float(os.environ.get("CRM_HEALTH_WORKER_PING_TIMEOUT", "1.0"))
HEALTH_FIGURES_LAG_SECONDS = int(os.environ.get("CRM_HEALTH_FIGURES_LAG_SECONDS", "60"))
# Customers per range task of a refit's recompute (a Celery group spreads the ranges).
RECOMPUTE_RANGE_SIZE = int(os.environ.get("RECOMPUTE_RANGE_SIZE", "5000"))
# The nightly (and the admin's) refit on PostgreSQL recomputes everyone in one pass in the
# worker that fits; "1": in ranges that a Celery group spreads over the workers, as it always
# does on other databases (valuation.tasks.valuation_fit_run_task).
NIGHTLY_IN_RANGES = os.environ.get("NIGHTLY_IN_RANGES", "") == "1"
# Database connections the in-process refit writes everyone's figures on at once
# (PostgreSQL; valuation.bulk.figures_write_parallel): one per core the database may use.
NIGHTLY_WRITE_CONNECTIONS = int(os.environ.get("NIGHTLY_WRITE_CONNECTIONS", "2"))

# --- The email channel (docs/email.md) ---
# Outgoing mail: Django's email backend. Empty means this environment's default: locally a
# Maildir the app shows (mail.backends.LocalMailboxBackend), in production SMTP from
# EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER / EMAIL_HOST_PASSWORD / EMAIL_USE_TLS / _SSL.
EMAIL_BACKEND_ENV = os.environ.get("EMAIL_BACKEND", "")
EMAIL_BACKEND = EMAIL_BACKEND_ENV or "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "support@crm.localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The domain of the Message-IDs the app writes (empty: the default mailbox's domain).
MAIL_DOMAIN = os.environ.get("MAIL_DOMAIN", "")
# Bounds on what is accepted: a whole message, one attachment (larger ones are recorded, not
# stored), and messages per sender address per hour (a flood is stored, not queued).
MAIL_MESSAGE_MAX_BYTES = int(os.environ.get("MAIL_MESSAGE_MAX_BYTES", str(40 * 1024 * 1024)))
MAIL_ATTACHMENT_MAX_BYTES = int(os.environ.get("MAIL_ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
MAIL_SENDER_RATE = os.environ.get("MAIL_SENDER_RATE", "60/hour")
# The inbound HTTP endpoint (POST /api/mail/inbound/): a bearer token, or an HMAC-SHA256 of
# the body with this secret in X-CRM-Signature; empty disables that way in.
MAIL_INBOUND_TOKEN = os.environ.get("MAIL_INBOUND_TOKEN", "")
MAIL_INBOUND_SECRET = os.environ.get("MAIL_INBOUND_SECRET", "")
MAIL_INBOUND_RATE = os.environ.get("MAIL_INBOUND_RATE", "600/minute")
# IMAP polling (mail.imap): a CA file trusted besides the system's (a private CA, the test
# server's), the socket timeout, and what one FETCH brings into memory at most.
MAIL_IMAP_CA_FILE = os.environ.get("MAIL_IMAP_CA_FILE", "")
MAIL_IMAP_TIMEOUT = float(os.environ.get("MAIL_IMAP_TIMEOUT", "30"))
MAIL_IMAP_BATCH = int(os.environ.get("MAIL_IMAP_BATCH", "100"))
MAIL_IMAP_BATCH_BYTES = int(os.environ.get("MAIL_IMAP_BATCH_BYTES", str(20 * 1024 * 1024)))
# The local mailbox of the embedded default (what the app "sends" lands here as Maildir).
MAIL_LOCAL_MAILDIR = Path(os.environ.get("MAIL_LOCAL_MAILDIR", VAR_DIR / "mail"))
# Web forms (webforms): messages accepted per client address (a rate string as above).
WEBFORM_RATE_PER_IP = os.environ.get("WEBFORM_RATE_PER_IP", "20/hour")
if not re.fullmatch(r"[0-9]+/(second|minute|hour|day)", WEBFORM_RATE_PER_IP):
    raise ImproperlyConfigured(
        f"WEBFORM_RATE_PER_IP must be like 20/hour, got {WEBFORM_RATE_PER_IP!r}"
    )
# Sending: how often a message the mail server could not take now (4xx, connection refused,
# timeout) is tried again, and at most how many seconds apart (exponential backoff).
MAIL_SEND_RETRIES = int(os.environ.get("MAIL_SEND_RETRIES", "8"))
MAIL_SEND_BACKOFF_MAX = int(os.environ.get("MAIL_SEND_BACKOFF_MAX", "180"))
# Webhooks (docs/webhooks.md). Private, loopback, link-local, multicast and reserved targets are
# refused (SSRF) unless this is true (a receiver on the same host or network, the tests).
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
# Seconds to wait after each failed attempt: about a day in all, then the delivery has failed.
WEBHOOKS_RETRY_DELAYS = [
    int(value)
    for value in env_list(
        "WEBHOOKS_RETRY_DELAYS", "10,30,60,120,300,600,1800,3600,7200,14400,28800,28800"
    )
]
# How long a delivery queued for a task is left to it before the sweeper claims it again (the
# task was lost: broker down at the commit), and how long once the task is sending (its
# worker was killed mid-request): longer than a queue may take, and than 5 + 5 s.
WEBHOOKS_LEASE_SECONDS = int(os.environ.get("WEBHOOKS_LEASE_SECONDS", "300"))
WEBHOOKS_SEND_LEASE_SECONDS = int(os.environ.get("WEBHOOKS_SEND_LEASE_SECONDS", "30"))
# An endpoint is disabled after this many consecutive failed deliveries, or once it has failed
# without a single success for this long (seconds).
WEBHOOKS_DISABLE_AFTER_FAILURES = int(os.environ.get("WEBHOOKS_DISABLE_AFTER_FAILURES", "20"))
WEBHOOKS_DISABLE_AFTER_SECONDS = int(os.environ.get("WEBHOOKS_DISABLE_AFTER_SECONDS", "86400"))
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "media/"
# ---------------------------------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "django_celery_beat",
    "axes",
    "csp",
    "core",
    "idempotency",
    "events",
    "customers",
    "interactions",
    "offerings",
    "replenishment",
    "valuation",
    "workspace",
    "dataio",
    "mail",
    "portal",
    "webforms",
    "webhooks",
    # Last: its post_migrate hook assigns the permissions of the apps above to the roles.
    "accounts",
]

MIDDLEWARE = [
    # First: every layer below sees the client's address, not the proxy's (TRUSTED_PROXIES).
    "core.middleware.ClientAddressMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Responses to a signed-in user (session or API token) are never cached.
    "core.middleware.NoStoreWhenSignedInMiddleware",
    # Before any view, form or library (django-axes) sends a parameter to the database.
    "core.middleware.RefuseUnstorableInputMiddleware",
    # API POSTs with an Idempotency-Key run once; a retry replays the first answer.
    "idempotency.middleware.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout response.
    "axes.middleware.AxesMiddleware",
]

# django-axes checks every login (the sign-in page, the admin, POST /api/auth/token/) first.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.RoleModelBackend",
]
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
# Lock the pair (username, client address): a guesser is stopped without letting anyone lock
# a colleague out from elsewhere; an address that fails LOGIN_FAILURE_LIMIT_PER_IP times across
# usernames is locked as a whole (accounts.lockout). The address is the client's, behind
# TRUSTED_PROXIES (core.middleware). Admins unlock in the admin (Access attempts) or with
# `manage.py axes_reset_username NAME` / `axes_reset_ip ADDRESS`; a lock lifts after the cool-off.
AXES_LOCKOUT_PARAMETERS = "accounts.lockout.sign_in_lockout_parameters"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.sign_in_client_address"
AXES_COOLOFF_TIME = timedelta(minutes=30)
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False

# Content security policy: only our own scripts, styles and images (htmx and Chart.js are
# vendored static files; templates carry no inline script or style).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

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
                "accounts.context_processors.role",
                "workspace.context_processors.triage",
                "interactions.context_processors.notices",
                "mail.context_processors.local_mailbox",
            ],
        },
    },
]


def database_from_url(url: str) -> dict:
    config = dj_database_url.parse(url, conn_max_age=60, conn_health_checks=True)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # The web process and the worker write to the same file: WAL lets readers go on while
        # one writes, IMMEDIATE transactions take the write lock up front instead of failing
        # half-way, and the timeout waits for the other process instead of raising at once.
        config["CONN_MAX_AGE"] = 0
        config["CONN_HEALTH_CHECKS"] = False
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    return config


DATABASES = {"default": database_from_url(DATABASE_URL or f"sqlite:///{VAR_DIR / 'crm.sqlite3'}")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The API throttles count in the cache: with REDIS_URL every web process shares one count
# (without it each process counts alone, fine for the one-process embedded default).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "crm",
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
# One date style on every page (crm/formats/en/formats.py).
FORMAT_MODULE_PATH = ["crm.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Files browsers ask for at the site's root (/favicon.ico), served by WhiteNoise.
WHITENOISE_ROOT = BASE_DIR / "static" / "root"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        # DRF's token authentication with an expiry (API_TOKEN_TTL); tokens are revoked on
        # sign-out, lockout, password change and deactivation (accounts.services).
        "accounts.authentication.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    # JSON bounded in size, depth and content (core/parsers.py); forms as DRF's defaults.
    "DEFAULT_PARSER_CLASSES": [
        "core.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Service errors answer 400 like serializer errors, each named by its full path.
    "EXCEPTION_HANDLER": "core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": API_THROTTLE_ANON, "user": API_THROTTLE_USER},
    # Throttles key on REMOTE_ADDR, which core.middleware.ClientAddressMiddleware has already
    # resolved behind TRUSTED_PROXIES; DRF's own X-Forwarded-For parsing would believe anyone.
    "NUM_PROXIES": 0,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Learning-relationship CRM API",
    "DESCRIPTION": "Customers, what they taught us, their interactions and their live value.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI served from our own static files: no CDN, no build step.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.schema.money_fields_optional",
        "core.schema.idempotency_key_documented",
    ],
    "ENUM_NAME_OVERRIDES": {
        "WebhookEvent": "webhooks.names.WebhookEvent",
        "Channel": "interactions.choices.Channel",
        "InteractionType": "interactions.choices.InteractionType",
        "Direction": "interactions.choices.Direction",
        "LifecycleStatus": "customers.models.LifecycleStatus",
        "FitStatus": "valuation.models.FitStatus",
        "ComponentKind": "offerings.models.ComponentKind",
        "CustomerKind": "customers.models.CustomerKind",
        "FactKind": "customers.models.FactKind",
        "AssignmentMode": "interactions.choices.AssignmentMode",
    },
}

# --- Celery ----------------------------------------------------------------------------------
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
# A recompute is short; a task that runs away is killed rather than blocking the worker.
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_TASK_TIME_LIMIT = 90
# Acknowledge after the task ran, and put it back if the worker died: a recompute is
# idempotent, so running it twice is harmless, while losing it is not.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True


def filesystem_broker_options(folder: Path) -> dict:
    for sub in ("queue", "control", "processed"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "control_folder": str(folder / "control"),
        "processed_folder": str(folder / "processed"),
        "store_processed": False,
    }


# Each worker looks for such messages every 10 s (Kombu scans only every 10th look by default,
# which would leave a dead worker's task waiting up to 100 s past the timeout).
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
}
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Every record carries the Celery task id and the customer id it concerns (when there is one):
# core.logs.ContextFilter adds them; "json" writes one JSON object per line.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "core.logs.ContextFilter"},
        "client_error": {"()": "core.logs.ClientErrorFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[task=%(task_id)s customer=%(customer_id)s] %(message)s"
        },
        "json": {"()": "core.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT or "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's own defaults give "django" a console handler of its own (DEBUG only) on top
        # of the root's, which printed every 403/404 twice: one handler, the root's, for all.
        "django": {"handlers": [], "propagate": True},
        # A 4xx is one line, without the traceback of the exception that produced it.
        "django.request": {"filters": ["client_error"]},
        "django.db.backends": {"level": "INFO"},
    },
}

# The schedule lives in the database (django-celery-beat) and is editable in the admin. Entries
# of CELERY_BEAT_SCHEDULE are written there by the scheduler at start; the replenishment run is
# created once by replenishment's post_migrate hook, so an admin's changes to it are kept.
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Periodic work. A lost recompute (broker down at save time, worker killed) is found again
# from the database by the sweeper.
CELERY_BEAT_SCHEDULE = {
    # Events whose relay after commit did not happen or failed (events.services).
    "relay-pending-events": {
        "task": "events.tasks.events_relay_pending",
        "schedule": 60.0,
    },
    "recompute-stale-customers": {
        "task": "valuation.tasks.customers_figures_recompute_stale",
        "schedule": 60.0,
    },
    # An import whose process died is failed, never left "running" (dataio.services).
    # Webhook deliveries whose time has come: retries, and sends lost with a broker or worker.
    "deliver-pending-webhooks": {
        "task": "webhooks.tasks.webhooks_deliver_due",
        "schedule": 15.0,
    },
    "check-import-jobs": {
        "task": "dataio.tasks.dataio_import_jobs_check",
        "schedule": 60.0,
    },
    # Mailboxes with IMAP settings (mail.imap; one poll per mailbox at a time, backing off).
    "poll-mailboxes": {
        "task": "mail.tasks.mailboxes_poll",
        "schedule": 60.0,
    },
    # Outgoing mail whose task was lost (broker down at the commit): sent again (mail.tasks).
    "send-unsent-mail": {
        "task": "mail.tasks.mail_unsent_sweep",
        "schedule": 300.0,
    },
    # Notices for items near or past their response due time (docs/service-levels.md).
    "escalate-service-levels": {
        "task": "interactions.tasks.service_level_escalate",
        "schedule": 300.0,
    },
    # The duplicate report for admins (customers.duplicates, the page /customers/duplicates/).
    "report-duplicate-customers": {
        "task": "customers.tasks.customer_duplicates_report",
        "schedule": crontab(hour=3, minute=15),
    },
    # The population models are refitted nightly; per-interaction recomputes apply the fit.
    "refit-valuation-models": {
        "task": "valuation.tasks.valuation_nightly_refit",
        "schedule": crontab(hour=2, minute=30),
    },
}
