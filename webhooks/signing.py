"""The signature of a delivery: `X-CRM-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`.

The HMAC is of "<t>.<raw body>" with the endpoint's secret, as Stripe does: the timestamp is
signed too, so a receiver can refuse old replays (docs/webhooks.md has the receiver's side).
"""

import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
