"""Request input the database cannot hold is refused before any view, form or library sees it.

PostgreSQL cannot store a NUL character in text (``ValueError: A string literal cannot contain
NUL``): a NUL in a query string or a form field reached the database through every list filter
that reads ``request.GET`` directly, and through django-axes, which looks up the username of a
failed sign-in before the form validates it. Here, in one place, every query-string and form
parameter (names, values and uploaded file names) is checked; the request answers 400 naming
the parameter: JSON under /api/ (as DRF reports a field), a page elsewhere. JSON bodies are
checked by the API's parser (crm.parsers).
"""

from django.http import JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render

API_PREFIX = "/api/"
NUL_MESSAGE = "Null characters are not allowed."


def unstorable_parameter(params) -> str | None:
    """The name of the first parameter whose name or value holds a NUL, or None."""
    for name, values in params.lists():
        if "\x00" in name:
            return name.replace("\x00", "\\x00")
        if any("\x00" in (getattr(value, "name", value) or "") for value in values):
            return name
    return None


class RefuseUnstorableInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            name = unstorable_parameter(request.GET)
            if name is None and request.method == "POST":
                name = unstorable_parameter(request.POST) or unstorable_parameter(request.FILES)
        except MultiPartParserError as error:
            return self.refuse(request, None, f"The form data could not be read: {error}")
        if name is not None:
            return self.refuse(request, name, NUL_MESSAGE)
        return self.get_response(request)

    def refuse(self, request, name: str | None, message: str):
        if request.path.startswith(API_PREFIX):
            body = {name: [message]} if name else {"detail": message}
            return JsonResponse(body, status=400)
        reason = f"The “{name}” parameter is not valid: {message}" if name else message
        return render(request, "errors/bad_input.html", {"reason": reason}, status=400)
