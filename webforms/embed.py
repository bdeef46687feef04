"""What the admin copies onto the firm's site to show a form."""

from django.utils.html import escape

IFRAME_HEIGHT = 700  # the form with an error under three fields (measured in Chromium)


def embed_snippet(*, page_url: str, title: str) -> str:
    """An <iframe> of the hosted page, as plain text (templates escape it to show it). Only an
    iframe: the page carries a fresh signed token (webforms.tokens) that a static <form>
    pasted into the firm's site could not."""
    return (
        f'<iframe src="{escape(page_url)}" title="{escape(title)}" loading="lazy" '
        f'style="border:0;width:100%;max-width:600px;height:{IFRAME_HEIGHT}px"></iframe>'
    )
