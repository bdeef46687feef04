"""The customer's side: pages a customer reaches with a signed link, never a staff page."""

from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from core import hooks

        from .ideas import ideas_unanswered_of
        from .review_answers import reviews_unanswered_of
        from .signin import portal_session_end_on_staff_login

        user_logged_in.connect(portal_session_end_on_staff_login, dispatch_uid="portal-staff-login")
        # The workspace's to-do lists unanswered reviews of the manager's customers.
        hooks.provide("todo.reviews", reviews_unanswered_of)
        hooks.provide("todo.ideas", ideas_unanswered_of)
