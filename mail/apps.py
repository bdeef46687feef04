from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "mail"
    verbose_name = "Email channel"
    default_auto_field = "django.db.models.BigAutoField"
