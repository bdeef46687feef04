"""Secrets stored in the database (a mailbox's IMAP password), encrypted with Fernet
(AES-128-CBC + HMAC-SHA256, from `cryptography`) under a key derived from SECRET_KEY.

The key is HKDF-SHA256 of SECRET_KEY with a purpose of its own, so it is no other use of
SECRET_KEY's. Values encrypted under a key in SECRET_KEY_FALLBACKS still decrypt (rotate
SECRET_KEY, then save the passwords again before dropping the fallback); a value no key
opens raises `SecretUnreadable`.
"""

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

PURPOSE = b"crm mail.secrets v1"


class SecretUnreadable(Exception):
    """The stored value opens under no current key (SECRET_KEY changed, or tampered)."""


def _key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=PURPOSE).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(derived)


def _fernet() -> MultiFernet:
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(_key(key)) for key in keys])


def secret_encrypt(value: str) -> str:
    return _fernet().encrypt(value.encode()).decode("ascii")


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as error:
        raise SecretUnreadable(
            "The stored password cannot be decrypted (was SECRET_KEY changed?): enter it again."
        ) from error
