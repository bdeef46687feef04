"""Django's model backend, with a user's permissions read together with their role."""

from django.contrib.auth.backends import ModelBackend

from .roles import access_load


class RoleModelBackend(ModelBackend):
    """ModelBackend, whose three permission queries (the user's, the groups', then the role
    by group name) are one: accounts.roles.access_load fills the caches ModelBackend reads."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            if user_obj.is_superuser:
                return super().get_all_permissions(user_obj, obj)
            access_load(user_obj)
        return user_obj._perm_cache
