from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect

from accounts.roles import Role, role_of


@login_required
def home(request):
    """Each role lands where its work is."""
    if role_of(request.user) == Role.MANAGER:
        return redirect("customers:portfolio")
    return redirect("customers:list")
