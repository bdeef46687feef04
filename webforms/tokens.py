"""The signed token a form page carries: which form, when the page was served, and a nonce.

A person takes more than a few seconds to write a message; a script posting at once, or
replaying a page fetched long ago, does not get through. The token is signed with the
SECRET_KEY (django.core.signing), so it cannot be made up or back-dated.
"""

import secrets
import time
from dataclasses import dataclass

from django.core import signing

SALT = "webforms.page"
MIN_SECONDS = 3  # faster than this is a script
MAX_AGE_SECONDS = 24 * 3600  # a page left open longer is served afresh

TOO_FAST = "That was quicker than we expected. Please check your message and send it again."
EXPIRED = "This page was open for a long time. Please check your message and send it again."
INVALID = "We could not check this page. Please check your message and send it again."


class TokenRefused(Exception):
    """The token is missing, forged, for another form, too fresh or too old (the message)."""


@dataclass(frozen=True)
class PageToken:
    form_id: int
    issued_at: float
    nonce: str


def page_token_make(*, form_id: int, now: float | None = None) -> str:
    issued = time.time() if now is None else now
    return signing.dumps(
        {"f": form_id, "t": round(issued, 3), "n": secrets.token_hex(12)}, salt=SALT
    )


def page_token_check(token: str, *, form_id: int, now: float | None = None) -> PageToken:
    """The page token if it is ours, for this form, and between MIN_SECONDS and a day old."""
    now = time.time() if now is None else now
    try:
        data = signing.loads(token, salt=SALT)
        page = PageToken(form_id=int(data["f"]), issued_at=float(data["t"]), nonce=str(data["n"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError) as error:
        raise TokenRefused(INVALID) from error
    if page.form_id != form_id:
        raise TokenRefused(INVALID)
    age = now - page.issued_at
    if age < MIN_SECONDS:
        raise TokenRefused(TOO_FAST)
    if age > MAX_AGE_SECONDS:
        raise TokenRefused(EXPIRED)
    return page
