"""Tests: the real PostgreSQL and Redis of this machine unless the environment names others."""

from .base import *  # noqa: F403
from .base import (
    CELERY_BROKER_URL,
    DATABASE_URL,
    REST_FRAMEWORK,
    STATIC_ROOT,
    database_from_url,
)

# The defaults match CI and the developer machines (trust auth on 127.0.0.1). Redis database
# 15 keeps test tasks apart from any other use of the same Redis.
DATABASES = {"default": database_from_url(DATABASE_URL or "postgres://postgres@127.0.0.1:5432/crm")}
DATABASES["default"]["CONN_MAX_AGE"] = 0
CELERY_BROKER_URL = CELERY_BROKER_URL or "redis://127.0.0.1:6379/15"
SECRET_KEY = "test-only-key"
DEBUG = False
SECURE_SSL_REDIRECT = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise looks for it at start-up
# Generous API rates: the schema fuzzing and the access matrix send many requests.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"anon": "100000/minute", "user": "100000/minute"},
}
API_THROTTLE_SIGN_IN = "100000/minute"
# The same for the preference centre (a test that checks its limits sets them low).
PREFERENCE_CENTRE_RATE_PER_LINK = "100000/hour"
PREFERENCE_CENTRE_RATE_PER_IP = "100000/hour"
PREFERENCE_CENTRE_VIEWS_PER_IP = "100000/hour"
# And for the portal's sign-in links (a test of the limits sets them low).
PORTAL_SIGN_IN_RATE_PER_ADDRESS = "100000/hour"
PORTAL_SIGN_IN_RATE_PER_IP = "100000/hour"
PORTAL_POST_RATE = "100000/hour"
PORTAL_VOTE_RATE = "100000/hour"
PORTAL_REPLY_RATE = "100000/hour"
# And for the web forms (a test of the limit sets it low).
WEBFORM_RATE_PER_IP = "100000/hour"
# Many tests write from the same few addresses (a test of the flood limit sets it low).
MAIL_SENDER_RATE = "100000/hour"
MAIL_INBOUND_RATE = "100000/minute"
