from core.money import can_see_money

from .roles import role_of


def role(request):
    """The user's role for templates: `role` (its label) and `role_key` (admin/manager/support)."""
    user = getattr(request, "user", None)
    current = role_of(user) if user is not None else None
    if current is None:
        return {"role": None, "role_key": "", "can_see_money": False}
    return {
        "role": current.value,
        "role_key": current.name.lower(),
        "can_see_money": can_see_money(user),
    }
