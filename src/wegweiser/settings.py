"""Wegweiser settings: one file, every value from the environment (see README, "Configuration").

Bad values raise ImproperlyConfigured naming the variable (wegweiser.config).
"""

from __future__ import annotations

import base64
import zoneinfo
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from wegweiser import config

PACKAGE_DIR = Path(__file__).resolve().parent
BASE_DIR = Path(config.string("WEGWEISER_HOME", PACKAGE_DIR.parent.parent))
VAR_DIR = Path(config.string("VAR_DIR", BASE_DIR / "var"))

# --- core -------------------------------------------------------------------------------------
DEBUG = config.boolean("DEBUG", False)
SECRET_KEY = config.string("SECRET_KEY")
if len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY: must be at least 32 characters long.")
SECRET_KEY_FALLBACKS = config.string_list("SECRET_KEY_FALLBACKS", [])
ALLOWED_HOSTS = config.string_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS: set the host names this server answers to.")
CSRF_TRUSTED_ORIGINS = config.string_list("CSRF_TRUSTED_ORIGINS", [])
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("http://", "https://")):
        raise ImproperlyConfigured(
            f"CSRF_TRUSTED_ORIGINS: {_origin!r} must start with http:// or https://."
        )

ROOT_URLCONF = "wegweiser.urls"
ASGI_APPLICATION = "wegweiser.asgi.application"
WSGI_APPLICATION = None
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"
SITE_NAME = config.string("SITE_NAME", "Wegweiser")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "treebeard",
    "ninja",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.usersessions",
    "wegweiser.core",
    "wegweiser.accounts",
    "wegweiser.organizations",
    "wegweiser.realtime",
    "wegweiser.counseling",
    "wegweiser.benefits",
    "wegweiser.ideas",
    "wegweiser.catalogue",
    "wegweiser.partners",
    "wegweiser.maturity",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "wegweiser.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "allauth.usersessions.middleware.UserSessionsMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "wegweiser.accounts.middleware.SessionLifetimeMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "wegweiser.core.context_processors.site",
            ],
        },
    }
]

# --- data -------------------------------------------------------------------------------------
DATABASES = {"default": config.database("DATABASE_URL", f"sqlite:///{VAR_DIR / 'wegweiser.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # IMMEDIATE transactions take the write lock up front, so two requests never both read the
    # audit chain's head and then race to append (see core/audit.py). WAL lets readers go on.
    # Tests use a file, not Django's shared-cache in-memory database: that one refuses concurrent
    # writers at once ("database table is locked") instead of waiting, and the browser tests run
    # a real server with HTTP and WebSocket requests side by side.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-db.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = config.integer("DATABASE_CONN_MAX_AGE", 0, minimum=0)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DATABASES["default"]["ATOMIC_REQUESTS"] = False

REDIS_URL = config.redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "wegweiser",
        }
    }
    CHANNEL_LAYERS = {
        "default": {
            # Redis pub/sub, received once per server process and fanned out there — far cheaper
            # than the list-based core layer for chat traffic; our subclass delivers to this
            # process's own sockets without the round trip through Redis (realtime/layers.py).
            "BACKEND": "wegweiser.realtime.layers.LocalFirstPubSubLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": "wegweiser"},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # One process: its sockets only (realtime/layers.py says why not Channels' in-memory layer).
    CHANNEL_LAYERS = {"default": {"BACKEND": "wegweiser.realtime.layers.ProcessChannelLayer"}}

# --- internationalisation -----------------------------------------------------------------------
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("German")), ("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = config.string("TIME_ZONE", "Europe/Berlin")
try:
    zoneinfo.ZoneInfo(TIME_ZONE)
except (zoneinfo.ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(f"TIME_ZONE: unknown time zone {TIME_ZONE!r}.") from None
LANGUAGE_COOKIE_NAME = "wegweiser_language"
LANGUAGE_COOKIE_SECURE = config.boolean("SESSION_COOKIE_SECURE", not DEBUG)
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- static and uploaded files -------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if config.boolean("STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG
# Oversized requests are refused before any view sees them (400). Files have their own limits.
DATA_UPLOAD_MAX_MEMORY_SIZE = config.integer("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_NUMBER_FIELDS = 500
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- counseling ----------------------------------------------------------------------------------
ATTACHMENT_MAX_BYTES = config.integer("ATTACHMENT_MAX_MB", 20, minimum=1) * 1024 * 1024
ATTACHMENTS_PER_DAY = config.integer("ATTACHMENTS_PER_DAY", 10, minimum=0)
ATTACHMENT_ROOT = Path(config.string("ATTACHMENT_DIR", str(VAR_DIR / "attachments")))
# 32 random bytes, base64 (see README, "Configuration"). Older keys stay
# readable through ATTACHMENT_KEY_FALLBACKS. Development derives a key from SECRET_KEY.
ATTACHMENT_KEY = config.string("ATTACHMENT_KEY", "")
ATTACHMENT_KEY_FALLBACKS = config.string_list("ATTACHMENT_KEY_FALLBACKS", [])
if not ATTACHMENT_KEY and not DEBUG:
    raise ImproperlyConfigured("ATTACHMENT_KEY: this setting is required (32 bytes, base64).")
for _name, _keys in (("ATTACHMENT_KEY", [ATTACHMENT_KEY] if ATTACHMENT_KEY else []),
                     ("ATTACHMENT_KEY_FALLBACKS", ATTACHMENT_KEY_FALLBACKS)):
    for _key in _keys:
        try:
            if len(base64.b64decode(_key, validate=True)) != 32:
                raise ValueError
        except ValueError:
            raise ImproperlyConfigured(f"{_name}: expected 32 bytes in base64.") from None
# Messages a user may send: "N/S" = N messages per S seconds (token bucket per server process).
CHAT_RATE_LIMIT = config.string("CHAT_RATE_LIMIT", "30/60")
try:
    _rate_n, _rate_s = (int(part) for part in CHAT_RATE_LIMIT.split("/"))
    if _rate_n < 1 or _rate_s < 1:
        raise ValueError
except ValueError:
    raise ImproperlyConfigured(
        f"CHAT_RATE_LIMIT: expected N/S (messages per seconds), got {CHAT_RATE_LIMIT!r}."
    ) from None
# The chat socket's writer prepares its statements on PostgreSQL. Turn off behind a pooler in
# transaction mode that cannot keep prepared statements (PgBouncer before 1.21).
CHAT_PREPARED_STATEMENTS = config.boolean("CHAT_PREPARED_STATEMENTS", True)
ENQUIRY_REMINDER_HOURS = config.integer("ENQUIRY_REMINDER_HOURS", 24, minimum=1)
ANONYMOUS_ACCOUNT_RETENTION_DAYS = config.integer("ANONYMOUS_ACCOUNT_RETENTION_DAYS", 180, minimum=1)
# A new-message e-mail is sent at most once per conversation until the user has read it.
NOTIFY_DELAY_MINUTES = config.integer("NOTIFY_DELAY_MINUTES", 10, minimum=0)
NINJA_PAGINATION_PER_PAGE = 50
# Needs & ideas: an item is hidden, pending a moderator's review, after this many reports.
IDEAS_REPORTS_TO_HIDE = config.integer("IDEAS_REPORTS_TO_HIDE", 3, minimum=1)
IDEAS_ATTACHMENTS_PER_ITEM = config.integer("IDEAS_ATTACHMENTS_PER_ITEM", 5, minimum=0)

# --- security -----------------------------------------------------------------------------------
SECURE_SSL_REDIRECT = config.boolean("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if config.boolean("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = False
SECURE_HSTS_SECONDS = config.integer("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = config.boolean("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = config.boolean("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = config.boolean("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_FAILURE_VIEW = "wegweiser.core.views.csrf_failure"
# Sessions: an idle timeout (renewed on every request) and an absolute lifetime after login.
SESSION_IDLE_MINUTES = config.integer("SESSION_IDLE_MINUTES", 60, minimum=5)
SESSION_MAX_HOURS = config.integer("SESSION_MAX_HOURS", 12, minimum=1)
SESSION_COOKIE_AGE = SESSION_IDLE_MINUTES * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True

# Content Security Policy without 'unsafe-inline': every script and style is a file we serve.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

# --- accounts (django-allauth) --------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "allauth.account.auth_backends.AuthenticationBackend",
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"
ACCOUNT_ADAPTER = "wegweiser.accounts.adapter.AccountAdapter"
# The password change also re-wraps the end-to-end encryption key (docs/e2e-protocol.md §1.1).
ACCOUNT_FORMS = {"change_password": "wegweiser.counseling.forms.KeyedChangePasswordForm"}
USERSESSIONS_ADAPTER = "wegweiser.accounts.adapter.UserSessionsAdapter"
ACCOUNT_LOGIN_METHODS = {"username"}
ACCOUNT_SIGNUP_FIELDS = ["username*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "optional"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_USERNAME_MIN_LENGTH = 3
ACCOUNT_USERNAME_BLACKLIST = ["admin", "administrator", "root", "support", "wegweiser", "system"]
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
# Brute force: 5 failed logins for one username in 15 minutes lock that username (whatever the
# IP); 20 per minute per IP slow down spraying across usernames.
ACCOUNT_RATE_LIMITS = {
    "login_failed": config.string("LOGIN_FAILED_RATE_LIMIT", "20/m/ip,5/15m/key"),
    "login": "30/m/ip",
    "signup": "10/h/ip",
    "reset_password": "5/m/ip,3/h/key",
    "reauthenticate": "10/m/user",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes", "webauthn"]
MFA_PASSKEY_LOGIN_ENABLED = True
MFA_TOTP_ISSUER = SITE_NAME
MFA_WEBAUTHN_ALLOW_INSECURE_ORIGIN = DEBUG
USERSESSIONS_TRACK_ACTIVITY = True

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# NIST SP 800-63B-4 §3.1.1.2: at least 15 characters for a password that is the only factor (our
# clients), at most a generous 256, no composition rules, checked against breached passwords.
PASSWORD_MIN_LENGTH = config.integer("PASSWORD_MIN_LENGTH", 15, minimum=8)
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "wegweiser.accounts.passwords.LengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH, "max_length": 256},
    },
    {"NAME": "wegweiser.accounts.passwords.BreachedPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
]

# --- e-mail ---------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = config.string("DEFAULT_FROM_EMAIL", "wegweiser@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
_email = config.email("EMAIL_URL")
if _email:
    globals().update(_email)
else:
    EMAIL_BACKEND = (
        "django.core.mail.backends.console.EmailBackend"
        if DEBUG and not config.raw("EMAIL_HOST")
        else "django.core.mail.backends.smtp.EmailBackend"
    )
    EMAIL_HOST = config.string("EMAIL_HOST", "localhost")
    EMAIL_PORT = config.integer("EMAIL_PORT", 25, minimum=1)
    EMAIL_HOST_USER = config.string("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = config.string("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = config.boolean("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = config.boolean("EMAIL_USE_SSL", False)
    if EMAIL_USE_TLS and EMAIL_USE_SSL:
        raise ImproperlyConfigured("EMAIL_USE_TLS, EMAIL_USE_SSL: set only one of them.")

# --- logging: ids, never names or message text ---------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {
        "handlers": ["console"],
        "level": config.choice("LOG_LEVEL", "INFO", {"DEBUG", "INFO", "WARNING", "ERROR"}),
    },
    "loggers": {"django.security.DisallowedHost": {"level": "ERROR"}},
}

# --- Wegweiser ------------------------------------------------------------------------------------
DEMO_ALLOWED = config.boolean("WEGWEISER_DEMO", DEBUG)
AUDIT_PAGE_SIZE = 50
