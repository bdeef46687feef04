"""Writing a configuration row from a dict of its fields, for the services of several apps."""

from typing import TypeVar

from django.db.models import Model

M = TypeVar("M", bound=Model)


def record_save(instance: M, data: dict, allowed: tuple[str, ...]) -> M:
    """Set the given fields (only those in `allowed`), validate the whole row, save it."""
    unknown = set(data) - set(allowed)
    if unknown:
        raise TypeError(f"unknown fields: {sorted(unknown)}")
    for name, value in data.items():
        setattr(instance, name, value)
    instance.full_clean()
    instance.save()
    return instance
