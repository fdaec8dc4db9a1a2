"""Settings for the Centrali Workspace Service.

Configuration comes from environment variables only (12-factor); every value has
a safe local default so that `make run` works on a bare machine. DESIGN.md lists
the variable names.
"""

import hashlib
from datetime import timedelta
from pathlib import Path

import environ
import structlog
from celery.schedules import crontab

import centrali
import centrali.log_context

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

# The default is for `make run` only: it is public, so `check --deploy` flags it (W009) and
# every token signed with it (JWTs default to this key) could be forged.
SECRET_KEY = env("DJANGO_SECRET_KEY", default="django-insecure-local-development-key-change-me-0123456789")
# Keys the HMAC of personal data kept after erasure (a purged workspace's owner email) and in the audit
# chain; changing it makes old hashes unmatchable. The default derives from SECRET_KEY (local runs only).
PRIVACY_HASH_KEY = env("PRIVACY_HASH_KEY", default="")
# Derived, rotating DJANGO_SECRET_KEY would fail every audit event's verification: check --deploy
# warns (centrali.checks).
PRIVACY_HASH_KEY_IS_DERIVED = not PRIVACY_HASH_KEY
PRIVACY_HASH_KEY = PRIVACY_HASH_KEY or hashlib.sha256(b"centrali.privacy-hash:" + SECRET_KEY.encode()).hexdigest()
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

SERVICE_VERSION = centrali.__version__  # the contract version this service implements
GIT_COMMIT = env("GIT_COMMIT", default="")

INSTALLED_APPS = [
    "centrali.console_app.ConsoleAdminConfig",  # django.contrib.admin as the staff console
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "djstripe",
    "centrali",
    "workspaces",
    "billing",
    "usage",
    "support",
    "audit",
    "privacy",
]

MIDDLEWARE = [
    "centrali.api.middleware.RequestContextMiddleware",
    "centrali.api.metrics.PrometheusMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "usage.middleware.ApiCallMeteringMiddleware",
    "centrali.api.db_faults.DatabaseFaultMiddleware",
    "centrali.idempotency.middleware.IdempotencyMiddleware",
]

ROOT_URLCONF = "centrali.urls"

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

WSGI_APPLICATION = "centrali.wsgi.application"

if "DATABASE_URL" not in env:
    VAR_DIR.mkdir(exist_ok=True)  # the default SQLite file lives there; a fresh clone has no var/
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
# A persistent connection is checked before a request reuses it: one PostgreSQL dropped (a restart,
# a failover) is replaced instead of failing the request (centrali.api.db_faults).
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "centrali.db.postgresql"  # its health check is a poll(), not a query
    # PostgreSQL plans a query anew on every run unless it is a prepared statement: planning the
    # membership join costs four times executing it (bench/RESULTS.md). Server-side binding lets
    # psycopg prepare a query after DATABASE_PREPARE_THRESHOLD runs on a connection. A pooler in
    # transaction mode (PgBouncer before 1.21) cannot keep prepared statements: set it to `off`.
    _prepare_threshold = env("DATABASE_PREPARE_THRESHOLD", default="2")
    if _prepare_threshold.strip().lower() != "off":
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=int(_prepare_threshold)
        )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the API and the local worker read while the other writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA journal_mode=WAL;"
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["OPTIONS"]["timeout"] = 20

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "workspaces.User"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
MEDIA_ROOT = env("MEDIA_ROOT", default=str(VAR_DIR / "media"))

# --- Redis: broker and cache. Absent = embedded mode (local memory cache,
# filesystem broker that a local worker process reads).
REDIS_URL = env("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Workers and beat log through LOGGING's JSON handler (below), not Celery's own text format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, str | float | bool]
if REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
else:
    _broker_dir = VAR_DIR / "celery-broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(VAR_DIR / "celery-processed"),
        "control_folder": str(VAR_DIR / "celery-control"),
        "store_processed": False,
    }
# Each due entry is sent by the one beat that claims its slot in Redis (centrali.beat).
CELERY_BEAT_SCHEDULER = "centrali.beat:SingleRunScheduler"
CELERY_BEAT_SCHEDULE = {
    # Each app adds its periodic tasks below its own marker line.
    # -- workspaces: provisioning, exports, purge
    "workspaces.sweep-stalled-work": {"task": "workspaces.sweep_stalled_work", "schedule": timedelta(minutes=1)},
    "workspaces.expire-export-files": {"task": "workspaces.expire_export_files", "schedule": timedelta(hours=1)},
    "workspaces.purge-deleted-workspaces": {
        "task": "workspaces.purge_deleted_workspaces",
        "schedule": crontab(hour=3, minute=30),
    },
    # -- billing
    "billing.reconcile-nightly": {
        "task": "billing.reconcile_billing",
        "schedule": crontab(minute=15, hour=env.int("BILLING_RECONCILE_HOUR_UTC", default=3)),
    },
    "billing.charge-overage": {
        "task": "billing.charge_overage_for_ended_periods",
        "schedule": crontab(minute=30),
    },
    "billing.sweep-stripe-events": {"task": "billing.sweep_stripe_events", "schedule": timedelta(minutes=1)},
    # -- usage
    "usage.prune-raw-events": {"task": "usage.prune_raw_events", "schedule": timedelta(hours=6)},
    "usage.maintain-raw-event-partitions": {
        "task": "usage.maintain_raw_event_partitions",
        "schedule": timedelta(hours=1),
    },
    "usage.flush-api-calls": {"task": "usage.flush_api_calls", "schedule": timedelta(minutes=1)},
    "usage.resend-unsent-quota-alerts": {
        "task": "usage.resend_unsent_quota_alerts",
        "schedule": timedelta(minutes=1),
    },
    # -- centrali: idempotency keys
    "centrali.purge-idempotency-records": {
        "task": "centrali.purge_idempotency_records",
        "schedule": timedelta(hours=1),
    },
    # -- audit
    "audit.verify-audit-chains": {
        "task": "audit.verify_audit_chains",
        "schedule": crontab(minute=0, hour=env.int("AUDIT_VERIFY_HOUR_UTC", default=4)),
    },
    "audit.apply-audit-retention": {
        "task": "audit.apply_audit_retention",
        "schedule": crontab(minute=30, hour=env.int("AUDIT_RETENTION_HOUR_UTC", default=4)),
    },
}

# Task modules outside an app's `tasks` (which autodiscovery finds).
CELERY_IMPORTS = ["centrali.idempotency.tasks"]

# --- Idempotency-Key on POST (centrali.idempotency): how long a key replays its first answer, how
# long a concurrent duplicate waits for that answer (then 409), when an unfinished claim is abandoned.
IDEMPOTENCY_KEY_TTL = timedelta(hours=24)
IDEMPOTENCY_WAIT_SECONDS = env.float("IDEMPOTENCY_WAIT_SECONDS", default=3.0)
IDEMPOTENCY_STALE_AFTER = timedelta(minutes=5)

# --- REST framework
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["centrali.api.authentication.BearerJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["centrali.api.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["centrali.api.parsers.StrictJSONParser"],
    # Renderers chosen by the Accept header's q-values; a 406 names the types an endpoint answers.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "centrali.api.negotiation.ContentNegotiation",
    "URL_FORMAT_OVERRIDE": None,  # JSON only: `?format=` is not ours to interpret
    "DEFAULT_SCHEMA_CLASS": "centrali.api.schema.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["centrali.api.throttling.ConfiguredRateThrottle"],
    "EXCEPTION_HANDLER": "centrali.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DATETIME_FORMAT": "iso-8601",
    # Reverse proxies in front of the service; X-Forwarded-For is trusted only this many hops deep
    # (rate limits and audit IPs). 0 = clients connect directly and the header is ignored.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
}

# `RATE_LIMITS=workspace_create=10/min,anon=120/min`; `off` disables every limit.
_rate_limits = env("RATE_LIMITS", default="workspace_create=10/min,anon=120/min,user=1200/min")
RATE_LIMITS = (
    {}
    if _rate_limits.strip().lower() == "off"
    else dict(item.split("=", 1) for item in _rate_limits.split(",") if "=" in item)
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Centrali Workspace Service API",
    "DESCRIPTION": "Workspace management, billing, usage tracking, and subscription handling.",
    "VERSION": SERVICE_VERSION,
    "SERVE_INCLUDE_SCHEMA": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "centrali.api.schema.add_error_responses",
        "centrali.api.schema.add_request_headers_and_links",
    ],
    "SCHEMA_PATH_PREFIX": r"/workspace/api/v1",
    "SCHEMA_PATH_PREFIX_TRIM": True,
    "SERVERS": [{"url": "/workspace/api/v1", "description": "Workspace Service API"}],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- JWT: verify the platform IAM's tokens, issue our own for owners we create.
JWT_ALGORITHM = env("JWT_ALGORITHM", default="HS256")
SIMPLE_JWT = {
    "ALGORITHM": JWT_ALGORITHM,
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "VERIFYING_KEY": env("JWT_VERIFYING_KEY", default="") or None,
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=env.int("JWT_ACCESS_TOKEN_LIFETIME", default=3600)),
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "sub",
    "LEEWAY": 30,
    "UPDATE_LAST_LOGIN": False,
}
PLATFORM_SERVICE_TOKEN = env("PLATFORM_SERVICE_TOKEN", default="")

# --- workspaces: lifecycle and slugs
WORKSPACE_GRACE_PERIOD_DAYS = 30
WORKSPACE_DEFAULT_PLAN = "free"
WORKSPACE_RESERVED_SLUGS = frozenset(
    {
        "admin",
        "api",
        "docs",
        "health",
        "healthz",
        "readyz",
        "internal",
        "metrics",
        "openapi",
        "openapi.json",
        "static",
        "version",
        "webhooks",
        "workspace",
        "workspaces",
        "login",
        "logout",
        "billing",
        "support",
        "status",
        "new",
    }
)

# --- billing: Stripe through dj-stripe. Without STRIPE_SECRET_KEY every billing endpoint
# answers 503 BILLING_NOT_CONFIGURED. STRIPE_API_BASE points stripe-python at a
# Stripe-compatible server (the local sandbox); empty = api.stripe.com.
STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")
STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY", default="")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET", default="")
STRIPE_API_BASE = env("STRIPE_API_BASE", default="")
STRIPE_TIMEOUT_SECONDS = env.int("STRIPE_TIMEOUT_SECONDS", default=20)
STRIPE_WEBHOOK_TOLERANCE_SECONDS = 300  # Stripe's own libraries' default
# Webhook events are applied by the worker (billing.tasks.apply_stripe_event): a failed attempt is retried
# after this delay, doubling (at most an hour), up to this many attempts; then the event is kept as failed.
STRIPE_WEBHOOK_RETRY_BASE_SECONDS = env.float("STRIPE_WEBHOOK_RETRY_BASE_SECONDS", default=30)
STRIPE_WEBHOOK_MAX_ATTEMPTS = env.int("STRIPE_WEBHOOK_MAX_ATTEMPTS", default=12)
# dj-stripe reads the mode and the per-mode keys; they all derive from STRIPE_SECRET_KEY.
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
STRIPE_TEST_SECRET_KEY = "" if STRIPE_LIVE_MODE else STRIPE_SECRET_KEY
STRIPE_LIVE_SECRET_KEY = STRIPE_SECRET_KEY if STRIPE_LIVE_MODE else ""
STRIPE_PUBLIC_KEY = STRIPE_PUBLISHABLE_KEY
DJSTRIPE_SUBSCRIBER_MODEL = "workspaces.Workspace"
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"
# Stripe events arrive at our own POST /webhooks/stripe (billing.webhooks), not dj-stripe's per-endpoint URLs.
DJSTRIPE_WEBHOOK_VALIDATION = "verify_signature"

# --- Email
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="Centrali <no-reply@centrali.local>")
SUPPORT_STAFF_EMAILS = env.list("SUPPORT_STAFF_EMAILS", default=[])
# For EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend (one file per message).
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "mail"))

# --- workspaces: provisioning, exports, workspace file storage
# Each provisioned service maps a name to a provisioner class and its options. `storage` creates the
# workspace's area in the file storage; the platform services are provisioned over HTTP when
# PROVISIONING_HTTP_BASE_URL is set (POST {base}/{service}).
PROVISIONING_HTTP_BASE_URL = env("PROVISIONING_HTTP_BASE_URL", default="").rstrip("/")
PROVISIONING_HTTP_SERVICES = env.list("PROVISIONING_HTTP_SERVICES", default=["compute", "search", "scheduler"])
PROVISIONING_HTTP_TOKEN = env("PROVISIONING_HTTP_TOKEN", default="")
PROVISIONING_HTTP_TIMEOUT_SECONDS = env.float("PROVISIONING_HTTP_TIMEOUT_SECONDS", default=10.0)
WORKSPACE_PROVISIONERS = {
    "storage": {"class": "workspaces.provisioning.StorageProvisioner"},
    **{
        name: {
            "class": "workspaces.provisioning.HttpProvisioner",
            "url": f"{PROVISIONING_HTTP_BASE_URL}/{name}",
            "token": PROVISIONING_HTTP_TOKEN,
            "timeout": PROVISIONING_HTTP_TIMEOUT_SECONDS,
        }
        for name in (PROVISIONING_HTTP_SERVICES if PROVISIONING_HTTP_BASE_URL else [])
    },
}
PROVISIONING_MAX_ATTEMPTS = env.int("PROVISIONING_MAX_ATTEMPTS", default=6)
PROVISIONING_RETRY_BACKOFF_SECONDS = env.float("PROVISIONING_RETRY_BACKOFF_SECONDS", default=2.0)
PROVISIONING_RETRY_BACKOFF_MAX_SECONDS = env.float("PROVISIONING_RETRY_BACKOFF_MAX_SECONDS", default=300.0)
# A service left pending/provisioning this long (lost message, dead worker) is enqueued again.
PROVISIONING_STALLED_AFTER = timedelta(seconds=env.int("PROVISIONING_STALLED_AFTER_SECONDS", default=900))

# Workspace files (each workspace's area and its export archives): local filesystem under
# MEDIA_ROOT by default, S3 (or any S3-compatible endpoint) with EXPORT_STORAGE=s3.
EXPORT_STORAGE = env("EXPORT_STORAGE", default="filesystem")
AWS_STORAGE_BUCKET_NAME = env("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env("AWS_S3_ENDPOINT_URL", default="") or None
AWS_S3_REGION_NAME = env("AWS_S3_REGION_NAME", default="") or None
AWS_DEFAULT_ACL = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "workspace_files": (
        {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": AWS_STORAGE_BUCKET_NAME,
                "endpoint_url": AWS_S3_ENDPOINT_URL,
                "region_name": AWS_S3_REGION_NAME,
                "signature_version": "s3v4",
                "file_overwrite": False,
            },
        }
        if EXPORT_STORAGE == "s3"
        else {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    ),
}
EXPORT_BATCH_SIZE = env.int("EXPORT_BATCH_SIZE", default=2000)
EXPORT_RETENTION = timedelta(hours=env.int("EXPORT_RETENTION_HOURS", default=7 * 24))
EXPORT_DOWNLOAD_LINK_TTL = timedelta(seconds=env.int("EXPORT_DOWNLOAD_LINK_TTL_SECONDS", default=15 * 60))
# A running export whose heartbeat is older than this is marked failed (its worker died);
# a queued one never picked up within EXPORT_QUEUED_TIMEOUT likewise.
EXPORT_HEARTBEAT_TIMEOUT = timedelta(seconds=env.int("EXPORT_HEARTBEAT_TIMEOUT_SECONDS", default=600))
EXPORT_QUEUED_TIMEOUT = timedelta(seconds=env.int("EXPORT_QUEUED_TIMEOUT_SECONDS", default=3600))
PURGE_BATCH_SIZE = env.int("PURGE_BATCH_SIZE", default=50)

# --- usage: metering
# Raw usage events are kept this many days (then pruned; their rollups stay). Events older
# than this are refused on ingest, so a replay can never be counted twice.
USAGE_RAW_EVENT_RETENTION_DAYS = env.int("USAGE_RAW_EVENT_RETENTION_DAYS", default=35)
# How far in the future (clock skew) an event's timestamp may be.
USAGE_EVENT_MAX_FUTURE_SKEW_SECONDS = env.int("USAGE_EVENT_MAX_FUTURE_SKEW_SECONDS", default=300)
# How long a web process keeps its API-call counts before adding them to Redis (usage.middleware);
# 0 adds each call's count before the call answers.
API_CALL_METERING_FLUSH_SECONDS = env.float("API_CALL_METERING_FLUSH_SECONDS", default=1.0)

# --- audit: the keys of the log's keyed hashes (audit.chain). AUDIT_PERSONAL_DATA_KEY commits the
# events' personal fields (HMAC digests, so they can be erased), AUDIT_CHECKPOINT_KEY signs the
# retention checkpoints. Unset, each derives from PRIVACY_HASH_KEY (so one secret serves); set
# them to split the keys. Keep them: events and checkpoints written under one key do not verify
# under another.
AUDIT_PERSONAL_DATA_KEY = env("AUDIT_PERSONAL_DATA_KEY", default="") or f"{PRIVACY_HASH_KEY}:audit-personal-data"
AUDIT_CHECKPOINT_KEY = env("AUDIT_CHECKPOINT_KEY", default="") or f"{PRIVACY_HASH_KEY}:audit-checkpoint"
# Events older than their workspace's plan retention (Plan.audit_retention_days) are dropped in
# batches of this many per transaction.
AUDIT_RETENTION_BATCH_SIZE = env.int("AUDIT_RETENTION_BATCH_SIZE", default=5000)

# --- support
# Where staff open an issue from a notification email (the admin's support queue).
SUPPORT_CONSOLE_URL = env("SUPPORT_CONSOLE_URL", default="http://127.0.0.1:8000/admin/support/supportissue/")

# --- Production hardening: on unless DEBUG.
if not DEBUG:
    # Only behind a proxy that sets X-Forwarded-Proto itself; otherwise clients could claim https.
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
    SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
    SECURE_CONTENT_TYPE_NOSNIFF = True

_shared_log_processors: list[structlog.typing.Processor] = [
    structlog.contextvars.merge_contextvars,
    centrali.log_context.add_trace_ids,  # trace_id/span_id when tracing is on
    structlog.stdlib.add_logger_name,
    structlog.processors.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
structlog.configure(
    processors=[*_shared_log_processors, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    cache_logger_on_first_use=True,
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": structlog.stdlib.ProcessorFormatter,
            "processors": [
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(),
            ],
            "foreign_pre_chain": _shared_log_processors,
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
CSRF_FAILURE_VIEW = "centrali.api.errors.csrf_failure"
