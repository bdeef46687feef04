from .roles import Role, can_see_money, role_of


def role(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"role": None, "Role": Role}
    return {"role": role_of(user), "Role": Role, "can_see_money": can_see_money(user)}
