"""The embedded default: SQLite, the filesystem broker, a real worker. For a first look."""

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    EMAIL_BACKEND_ENV,
    SECRET_KEY,
    VAR_DIR,
    filesystem_broker_options,
)

DEBUG = True
SECURE_SSL_REDIRECT = False
VAR_DIR.mkdir(parents=True, exist_ok=True)
if not SECRET_KEY:
    # Only ever used on a developer's machine; production refuses to start without one.
    SECRET_KEY = "local-only-insecure-key-do-not-deploy"
if not CELERY_BROKER_URL:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = filesystem_broker_options(VAR_DIR / "broker")
if not EMAIL_BACKEND_ENV:
    # What the app sends lands in a Maildir under var/mail, shown at /mail/local/ (staff).
    EMAIL_BACKEND = "mail.backends.LocalMailboxBackend"
