from django.utils.functional import SimpleLazyObject

from .selectors.triage import triage_count


def triage(request):
    """`triage_count`: new senders the signed-in user may check (the navigation's badge),
    counted only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"triage_count": SimpleLazyObject(lambda: triage_count(user=user))}
