"""Filling in a web form as a visitor would."""

import time

from webforms.tokens import page_token_make


def aged_token(contact_form, seconds: float = 10.0) -> str:
    """A page token as if the page had been served `seconds` ago."""
    return page_token_make(form_id=contact_form.pk, now=time.time() - seconds)


def filled(contact_form, **fields) -> dict:
    return {
        "name": "Greta Lind",
        "email": "greta@example.org",
        "phone": "",
        "message": "Do you deliver to Malmö?\nWe are a café of 40 seats.",
        "token": aged_token(contact_form),
        **fields,
    }
