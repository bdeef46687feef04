"""The API's JSON parser, bounded to what the application and its database can hold.

Python's json module recurses once per nesting level: 50,000 nested arrays raised
RecursionError, a 500. This parser reads at most DATA_UPLOAD_MAX_MEMORY_SIZE bytes, refuses
nesting deeper than MAX_JSON_DEPTH before parsing, and refuses strings PostgreSQL cannot store
(a NUL character; a lone UTF-16 surrogate, which has no UTF-8 form), each with a 400 that names
the problem and, for strings, where in the document it is.
"""

import re

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser, get_encoding
from rest_framework.utils import json

# Deeper than any request of the API (an interaction's facts are three levels down).
MAX_JSON_DEPTH = 32
# A JSON string (skipped whole, so brackets inside it do not count) or a bracket.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_depth_check(text: str, *, limit: int = MAX_JSON_DEPTH) -> None:
    depth = 0
    for token in _TOKENS.finditer(text):
        char = token.group()
        if char in "[{":
            depth += 1
            if depth > limit:
                raise ParseError(f"JSON parse error - nested deeper than {limit} levels.")
        elif char in "]}":
            depth -= 1


def json_storable_check(value, path: str = "") -> None:
    """Every string (and object key) can be stored in PostgreSQL text and jsonb columns."""
    if isinstance(value, str):
        match = _UNSTORABLE.search(value)
        if match:
            what = "a NUL character" if match.group() == "\x00" else "a lone surrogate"
            raise ParseError(
                f"JSON parse error - the string at {path or 'the top level'} cannot be stored: "
                f"it contains {what}."
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            json_storable_check(key, f"{path}.{key}".lstrip(".") + " (its key)")
            json_storable_check(item, f"{path}.{key}".lstrip("."))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            json_storable_check(item, f"{path}[{index}]")


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = get_encoding(parser_context or {})
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        raw = stream.read() if limit is None else stream.read(limit + 1)
        if limit is not None and len(raw) > limit:
            raise ParseError(f"JSON parse error - the body is larger than {limit} bytes.")
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as error:
            raise ParseError(f"JSON parse error - {error}") from None
        json_depth_check(text)
        try:
            data = json.loads(text, parse_constant=json.strict_constant if self.strict else None)
        except ValueError as error:  # also an integer too long to convert
            raise ParseError(f"JSON parse error - {error}") from None
        json_storable_check(data)
        return data
