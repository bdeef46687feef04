"""Validation errors named by their full path, in services and in the API.

Services raise Django's `ValidationError` keyed by field; an error about one item of a list
(an order line, a fact) is keyed by its path, `lines[0].quantity`, `facts[1].value`
(`errors_under`). The API turns every validation error, DRF's own (nested serializers) and the
services', into one flat JSON object of path -> messages (`api_exception_handler`, set as DRF's
EXCEPTION_HANDLER), instead of each view converting errors by hand (HackSoft's
`api/exception_handlers.py`).
"""

from collections.abc import Iterator
from contextlib import contextmanager

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import exceptions
from rest_framework.serializers import as_serializer_error
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler


@contextmanager
def errors_under(path: str) -> Iterator[None]:
    """Re-raise a Django ValidationError from inside with each field named under `path`:
    `{"quantity": ...}` under `lines[2]` becomes `{"lines[2].quantity": ...}`."""
    try:
        yield
    except DjangoValidationError as error:
        if not hasattr(error, "error_dict"):
            raise DjangoValidationError({path: error.error_list}) from error
        named = {
            path if field == NON_FIELD_ERRORS else f"{path}.{field}": errors
            for field, errors in error.error_dict.items()
        }
        raise DjangoValidationError(named) from error


def error_paths(detail) -> dict[str, list]:
    """DRF's nested error structure as one flat mapping of full path -> messages."""
    flat: dict[str, list] = {}
    _flatten(detail, "", flat)
    return flat


def _flatten(detail, path: str, flat: dict[str, list]) -> None:
    non_field = api_settings.NON_FIELD_ERRORS_KEY
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int):  # a ListField's child errors, keyed by index
                name = f"{path}[{key}]"
            elif key in (non_field, NON_FIELD_ERRORS):
                name = path  # about the item itself
            else:
                name = f"{path}.{key}" if path else str(key)
            _flatten(value, name, flat)
    elif isinstance(detail, list) and any(isinstance(item, dict | list) for item in detail):
        for index, item in enumerate(detail):  # a nested many=True serializer: one per item
            if isinstance(item, dict | list):
                _flatten(item, f"{path}[{index}]", flat)
            else:
                flat.setdefault(path or non_field, []).append(item)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        flat.setdefault(path or non_field, []).extend(messages)


def api_exception_handler(exc, context):
    """DRF's handler, plus: a service's ValidationError is a 400 like a serializer's, and every
    validation error names the full path of what it is about."""
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(as_serializer_error(exc))
    response = exception_handler(exc, context)
    if response is not None and isinstance(exc, exceptions.ValidationError):
        response.data = error_paths(response.data)
    return response
