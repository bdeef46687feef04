import pytest
from django.core.cache import cache

from webforms.models import ContactForm


@pytest.fixture(autouse=True)
def fresh_rate_counts():
    # The rate limit counts in the cache, which outlives a test: each test starts from zero.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def contact_form(db):
    return ContactForm.objects.create(
        name="Contact us",
        slug="contact",
        allowed_origins="https://www.example-roastery.com\nhttp://localhost:8123",
    )
