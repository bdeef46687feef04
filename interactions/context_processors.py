from django.utils.functional import SimpleLazyObject

from .selectors import notices_unread_count


def notices(request):
    """`notices_count`: the signed-in person's unread escalation notices (the top bar's
    badge), counted in one query, only when a page shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"notices_count": SimpleLazyObject(lambda: notices_unread_count(user=user))}
