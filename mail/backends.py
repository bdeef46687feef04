"""Email backends of the project (settings EMAIL_BACKEND)."""

from .local import LocalMailboxBackend

__all__ = ["LocalMailboxBackend"]
