"""Reads of web forms."""

from .models import ContactForm


def contact_form_published(*, slug: str) -> ContactForm | None:
    """The active form at /forms/<slug>/, or None (an inactive one is as good as absent)."""
    return ContactForm.objects.filter(slug=slug, active=True).first()
